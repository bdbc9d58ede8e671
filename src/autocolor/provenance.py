"""Provenance: every image autocolor writes says that a trained model coloured it.

A colourised photo passed off as an original misleads archives and readers. The industry's mark
for such media is the IPTC digital source type ``compositeWithTrainedAlgorithmicMedia`` ("the
result of a trained model combined with other content": here, the photo's own lightness and a
model's colour), carried in an XMP packet. :class:`Provenance` holds what the mark says;
:meth:`Provenance.xmp` builds the packet that :mod:`autocolor.images` writes into each format's
usual place (JPEG APP1, PNG iTXt ``XML:com.adobe.xmp``, the WebP ``XMP`` chunk, TIFF tag 700);
:meth:`Provenance.tags` gives the same facts as flat strings for containers without XMP (video
metadata), and :meth:`Provenance.c2pa_manifest` as a C2PA manifest that
:mod:`autocolor.credentials` signs when the user gives a certificate. ``--no-provenance`` leaves
the packet out.

The packet (standard namespaces only, so that exiftool, Lightroom and the IPTC's own tools read
every field):

- ``Iptc4xmpExt:DigitalSourceType``: :data:`DIGITAL_SOURCE_TYPE`;
- ``xmp:CreatorTool``: the software's name and version (``autocolor 0.1.0``);
- ``Iptc4xmpExt:AISystemUsed``: the model's name (``default``, or the weights file's name);
- ``Iptc4xmpExt:AISystemVersionUsed``: ``sha256:`` and the hex digest of the weights file that
  ran (the ``.onnx`` file on the ONNX path, the ``.safetensors`` on torch).

A photo restored before it was coloured (``--restore``, :mod:`autocolor.restore`) also says
what was done to it: an ``xmpMM:History`` sequence with one ``stEvt`` event per step that ran
(``stEvt:action`` ``filtered`` or ``edited``, ``stEvt:parameters`` naming the step,
``stEvt:softwareAgent`` the software), in the order they ran. A photo that was not restored has
no history.

The packet has no date, so the same photo coloured twice gives the same bytes.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from autocolor import __version__
from autocolor.cache_dirs import cache_dir

DIGITAL_SOURCE_TYPE = ("http://cv.iptc.org/newscodes/digitalsourcetype/"
                       "compositeWithTrainedAlgorithmicMedia")
SOFTWARE = f"autocolor {__version__}"
# Namespaces of the packet (prefix -> URI).
NAMESPACES = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    "xmpMM": "http://ns.adobe.com/xap/1.0/mm/",
    "stEvt": "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#",
}
# The stEvt:action values an edit may carry (XMP specification part 2, ResourceEvent).
EVENT_ACTIONS = ("converted", "copied", "created", "cropped", "edited", "filtered",
                 "formatted", "version_updated", "printed", "published", "managed", "produced",
                 "resized", "saved")
# The key JPEG's APP1 segment starts with, before the packet (Adobe XMP specification, part 3).
JPEG_XMP_KEY = b"http://ns.adobe.com/xap/1.0/\x00"
# The PNG iTXt keyword of an XMP packet.
PNG_XMP_KEYWORD = "XML:com.adobe.xmp"
# The TIFF tag that holds an XMP packet.
TIFF_XMP_TAG = 700


def escape(text: str) -> str:
    """``&``, ``<`` and ``>`` as XML entities (what ``xml.sax.saxutils.escape`` does; that
    module imports urllib and http.client, 35 ms of every ``autocolor colorize`` start)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quoteattr(text: str) -> str:
    """``text`` as a double-quoted XML attribute value (quotes and line breaks as entities)."""
    escaped = escape(text).replace('"', "&quot;")
    return '"' + escaped.replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;") + '"'


def hash_cache_dir() -> Path | None:
    """Where weights files' digests are kept between processes: ``$AUTOCOLOR_HASH_CACHE``, else
    ``$XDG_CACHE_HOME/autocolor/sha256`` (``~/.cache/autocolor/sha256``); None when
    ``AUTOCOLOR_HASH_CACHE=0``."""
    return cache_dir("AUTOCOLOR_HASH_CACHE", "sha256")


@lru_cache(maxsize=16)
def _sha256_cached(path: str, size: int, mtime_ns: int, inode: int) -> str:
    folder = hash_cache_dir()
    entry = None
    if folder is not None:
        key = hashlib.sha256(f"{path}|{size}|{mtime_ns}|{inode}".encode()).hexdigest()[:32]
        entry = folder / key
        try:
            known = entry.read_text().strip()
            if len(known) == 64 and all(c in "0123456789abcdef" for c in known):
                return known
        except OSError:
            pass  # not cached yet (or unreadable): hash below
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    hexdigest = digest.hexdigest()
    if entry is not None:
        try:  # atomically: a reader sees the whole digest or none
            entry.parent.mkdir(parents=True, exist_ok=True)
            temp = entry.with_name(f".{entry.name}.{os.getpid()}.part")
            temp.write_text(hexdigest + "\n")
            os.replace(temp, entry)
        except OSError:
            pass  # a cache that cannot be written is skipped
    return hexdigest


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, cached per path, size, modification time and inode: in memory (a
    server or a batch hashes its weights once) and on disk (:func:`hash_cache_dir`), so that
    every ``autocolor colorize`` process does not hash the 47 MB bundled model again (30-60 ms
    of its start). A file rewritten in place gets a new modification time and is hashed again;
    as for make and rsync's quick check, a file changed with its size and time forged is not."""
    stat = Path(path).stat()
    return _sha256_cached(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino)


@dataclass(frozen=True)
class Provenance:
    """What an output says about how it was made.

    Args:
        model_name: the model as the user named it (``default``) or its file's name.
        model_sha256: hex SHA-256 of the weights file that ran.
        software: name and version of what wrote the file.
    """

    model_name: str
    model_sha256: str
    software: str = SOFTWARE

    def __post_init__(self) -> None:
        if len(self.model_sha256) != 64 or any(c not in "0123456789abcdef"
                                               for c in self.model_sha256):
            raise ValueError(f"model_sha256 must be 64 lowercase hex digits, "
                             f"got {self.model_sha256!r}")

    @classmethod
    def for_weights(cls, path: str | os.PathLike, name: str | None = None) -> Provenance:
        """For the weights file ``path`` that runs; ``name`` defaults to the file's name."""
        return cls(name or Path(path).name, file_sha256(path))

    def fields(self) -> dict[str, str]:
        """The packet's properties, ``prefix:name -> value``."""
        return {
            "Iptc4xmpExt:DigitalSourceType": DIGITAL_SOURCE_TYPE,
            "xmp:CreatorTool": self.software,
            "Iptc4xmpExt:AISystemUsed": self.model_name,
            "Iptc4xmpExt:AISystemVersionUsed": f"sha256:{self.model_sha256}",
        }

    def xmp(self, events: Sequence[tuple[str, str]] = ()) -> bytes:
        """The XMP packet, UTF-8 (a few hundred bytes; JPEG's APP1 holds up to 65,502).

        ``events``: what was done to the photo before it was coloured, as (``stEvt:action``,
        ``stEvt:parameters``) pairs in order (:data:`autocolor.restore.config.EVENTS`), written
        as an ``xmpMM:History``; none: no history.
        """
        for action, _ in events:
            if action not in EVENT_ACTIONS:
                raise ValueError(f"unknown stEvt:action {action!r}")
        used = [prefix for prefix in NAMESPACES if prefix not in ("x", "rdf")
                and (events or prefix not in ("xmpMM", "stEvt"))]
        declarations = "".join(f"\n    xmlns:{prefix}={quoteattr(NAMESPACES[prefix])}"
                               for prefix in used)
        properties = "".join(f"\n    {name}={quoteattr(value)}"
                             for name, value in self.fields().items())
        if events:
            agent = escape(self.software)
            items = "".join(
                '\n     <rdf:li rdf:parseType="Resource">'
                f"\n      <stEvt:action>{escape(action)}</stEvt:action>"
                f"\n      <stEvt:parameters>{escape(parameters)}</stEvt:parameters>"
                f"\n      <stEvt:softwareAgent>{agent}</stEvt:softwareAgent>"
                "\n     </rdf:li>" for action, parameters in events)
            body = (">\n   <xmpMM:History>\n    <rdf:Seq>"
                    f"{items}\n    </rdf:Seq>\n   </xmpMM:History>\n  </rdf:Description>")
        else:
            body = "/>"
        packet = (
            '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
            f'<x:xmpmeta xmlns:x="{NAMESPACES["x"]}" x:xmptk={quoteattr(self.software)}>\n'
            f' <rdf:RDF xmlns:rdf="{NAMESPACES["rdf"]}">\n'
            f'  <rdf:Description rdf:about=""{declarations}{properties}{body}\n'
            ' </rdf:RDF>\n'
            '</x:xmpmeta>\n'
            '<?xpacket end="w"?>'
        )
        return packet.encode("utf-8")

    def statement(self) -> str:
        """One line for people: what made this, with which model."""
        return (f"Colourised by a trained model: {self.software}, model {self.model_name} "
                f"(sha256 {self.model_sha256}); IPTC digital source type "
                "compositeWithTrainedAlgorithmicMedia")

    def c2pa_manifest(self, steps: Sequence[tuple[str, str]] = (),
                      ingredient: str | None = None) -> dict:
        """The same statement as a C2PA manifest definition (c2pa-python's ``Builder`` JSON).

        A coloured scan is an edit of an existing photo (C2PA 2.x actions): ``c2pa.opened``
        naming the input as the ingredient whose ``instance_id`` is ``ingredient`` (the
        signer adds it as the ``parentOf`` ingredient), then one action per restoration step
        in ``steps`` (``(c2pa action, description)`` pairs in the order they ran:
        :data:`autocolor.restore.config.C2PA_ACTIONS`), then the colouring, ``c2pa.edited``
        with the IPTC digital source type, the software as its agent and the model as its
        parameters. Without an ingredient (the input's bytes are not at hand) the colouring
        is ``c2pa.created`` instead, as a manifest cannot open what it does not hold.
        :mod:`autocolor.credentials` signs it."""
        name, _, version = self.software.partition(" ")
        agent = {"name": name, "version": version}
        actions: list[dict] = []
        if ingredient is not None:
            actions.append({"action": "c2pa.opened",
                            "parameters": {"ingredientIds": [ingredient]}})
        for action, description in steps:
            if not action.startswith("c2pa."):
                raise ValueError(f"not a C2PA action: {action!r}")
            actions.append({"action": action, "softwareAgent": agent,
                            "parameters": {"description": description}})
        actions.append({
            "action": "c2pa.edited" if ingredient is not None else "c2pa.created",
            "digitalSourceType": DIGITAL_SOURCE_TYPE,
            "softwareAgent": agent,
            "parameters": {"description": "colours predicted by a trained model, joined "
                                          "with the photo's own lightness",
                           "model": self.model_name,
                           "model_sha256": self.model_sha256},
        })
        return {"claim_generator_info": [agent],
                "assertions": [{"label": "c2pa.actions.v2", "data": {"actions": actions}}]}

    def tags(self) -> dict[str, str]:
        """The same facts as flat string tags, for containers that hold key-value metadata and
        no XMP (video: Matroska tags, MP4 ``comment``/``encoder`` atoms)."""
        return {
            "comment": self.statement(),
            "encoder": self.software,
            "digital_source_type": DIGITAL_SOURCE_TYPE,
            "ai_system_used": self.model_name,
            "ai_system_version_used": f"sha256:{self.model_sha256}",
        }
