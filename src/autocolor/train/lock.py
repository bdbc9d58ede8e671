"""One training run per run folder: ``OUT/run.lock``.

Two ``autocolor train --out X`` started on the same folder would write the same checkpoint and
log every epoch twice. The run that comes second stops at once, with a message naming the
process that holds the folder.

The lock is the kernel's (``fcntl.flock`` on the open lock file), not the file's existence: it
ends with the process that holds it, however that process ends (SIGKILL, a power cut of a
node), so a stale lock never blocks the next run. The file only tells who holds it (process id,
host, start time, command), for the message. It stays in the folder after the run.
"""

from __future__ import annotations

import fcntl
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = "run.lock"
# Folders this process holds (resolved): train/cli.py takes the lock before preparing data or
# --restart, then the loop takes it again, which must not block on itself.
_HELD: dict[Path, int] = {}


class RunFolderInUse(RuntimeError):
    """Another process holds the run folder."""


def _holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        text = ""
    return text or "another process (it wrote no details)"


@contextmanager
def hold_run_folder(folder: str | os.PathLike) -> Iterator[Path]:
    """Hold ``folder`` (created if needed) for the ``with`` block; -> the lock file.

    Raises:
        RunFolderInUse: another process holds it; the message names that process.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = (folder / LOCK_NAME).resolve()
    if path in _HELD:  # re-entered by this process
        _HELD[path] += 1
        try:
            yield path
        finally:
            _HELD[path] -= 1
        return
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunFolderInUse(
                f"{folder} is in use by another training run: {_holder(path)}; wait for it to "
                "end, stop it, or choose another --out") from None
        details = (f"pid {os.getpid()} on {socket.gethostname()}, since "
                   f"{time.strftime('%Y-%m-%d %H:%M:%S')}: {' '.join(sys.argv)}")
        os.ftruncate(handle, 0)
        os.pwrite(handle, (details + "\n").encode("utf-8"), 0)
        _HELD[path] = 1
        try:
            yield path
        finally:
            del _HELD[path]
    finally:
        os.close(handle)  # releases the flock
