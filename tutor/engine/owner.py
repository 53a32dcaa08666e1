"""Whose tutor made a thing on a shared engine: a random secret kept in the data folder.

Image tags mix the secret in, so no one else on the engine can derive them; what the tutor makes
is labelled with an owner id derived from it (never the secret itself), so `clean` removes only
this data folder's own images and containers.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
from pathlib import Path

from tutor import locations
from tutor.engine.learner_files import LearnerFileRefused, read_learner_file
from tutor.state_files import keep_aside

OWNER_LABEL = "org.docker-tutor.owner"
_FILE = "owner-secret"
_SHAPE = re.compile(rb"^[0-9a-f]{64}\n?$")
_cache: dict[Path, bytes] = {}
_notes: list[str] = []


def tag_secret() -> bytes:
    folder = locations.data_dir()
    if folder not in _cache:
        _cache[folder] = _load_or_create(folder)
    return _cache[folder]


def owner_id(secret: bytes | None = None) -> str:
    """The id what the tutor makes is labelled with: of this data folder's secret, or of `secret`."""
    return hashlib.sha256(b"owner\0" + (tag_secret() if secret is None else secret)).hexdigest()[:16]


def cache_namespace(key: str) -> str:
    """The namespace of a build's cache mounts (BuildKit's BUILDKIT_CACHE_MOUNT_NS) for one graded
    folder (`key`): of this data folder's secret, so no other learner, and no other folder graded
    by the same tutor, can name it, and the same folder's next check finds its cache again."""
    return hashlib.sha256(b"cache-mount\0" + tag_secret() + b"\0" + key.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def kept_aside() -> list[str]:
    """What became of a broken secret file since last asked (each said once), for the learner."""
    said, _notes[:] = list(_notes), []
    return said


def _load_or_create(folder: Path) -> bytes:
    try:
        data = read_learner_file(folder, _FILE, 4096)
        problem = "" if _SHAPE.match(data) else "it is not 64 hexadecimal digits"
    except LearnerFileRefused as exc:
        problem = "" if exc.missing else str(exc).split(";")[0]
        data = b""
    if data and not problem:
        return data.strip()
    if problem:
        # A link, a folder, unreadable or the wrong shape: kept aside and named, never silently replaced
        # (a secret used for this process alone would label images no later `clean` finds).
        aside = keep_aside(folder / _FILE)
        if aside is not None:
            _notes.append(f"the owner secret {folder / _FILE} could not be used ({problem}); it was kept as {aside} and a new one made")
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        value = secrets.token_hex(32).encode()
        temp = folder / f".{_FILE}.{os.getpid()}.tmp"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(value + b"\n")
        try:
            os.link(temp, folder / _FILE)  # the first writer wins; a racing one reads the winner's
        except FileExistsError:
            pass
        finally:
            temp.unlink(missing_ok=True)
        with contextlib.suppress(LearnerFileRefused):
            data = read_learner_file(folder, _FILE, 4096)
            if _SHAPE.match(data):
                return data.strip()
    # A data folder that cannot be written: a secret for this process alone (tags then change per run).
    return secrets.token_hex(32).encode()
