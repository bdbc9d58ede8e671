"""Writing a file so that nobody ever sees half of it: a hidden temporary file, then a rename.

Every writer of a result, a table, weights, an export or a checkpoint goes through
:func:`atomic_path` (for libraries that want a file name) or :func:`atomic_write` (an open
handle). The temporary file sits beside the target (same file system, so the rename is atomic),
is named ``.NAME.XXXX.part`` (hidden, unique per writer, so two processes never share one), and
is removed whatever goes wrong; the target is either the old file or the complete new one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

PART_SUFFIX = ".part"


def _umask() -> int:
    try:  # Linux: read it without changing it (os.umask would, for a moment, for every thread)
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(target: str | os.PathLike, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; when the block ends without an exception,
    the file written there replaces ``target`` (folders are created). It always disappears.

    ``mode``: permission bits of the result (default: an ordinary file, ``0o666`` less the
    umask, rather than ``mkstemp``'s ``0o600``).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                    suffix=PART_SUFFIX)
    os.close(handle)
    temp = Path(name)
    try:
        yield temp
        os.chmod(temp, 0o666 & ~_umask() if mode is None else mode)
        os.replace(temp, target)
    finally:
        if os.path.lexists(temp):
            os.unlink(temp)


@contextmanager
def atomic_write(target: str | os.PathLike, mode: str = "wb", **open_kwargs: Any) -> Iterator[IO]:
    """``open(target, mode)`` through :func:`atomic_path`: the handle is closed, then renamed.

    Example::

        with atomic_write(folder / "manifest.tsv", "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle, delimiter="\\t").writerows(rows)
    """
    if "w" not in mode:
        raise ValueError(f"atomic_write writes a new file; mode must contain 'w', got {mode!r}")
    with atomic_path(target) as temp, open(temp, mode, **open_kwargs) as handle:
        yield handle
