"""Photos on file systems that pyarrow understands: ``file://``, ``s3://``, ``gs://`` (and hdfs).

``autocolor colorize --engine ray`` takes such URIs as inputs and as the output folder, besides
plain paths. A URI is held as a :class:`Uri`: the pieces of :class:`pathlib.Path` that
``infer.jobs.plan_jobs`` uses (``/``, ``name``, ``stem``, ``suffix``, ``parent``, ``with_name``,
``relative_to``), so outputs are named by the same code for both. pyarrow opens the file system
(``pyarrow.fs.FileSystem.from_uri``; credentials and region as pyarrow takes them: the usual
``AWS_*`` variables, a ``?region=`` in the URI, Google's application default credentials).

Writes are never seen half done: a local file (a plain path or ``file://``) through
:func:`autocolor.image_output.save_image`'s temporary name and rename; an object store object in one
upload, which the store makes visible only once complete.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from autocolor.image_output import Rendered, save_image
from autocolor.images import INPUT_SUFFIXES, ImageError, LoadedImage

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_FILESYSTEMS: dict[tuple[str, str, str], Any] = {}
_FILESYSTEMS_LOCK = threading.Lock()


def is_uri(text: str | os.PathLike) -> bool:
    """``scheme://...`` (``file:///photos``, ``s3://bucket/key``), not a plain path."""
    return isinstance(text, str) and bool(_SCHEME.match(text))


@dataclass(frozen=True)
class Uri:
    """A file or folder on a pyarrow file system.

    ``path`` is the file system's own path: ``/abs/path`` for ``file://``, ``bucket/key`` for
    ``s3://`` and ``gs://``; ``query`` keeps options such as ``?region=eu-west-1``.
    """

    scheme: str
    path: PurePosixPath
    query: str = ""

    @classmethod
    def parse(cls, text: str) -> Uri:
        parts = urlsplit(text)
        if not parts.scheme:
            raise ValueError(f"not a URI: {text!r}")
        netloc = "" if parts.scheme == "file" and parts.netloc == "localhost" else parts.netloc
        path = (netloc + unquote(parts.path)).rstrip("/") or "/"
        return cls(parts.scheme.lower(), PurePosixPath(path), f"?{parts.query}" if parts.query else "")

    def __str__(self) -> str:
        return f"{self.scheme}://{quote(str(self.path))}{self.query}"

    # -- the pathlib subset that naming outputs needs -------------------------------------------

    def __truediv__(self, other: str | os.PathLike) -> Uri:
        return Uri(self.scheme, self.path / other, self.query)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def stem(self) -> str:
        return self.path.stem

    @property
    def suffix(self) -> str:
        return self.path.suffix

    @property
    def parent(self) -> Uri:
        return Uri(self.scheme, self.path.parent, self.query)

    def with_name(self, name: str) -> Uri:
        return Uri(self.scheme, self.path.with_name(name), self.query)

    def with_path(self, path: str | os.PathLike) -> Uri:
        return Uri(self.scheme, PurePosixPath(path), self.query)

    def relative_to(self, other: Uri) -> PurePosixPath:
        return self.path.relative_to(other.path)

    def resolve(self) -> Path | Uri:
        """What this names, comparable with ``Path.resolve()``: a ``file://`` URI is that path."""
        if self.is_local:
            return Path(self.path).resolve()
        return self

    # -- the file system ------------------------------------------------------------------------

    @property
    def is_local(self) -> bool:
        return self.scheme == "file"

    def filesystem(self):
        """The ``pyarrow.fs.FileSystem`` holding this path (one per scheme, bucket and options
        in each process)."""
        from pyarrow import fs

        bucket = "" if self.is_local else self.path.parts[0]
        key = (self.scheme, bucket, self.query)
        with _FILESYSTEMS_LOCK:
            if key not in _FILESYSTEMS:
                _FILESYSTEMS[key] = fs.FileSystem.from_uri(str(self))[0]
            return _FILESYSTEMS[key]

    def exists(self) -> bool:
        from pyarrow import fs

        return self.filesystem().get_file_info(str(self.path)).type != fs.FileType.NotFound


Location = Path | Uri


def location(text: str | os.PathLike) -> Location:
    """A command-line argument as a :class:`Uri` or a :class:`Path`."""
    return Uri.parse(os.fspath(text)) if is_uri(text) else Path(text)


def is_photo_name(name: str) -> bool:
    """What a folder contributes as input: a known image suffix, not a hidden file."""
    return Path(name).suffix.lower() in INPUT_SUFFIXES and not name.startswith(".")


def list_photos(uri: Uri) -> list[Uri] | None:
    """A file -> ``[uri]``; a folder (an object store prefix) -> its photos, recursively and
    sorted (as :func:`autocolor.infer.jobs.plan_jobs` takes local folders); nothing -> None."""
    from pyarrow import fs

    filesystem = uri.filesystem()
    info = filesystem.get_file_info(str(uri.path))
    if info.type == fs.FileType.File:
        return [uri]
    if info.type != fs.FileType.Directory:
        return None
    found = filesystem.get_file_info(fs.FileSelector(str(uri.path), recursive=True))
    return sorted((uri.with_path(entry.path) for entry in found
                   if entry.type == fs.FileType.File and is_photo_name(entry.base_name)),
                  key=lambda item: str(item.path))


def existing(targets: list[Location], output: Location) -> set[Location]:
    """Which ``targets`` exist already. Under a URI, one listing of ``output`` answers for all
    (100,000 targets on S3 would otherwise be 100,000 requests)."""
    if not isinstance(output, Uri):
        return {target for target in targets if target.exists()}
    from pyarrow import fs

    selector = fs.FileSelector(str(output.path), recursive=True, allow_not_found=True)
    present = {PurePosixPath(entry.path) for entry in output.filesystem().get_file_info(selector)
               if entry.type == fs.FileType.File}
    return {target for target in targets
            if (target.path in present if isinstance(target, Uri) else target.exists())}


def read_bytes(source: Location, name: str | None = None) -> bytes:
    """A file's bytes. Raises :class:`ImageError` naming it (as ``name``, default the
    location), with the reason in one line."""
    try:
        if isinstance(source, Uri):
            with source.filesystem().open_input_stream(str(source.path)) as stream:
                return stream.read()
        return Path(source).read_bytes()
    except OSError as error:  # pyarrow's errors are OSErrors too
        reason = getattr(error, "strerror", None) or str(error).splitlines()[0] or type(error).__name__
        raise ImageError(name or str(source), f"cannot read: {reason}") from error


def write_result(rgb: Rendered, target: Location, loaded: LoadedImage,
                 xmp: bytes | None = None, sign: Callable[[bytes, str], bytes] | None = None
                 ) -> Location:
    """:func:`autocolor.image_output.save_image` to ``target`` (``xmp`` and ``sign`` as there) ->
    what was written.

    On an object store the file is encoded into a temporary folder first, then uploaded in one
    piece.
    """
    if isinstance(target, Path):
        return save_image(rgb, target, loaded, xmp, sign)
    if target.is_local:
        return target.with_path(save_image(rgb, Path(target.path), loaded, xmp, sign))
    with tempfile.TemporaryDirectory(prefix="autocolor-") as folder:
        encoded = save_image(rgb, Path(folder) / target.name, loaded, xmp, sign).read_bytes()
    upload(encoded, target)
    return target


def upload(data: bytes, target: Uri, filesystem=None) -> None:
    """Write ``data`` as the object ``target`` in one stream (``filesystem``: default the
    target's own; tests pass another)."""
    filesystem = filesystem or target.filesystem()
    filesystem.create_dir(str(target.path.parent), recursive=True)  # a no-op on object stores
    with filesystem.open_output_stream(str(target.path)) as stream:
        stream.write(data)
