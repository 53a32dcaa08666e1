"""The learners of a served class, kept in one JSON file beside their session folders.

A learner is a name, a secret token (the cookie, or the personal link an instructor hands out)
and a session folder (workspace/ and data/). The file outlives the server, so a restart or a
reload brings every learner back to the folder they had. Names are unique: a second "Ada" is
refused, never merged into the first one's work.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import tempfile
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from tutor.errors import UsageError
from tutor.state_files import BrokenState, read_json
from tutor.words import plural

FILE = "learners.json"
VERSION = 1
MAX_NAME = 40


class JoinRefused(UsageError):
    """A name that cannot join: empty, too long, already taken, or the class is full."""


@dataclass(frozen=True, slots=True)
class Learner:
    name: str
    token: str
    folder: str  # relative to the sessions root
    joined: float

    def session(self, root: Path) -> Path:
        return root / self.folder


def clean_name(raw: str) -> str:
    """The name as shown: printable characters, single spaces, at most MAX_NAME characters."""
    name = " ".join(raw.split())
    if not name:
        raise JoinRefused("give a name to join the class")
    if len(name) > MAX_NAME:
        raise JoinRefused(f"a name has at most {MAX_NAME} characters")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise JoinRefused("a name may not hold control characters")
    return name


def _key(name: str) -> str:
    """Names that differ only by case or accents are the same learner to a person reading a list."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode() or name
    return folded.casefold()


def _well_formed(row: object) -> bool:
    """A row as _write writes it; the folder a plain name under the sessions root."""
    return (
        isinstance(row, dict)
        and set(row) == {"name", "token", "folder", "joined"}
        and all(isinstance(row[key], str) and row[key] for key in ("name", "token", "folder"))
        and isinstance(row["joined"], (int, float))
        and re.fullmatch(r"session-[a-z0-9-]+", row["folder"]) is not None
    )


class Roster:
    """Every learner of the class; each change is a locked read-modify-write of the file."""

    def __init__(self, root: Path, max_learners: int) -> None:
        self.root = root
        self.max_learners = max_learners
        self.path = root / FILE

    def learners(self) -> list[Learner]:
        try:
            # Within limits and never through a link: a class list of thousands of nested brackets,
            # or a link to another class's list, is refused like any broken one.
            data = read_json(self.path)
        except BrokenState as exc:
            raise UsageError(f"{self.path} is unreadable: {exc}", hint="Restore it from a backup or move it aside.") from exc
        if data is None:
            return []
        rows = data.get("learners") if isinstance(data, dict) else None
        if not isinstance(rows, list):
            raise UsageError(f"{self.path} is not a learner list", hint="Move it aside to start a new class.")
        learners = []
        for index, row in enumerate(rows):
            if not _well_formed(row):
                raise UsageError(
                    f"{self.path}: learner entry {index + 1} is not a name, token, session folder and join time",
                    hint="Restore the file from a backup, or move it aside to start a new class (the session folders stay).",
                )
            learners.append(Learner(**row))
        return learners

    def by_token(self, token: str | None) -> Learner | None:
        if not token:
            return None
        for learner in self.learners():
            if secrets.compare_digest(learner.token, token):
                return learner
        return None

    def join(self, raw_name: str) -> Learner:
        name = clean_name(raw_name)
        with self._locked():
            learners = self.learners()
            if any(_key(other.name) == _key(name) for other in learners):
                raise JoinRefused(
                    f"the name {name!r} is taken in this class",
                    hint="If it is you, open your personal link (the instructor has it); otherwise add a surname or initial.",
                )
            if len(learners) >= self.max_learners:
                raise JoinRefused(
                    f"the class is full: it has {plural(self.max_learners, 'learner')}, its limit",
                    hint="The instructor can raise the limit with: docker-tutor serve --max-learners N",
                )
            slug = re.sub(r"[^a-z0-9]+", "-", _key(name)).strip("-")[:20] or "learner"
            folder = f"session-{slug}-{secrets.token_hex(4)}"
            (self.root / folder / "workspace").mkdir(parents=True)
            (self.root / folder / "data").mkdir()
            learner = Learner(name=name, token=secrets.token_urlsafe(24), folder=folder, joined=time.time())
            self._write([*learners, learner])
            return learner

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / f"{FILE}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _write(self, learners: list[Learner]) -> None:
        # The tokens are the learners' keys: the file is readable by the serving user alone.
        fd, temp = tempfile.mkstemp(dir=self.root, prefix=".learners-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"version": VERSION, "learners": [asdict(x) for x in learners]}, handle, indent=1)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temp, 0o600)
            os.replace(temp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
