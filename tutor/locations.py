"""Every on-disk location the tutor uses, with its environment override."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def content_root() -> Path:
    """Built-in lessons/ and exercises/: inside the wheel, or the source checkout."""
    shipped = PACKAGE_DIR / "_content"
    return shipped if shipped.is_dir() else PACKAGE_DIR.parent


def workspace_dir() -> Path:
    """The learner's editable copies of the exercises: a visible folder in their home."""
    override = os.environ.get("DOCKER_TUTOR_WORKSPACE")
    return Path(override).expanduser() if override else Path.home() / "docker-tutor"


def data_dir() -> Path:
    """Where progress is kept (XDG data dir unless DOCKER_TUTOR_DATA says otherwise)."""
    override = os.environ.get("DOCKER_TUTOR_DATA")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_path

    return user_data_path("docker-tutor", appauthor=False)


def cache_dir() -> Path:
    """What the tutor keeps only to be faster, safe to delete (XDG cache dir unless
    DOCKER_TUTOR_CACHE says otherwise)."""
    override = os.environ.get("DOCKER_TUTOR_CACHE")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_cache_path

    return user_cache_path("docker-tutor", appauthor=False)


def progress_file() -> Path:
    return data_dir() / "progress.json"
