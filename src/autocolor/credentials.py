"""Signed C2PA Content Credentials on outputs, when the user gives a certificate and a key.

The XMP packet (:mod:`autocolor.provenance`) is a label anyone can strip or forge; a C2PA manifest
is signed: it binds the statement "this photo was opened, restored (when asked) and coloured by a
trained model" (the input as the ``c2pa.opened`` ingredient, one action per restoration step, and
``c2pa.edited`` with the IPTC digital source type ``compositeWithTrainedAlgorithmicMedia``, the
software, the model's name and SHA-256) to the image's bytes with the user's certificate, and
Content Credentials readers (``c2patool``, the CAI's verify site) show who signed it.

The signing is the ``c2pa-python`` package's (the ``c2pa`` extra): ``Builder`` and ``Signer``
around the C2PA reference library. The manifest JSON is :meth:`Provenance.c2pa_manifest
<autocolor.provenance.Provenance.c2pa_manifest>`; this module only loads the credentials and
signs bytes, for :func:`autocolor.image_output.save_image` and the server.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from autocolor.errors import first_line
from autocolor.image_output import OUTPUT_FORMATS
from autocolor.provenance import Provenance

ALGORITHMS = ("es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519")
# Media types c2pa-python embeds into, per output format: every format autocolor writes.
MEDIA_TYPES = OUTPUT_FORMATS
# The input's instance id in the manifest: c2pa.opened names it.
INGREDIENT_ID = "autocolor:input"


@dataclass(frozen=True)
class ContentCredentials:
    """A signing certificate chain and its private key (PEM), and the model they vouch for.

    Args:
        certificates: the signing certificate first, then any intermediates (PEM). C2PA asks for
            a v3 certificate with digitalSignature key usage, an extended key usage such as
            emailProtection or documentSigning, and subject and authority key identifiers.
        private_key: the signing certificate's key (PEM, PKCS#8).
        provenance: what the manifest states.
        algorithm: the key's signature algorithm (ES256 for a P-256 EC key, PS256 for RSA...).
        timestamp_url: an RFC 3161 time-stamp authority, or None.
    """

    certificates: bytes
    private_key: bytes
    provenance: Provenance
    algorithm: str = "es256"
    timestamp_url: str | None = None

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"C2PA algorithm must be one of {', '.join(ALGORITHMS)}, "
                             f"got {self.algorithm!r}")
        if b"-----BEGIN CERTIFICATE-----" not in self.certificates:
            raise ValueError("the C2PA certificate file holds no PEM certificate")
        if b"PRIVATE KEY-----" not in self.private_key:
            raise ValueError("the C2PA key file holds no PEM private key")

    @classmethod
    def from_files(cls, certificates: str | os.PathLike, private_key: str | os.PathLike,
                   provenance: Provenance, algorithm: str = "es256") -> ContentCredentials:
        """Read the PEM files (raises OSError naming a missing one, ValueError for bad ones)."""
        return cls(Path(certificates).read_bytes(), Path(private_key).read_bytes(), provenance,
                   algorithm)

    def sign(self, data: bytes, fmt: str, source: bytes | None = None,
             source_name: str = "input", restored: Sequence[str] = ()) -> bytes:
        """An encoded image (``fmt``: a key of :data:`MEDIA_TYPES`) -> the same image with a
        signed C2PA manifest embedded (pixels, EXIF, ICC and XMP untouched).

        ``source``: the input file's bytes, embedded as the ``parentOf`` ingredient that the
        manifest's ``c2pa.opened`` action names (its hash and a thumbnail; ``source_name`` is its
        title); ``restored``: the restoration steps that ran on it, in order, each an action
        (:data:`autocolor.restore.config.C2PA_ACTIONS`).

        Raises:
            ValueError: the signature could not be made (a certificate C2PA refuses, a key
                that does not match it), in one line.
        """
        import c2pa  # the c2pa extra

        steps = []
        if restored:
            from autocolor.restore.config import C2PA_ACTIONS

            steps = [C2PA_ACTIONS[step] for step in restored]
        info = c2pa.C2paSignerInfo(self.algorithm.encode("ascii"), self.certificates,
                                   self.private_key,
                                   self.timestamp_url.encode() if self.timestamp_url else None)
        manifest = json.dumps(self.provenance.c2pa_manifest(
            steps, INGREDIENT_ID if source is not None else None))
        signed = io.BytesIO()
        try:
            with c2pa.Signer.from_info(info) as signer, c2pa.Builder(manifest) as builder:
                if source is not None:
                    builder.add_ingredient(
                        {"title": source_name, "relationship": "parentOf",
                         "instance_id": INGREDIENT_ID}, media_type(source), io.BytesIO(source))
                builder.sign(signer, MEDIA_TYPES[fmt], io.BytesIO(data), signed)
        except c2pa.C2paError as error:
            raise ValueError(f"C2PA signing failed: {first_line(error)}") from None
        return signed.getvalue()

    def for_photo(self, source: bytes | None, source_name: str = "input",
                  restored: Sequence[str] = ()) -> Callable[[bytes, str], bytes]:
        """:meth:`sign` with one photo's input and steps bound: the ``sign(data, format)`` that
        :func:`autocolor.image_output.save_image` takes."""
        return functools.partial(self.sign, source=source, source_name=source_name,
                                 restored=tuple(restored))


def media_type(data: bytes) -> str:
    """An encoded image's MIME type, from its header (``application/octet-stream`` when Pillow
    does not know it)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            return Image.MIME.get(image.format or "", "application/octet-stream")
    except (OSError, ValueError):
        return "application/octet-stream"


def add_c2pa_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of signed C2PA Content Credentials (``autocolor colorize`` and ``serve``)."""
    parser.add_argument("--c2pa-cert", type=Path, default=None,
                        help="sign every output with C2PA Content Credentials: the signing "
                             "certificate chain, PEM (needs --c2pa-key and the c2pa extra)")
    parser.add_argument("--c2pa-key", type=Path, default=None,
                        help="the private key of --c2pa-cert, PEM")
    parser.add_argument("--c2pa-alg", default="es256",
                        help="the key's signature algorithm: es256 (P-256, default), es384, "
                             "es512, ps256, ps384, ps512, ed25519")


def content_credentials(args: argparse.Namespace,
                        provenance: Provenance | None) -> ContentCredentials | None:
    """The :class:`ContentCredentials` the options ask for, or None.

    Raises:
        ValueError: one of the two files without the other, with --no-provenance, or bad files
            (one line).
    """
    if args.c2pa_cert is None and args.c2pa_key is None:
        return None
    if args.c2pa_cert is None or args.c2pa_key is None:
        raise ValueError("--c2pa-cert and --c2pa-key go together")
    if args.no_provenance or provenance is None:
        raise ValueError("--no-provenance and C2PA signing contradict each other")
    import c2pa  # noqa: F401 - the c2pa extra; autocolor.cli names it when missing

    try:
        return ContentCredentials.from_files(args.c2pa_cert, args.c2pa_key, provenance,
                                             args.c2pa_alg)
    except OSError as error:
        raise ValueError(f"{error.filename}: {error.strerror}") from None
