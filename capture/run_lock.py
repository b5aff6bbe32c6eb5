"""One writer per output folder: `FOLDER/run.lock` holds the writer's pid, host, command and start time.

    with run_lock(run_dir, "capture reconstruct"):
        ...   # a second process asking for the same folder gets RunLockedError naming the holder

Exclusion is an exclusive `flock` on the lock file, which the kernel drops when the holding process ends in any way
(SIGKILL included): a lock file whose lock nobody holds is stale, and is taken over with a warning naming the run
that left it. The file is removed on release.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

logger = logging.getLogger(__name__)

LOCK_NAME = "run.lock"


class RunLockedError(ValueError):
    """Another process is writing into the folder; the message names it and what to do."""


def _describe(holder: dict) -> str:
    """'capture reconstruct (pid 12, host h, started 2026-...)' from a lock file's contents."""
    if not holder:
        return "another process (it has not written its details yet)"
    return (f"{holder.get('command', 'another process')} (pid {holder.get('pid')}, host {holder.get('host')}, "
            f"started {holder.get('started')})")  # fmt: skip


def _read_holder(fd: int) -> dict:
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 4096).decode("utf-8", errors="replace")
    try:
        holder = json.loads(text) if text.strip() else {}
    except ValueError:
        holder = {"command": f"an unknown writer ({text.strip()[:60]!r})"}
    return holder if isinstance(holder, dict) else {}


@contextmanager
def run_lock(folder: str | Path, command: str) -> Iterator[Path]:
    """Hold `folder/run.lock` (the folder must exist) while the block runs; yields the lock file's path.

    Raises RunLockedError naming the holder (command, pid, host, start time) when another process holds it.
    """
    path = Path(folder) / LOCK_NAME
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise RunLockedError(
                f"{folder}: {_describe(holder)} is writing into this folder ({path}); wait for it to finish or stop "
                "it, or choose another --out"
            ) from None
        try:
            same_file = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:  # the holder released (and removed) it between our open and flock
            same_file = False
        if same_file:
            break
        os.close(fd)
    try:
        stale = _read_holder(fd)
        if stale:
            logger.warning("%s: taking over the lock left by %s, which is no longer running", folder, _describe(stale))
        record = {"command": command, "pid": os.getpid(), "host": socket.gethostname(),
                  "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}  # fmt: skip
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps(record).encode("utf-8"))
        os.fsync(fd)
        yield path
    finally:
        path.unlink(missing_ok=True)  # while still locked, so nobody locks a file about to vanish
        os.close(fd)
