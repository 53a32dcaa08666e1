"""The secrets `serve` makes and keeps in its sessions folder (instructor password, class code).

A kept file is read as the server wrote it or not at all: never through a link, never a folder, a
FIFO or a huge file, never text the server would not have written. Such a file stops `serve` with
what is wrong and what to do, because the secret in it may be in people's hands already: the class
code is on the board, the password may be with a co-teacher. A new one made in silence would lock
them out, and only the instructor knows which is right. The one exception is a file with nothing in
it (what an interrupted first start of an older tutor left): no one can hold a secret from it, so it
is kept aside, named, and a new one made.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tutor.errors import UsageError
from tutor.state_files import keep_aside

_LIMIT = 4096  # far above any secret the server writes


@dataclass(frozen=True, slots=True)
class KeptSecret:
    """What a kept file may hold and how to choose one instead: its own words in the messages."""

    what: str  # "the instructor password"
    shape: re.Pattern[str]  # what the server writes there (surrounding whitespace aside)
    written: str  # that shape in words: "a code like ABCD-EFGH"
    choose: str  # how to give one instead of the kept one


def kept_or_made(kept: Path, make: Callable[[], str], secret: KeptSecret) -> tuple[str, str]:
    """The secret the server made at an earlier start and kept in `kept`, or one made now and kept
    there, readable by its owner only; and where it came from, in the instructor's words.
    UsageError (naming the file and what to do) when the kept file cannot be the server's."""
    value = _read(kept, secret)
    if value:
        return value, f"made at an earlier start, kept in {kept}"
    if value is not None:  # empty: nothing anyone could have been given
        aside = keep_aside(kept)
        if aside is None:
            raise UsageError(f"{kept} is empty and cannot be moved aside", hint="Remove it and serve makes a new one.")
        print(f"docker-tutor: {kept} was empty; it was kept as {aside} and {secret.what} made anew", file=sys.stderr)
    return _keep(kept, make(), secret)


def _read(kept: Path, secret: KeptSecret) -> str | None:
    """The kept value; '' for an empty file; None when there is none."""
    remove = f"Remove {kept} and serve makes a new one, or {secret.choose}."
    move = f"Move {kept} away and serve makes a new one, or {secret.choose}."
    try:
        # O_NOFOLLOW: a link could show another file as the secret, or have a new one written through it.
        fd = os.open(kept, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UsageError(
                f"{kept} is a symbolic link; serve keeps {secret.what} only in a file of its own there", hint=remove
            ) from exc
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise UsageError(
                f"{kept} cannot be read (permission denied), so {secret.what} in it cannot be used",
                hint=f"Give it back to the user who runs serve (chmod 600 {kept}), or: {remove}",
            ) from exc
        raise UsageError(f"{kept} cannot be read ({exc.strerror})", hint=remove) from exc
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):  # before fdopen, which refuses a folder
        os.close(fd)
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise UsageError(f"{kept} is {kind}; serve keeps {secret.what} in a file there", hint=move)
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(_LIMIT + 1)
        if info.st_mode & 0o077:  # the server writes it for its owner alone; a copy may be readable by others
            with contextlib.suppress(OSError):
                os.fchmod(fd, 0o600)
    if len(data) > _LIMIT:
        raise UsageError(f"{kept} is larger than any secret serve writes, so it is not {secret.what} serve wrote", hint=remove)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{kept} is not text (not UTF-8), so it is not {secret.what} serve wrote", hint=remove) from exc
    value = text.strip()
    if value and not secret.shape.fullmatch(value):
        raise UsageError(f"{kept} does not hold {secret.written}, what serve writes there", hint=remove)
    return value


def _keep(kept: Path, value: str, secret: KeptSecret) -> tuple[str, str]:
    """Write `value` to a new file and link it in: the first of two servers starting at once wins, and
    the other reads the winner's."""
    temp = kept.with_name(f".{kept.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(value + "\n")
        try:
            os.link(temp, kept)
        except FileExistsError:
            winner = _read(kept, secret)
            if winner:
                return winner, f"made at this start by another serve, kept in {kept}"
            raise UsageError(f"{kept} appeared while serve was making {secret.what}", hint="Start serve again.") from None
    except OSError as exc:
        raise UsageError(
            f"cannot keep {secret.what} in {kept}: {exc.strerror or exc}",
            hint=f"Give the user who runs serve write access to {kept.parent}, choose another --sessions folder, or {secret.choose}.",
        ) from exc
    finally:
        temp.unlink(missing_ok=True)
    return value, f"made for this class, kept in {kept}"


def given_secret(path: Path, what: str) -> str:
    """A secret from a file the instructor named (a link to it is theirs to make): a regular file of
    text, read within a limit, so a FIFO, a device or a folder is said, never waited on or read whole."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise UsageError(f"cannot read {what} from {path}: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # before fdopen, which refuses a folder
        os.close(fd)
        raise UsageError(f"cannot read {what} from {path}: it is not a regular file")
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(_LIMIT + 1)
    if len(data) > _LIMIT:
        raise UsageError(f"cannot read {what} from {path}: it is larger than any password ({_LIMIT} bytes)")
    try:
        return data.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise UsageError(f"cannot read {what} from {path}: it is not text (not UTF-8)") from exc

