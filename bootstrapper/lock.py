"""One process per run directory: an exclusive flock on DIR/.lock, taken without waiting.

The kernel drops the lock when its process ends, however it ends (kill -9 included), so a lock is
never stale; a second `plan execute` or `plan tune` on the same folder is refused in one sentence
instead of appending the same rounds to the same log. Under `accelerate launch` only the main
process, the one that writes the run directory, holds it.
"""
from __future__ import annotations

import errno
import fcntl
import os
import weakref
from pathlib import Path

from planner.validate import InputError

LOCK_FILE = ".lock"


class RunLock:
    """A held lock on a folder; released by release(), by garbage collection, or by the process ending."""

    def __init__(self, folder: str | os.PathLike):
        """Lock folder/.lock (created if missing); InputError naming the folder if another process
        holds it, or if the folder cannot be written."""
        self.folder = Path(folder)
        try:
            fd = os.open(self.folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise not_writable(self.folder, e) from None
            raise
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise InputError(f"the run directory {self.folder} is in use by another process (plan execute or "
                             "plan tune); wait for it to finish, or use another --run-dir") from None
        self._close = weakref.finalize(self, os.close, fd)

    def release(self) -> None:
        """Drop the lock (closing the file is what releases a flock); a second call does nothing."""
        self._close()


def not_writable(folder: Path, error: OSError) -> InputError:
    """The sentence for a run directory this process cannot write."""
    return InputError(f"the run directory {folder} is not writable ({error.strerror}); a run writes its log "
                      "and checkpoints there")
