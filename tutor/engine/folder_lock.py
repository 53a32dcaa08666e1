"""One grading of a folder at a time, across every tutor process that shares a data folder.

A folder's image tag is derived from the data folder's secret and the folder's path, so a terminal's
`check`, a TUI, two tabs of one served learner or two `grade` runs that check one folder at once
would build to one tag, and the first to finish would remove or retag the image the other is still
checking. The lock is a file per tag in the data folder, taken with flock: the system lets it go
when its process ends, however it ends, so a killed tutor never leaves a folder locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from tutor import locations
from tutor.state_files import keep_aside

POLL = 0.2  # seconds between tries while another process grades the folder


def _path(tag: str) -> Path:
    return locations.data_dir() / "locks" / f"{hashlib.sha256(tag.encode()).hexdigest()[:24]}.lock"


def being_graded(tag: str) -> bool:
    """Whether a grading of the folder whose image is `tag` holds its lock now (in any process)."""
    return _held(_path(tag))


def any_being_graded() -> bool:
    """Whether any grading of this data folder holds its folder's lock now (in any process)."""
    folder = locations.data_dir() / "locks"
    return folder.is_dir() and any(_held(path) for path in folder.glob("*.lock"))


def _held(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)  # and with it the shared lock, if taken


@contextlib.contextmanager
def folder_lock(tag: str, folder: Path, say: Callable[[str], None], cancel: threading.Event) -> Iterator[bool]:
    """Hold the lock of the folder whose image is `tag`; while another process holds it, `say` so
    once and wait. Yields False when `cancel` was set while waiting (nothing may be done then)."""
    handle = _open(_path(tag), say)
    if handle is None:
        yield True
        return
    with handle:
        said = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not said:
                    say(f"another docker-tutor{_holder(handle)} is checking {folder}; this check waits until it is done")
                    said = True
                if cancel.wait(POLL):
                    yield False
                    return
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
            yield True
        finally:
            with contextlib.suppress(OSError):
                handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)


def _open(path: Path, say: Callable[[str], None]) -> IO[str] | None:
    """The lock file, open for reading and writing; a broken one (a link, a folder) is kept aside
    and a new one made; None (said) when the data folder cannot hold one."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    problem = ""
    for _attempt in range(2):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return os.fdopen(os.open(path, flags, 0o600), "r+", encoding="utf-8", errors="replace")
        except OSError as exc:
            problem = exc.strerror or str(exc)
            # The lock file, or the folder of locks, is something the tutor never made there.
            broken = path.parent if path.parent.is_symlink() or not path.parent.is_dir() else path
            if not (broken.is_symlink() or broken.exists()):
                break
            aside = keep_aside(broken)
            if aside is None:
                break
            what = "the lock file" if broken == path else "the folder of locks"
            problem = problem if broken == path else "it is not a folder"
            say(f"{what} {broken} was not one the tutor makes ({problem}); it was kept as {aside}")
    say(f"cannot lock {path} ({problem}): another tutor checking this folder at the same moment may disturb this check")
    return None


def _holder(handle: IO[str]) -> str:
    """' (process N)' as the holder wrote it, or '' when it has not yet."""
    with contextlib.suppress(OSError, ValueError):
        handle.seek(0)
        pid = handle.read(16).strip()
        if pid.isdigit():
            return f" (process {pid})"
    return ""
