"""The base images a curriculum builds FROM: which are here, pulling the missing, and moving them offline.

A workshop room often has no usable network: an instructor saves the images to one tar on a
USB stick and every learner loads it. All engine calls go through a connected DockerHost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import docker.errors
import docker.utils

from tutor.engine.dockerhost import STAND_IN_LABEL, DockerHost, engine_errors
from tutor.errors import TutorError, UsageError

CHUNK = 2**20


@dataclass(frozen=True, slots=True)
class ImageStatus:
    name: str
    present: bool
    stand_in: bool = False  # an offline stand-in, not the real upstream image
    size: int = 0
    image_id: str = ""


@dataclass(frozen=True, slots=True)
class PullProgress:
    """One layer's update while pulling: status text, and bytes done of total when known."""

    image: str
    layer: str
    status: str
    current: int = 0
    total: int = 0


class PullFailed(TutorError):
    """The registry could not be reached, or it refused the image."""


class NotAnImageArchive(UsageError):
    """The file given to load is not a tar written by docker save (or images save)."""


def statuses(host: DockerHost, names: list[str]) -> list[ImageStatus]:
    result = []
    for name in names:
        attrs = host.image_attrs(name)
        if attrs is None:
            result.append(ImageStatus(name, present=False))
            continue
        labels = (attrs.get("Config") or {}).get("Labels") or {}
        result.append(ImageStatus(name, True, labels.get(STAND_IN_LABEL) == "true", attrs.get("Size", 0), attrs["Id"]))
    return result


def pull(host: DockerHost, name: str, on_progress: Callable[[PullProgress], None]) -> str:
    """Pull one image, reporting every layer update; return its image id. Raises PullFailed."""
    repository, tag = docker.utils.parse_repository_tag(name)
    try:
        with engine_errors(f"pulling {name}"):
            for chunk in host.api.pull(repository, tag or "latest", stream=True, decode=True):
                if "error" in chunk:
                    raise PullFailed(f"could not pull {name}: {str(chunk['error']).strip()}")
                detail = chunk.get("progressDetail") or {}
                on_progress(
                    PullProgress(name, chunk.get("id", ""), chunk.get("status", ""), detail.get("current", 0), detail.get("total", 0))
                )
    except PullFailed:
        raise
    except TutorError as exc:
        if isinstance(exc.__cause__, docker.errors.APIError):
            raise PullFailed(f"could not pull {name}: {exc.__cause__.explanation or exc.__cause__}") from exc
        raise
    attrs = host.image_attrs(name)
    if attrs is None:
        raise PullFailed(f"the pull of {name} ended but the image is not on this machine")
    return str(attrs["Id"])


def save(host: DockerHost, names: list[str], path: Path) -> int:
    """Write every named image into one tar (tags kept, shared layers once); return its size."""
    missing = [s.name for s in statuses(host, names) if not s.present]
    if missing:
        raise UsageError(f"not on this machine, so not saved: {', '.join(missing)}", hint="docker-tutor images pull")
    if not names:
        raise UsageError("no images to save")
    partial = path.with_name(path.name + ".partial")
    try:
        with engine_errors("saving images"), open(partial, "wb") as out:
            # One /images/get call with several names: a single archive whose manifest lists them all.
            response = host.api._get(host.api._url("/images/get"), params={"names": names}, stream=True)
            host.api._raise_for_status(response)
            for block in response.iter_content(CHUNK):
                out.write(block)
        partial.replace(path)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return path.stat().st_size


def load(host: DockerHost, path: Path) -> list[str]:
    """Load an archive written by save (or docker save); return what the engine reports it loaded."""
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    with handle:
        if not _looks_like_tar(handle):
            raise NotAnImageArchive(
                f"{path} is not an image archive", hint="Give a tar written by 'docker-tutor images save' or 'docker save'."
            )
        loaded: list[str] = []
        try:
            with engine_errors(f"loading {path}"):
                for chunk in host.api.load_image(_chunks(handle)):
                    if "error" in chunk or "message" in chunk:
                        detail = str(chunk.get("error") or chunk.get("message")).strip()
                        raise NotAnImageArchive(f"{path} is not an image archive (the engine says: {detail})")
                    stream = str(chunk.get("stream", "")).strip()
                    if stream.startswith("Loaded image"):
                        loaded.append(stream.split(":", 1)[1].strip())
        except NotAnImageArchive:
            raise
        except TutorError as exc:
            if isinstance(exc.__cause__, docker.errors.APIError):
                raise NotAnImageArchive(f"{path} is not an image archive: {exc.__cause__.explanation}") from exc
            raise
    if not loaded:
        raise NotAnImageArchive(f"{path} holds no images")
    return loaded


# The engine also loads a compressed save (docker save | gzip): gzip, bzip2, xz, zstd.
COMPRESSED_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")


def _looks_like_tar(handle: IO[bytes]) -> bool:
    """A tar header has 'ustar' at offset 257; checked here so a wrong file never reaches the engine."""
    header = handle.read(512)
    handle.seek(0)
    return header.startswith(COMPRESSED_MAGIC) or (len(header) == 512 and header[257:262] == b"ustar")


def _chunks(handle: IO[bytes]) -> Iterator[bytes]:
    # A generator body makes requests stream the upload instead of reading the file into memory.
    while block := handle.read(CHUNK):
        yield block


def describe(status: ImageStatus) -> str:
    if not status.present:
        return "missing"
    return f"present, {status.size / 1e6:.0f} MB" + (" (offline stand-in)" if status.stand_in else "")


def progress_line(update: PullProgress, seen: dict[str, Any]) -> str | None:
    """One line per layer update worth showing: a new status, or another tenth of a download."""
    tenth = update.current * 10 // update.total if update.total else -1
    key = (update.status, tenth)
    if seen.get(update.layer) == key:
        return None
    seen[update.layer] = key
    layer = f"{update.layer}: " if update.layer else ""
    if update.total:
        filled = tenth * 2
        bar = "#" * filled + "." * (20 - filled)
        return f"  {layer}{update.status} [{bar}] {update.current / 1e6:.1f}/{update.total / 1e6:.1f} MB"
    return f"  {layer}{update.status}"
