"""What a build may take beyond time: processes, memory and disk, with the figures in one place.

Each figure has an environment override (DOCKER_TUTOR_...) for an instructor whose exercises need
more; it is read when a build starts.
"""

from __future__ import annotations

import os
import re

# How often the running step's writable layer is measured (the engine walks the layer to do it).
DISK_POLL_SECONDS = 2.0
# How often the running step's changed paths are counted (the engine compares the layer with its
# parents to list them: half a second for a pip install's, seconds for hundreds of thousands).
FILE_POLL_SECONDS = 10.0
# What a process prints, or a shell reports, when a write is refused for the file-size limit (EFBIG).
FILE_TOO_LARGE = re.compile(r"File too large|File size limit exceeded|Errno 27\]|returned a non-zero code: 153")


def _figure(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


DEFAULT_IMAGE_MB = 1000


def max_added_bytes() -> int:
    """What an exercise's build may add to its base image, in bytes (as `docker images` counts:
    1 GB is 10^9 bytes). Checked after the build (the image is removed when over it) and on the
    running step's writable layers (the step or build is stopped when over it)."""
    return _figure("DOCKER_TUTOR_MAX_IMAGE_MB", DEFAULT_IMAGE_MB) * 10**6


def buildkit_step_bytes() -> int:
    """What a running BuildKit step may hold on disk before its warden stops it. Every warden on an
    engine holds every step (a step's cgroup does not say whose it is), so none holds one below the
    default budget, which another tutor's learner may have: a smaller budget of this tutor's is
    kept by the image's own check after the build."""
    return max(max_added_bytes(), DEFAULT_IMAGE_MB * 10**6)


def max_build_files() -> int:
    """The files and folders one build step, or the whole build, may add to the image: an inode
    costs the engine's disk whatever its size. As many as a build context may hold (a pip install
    of a few packages makes a few thousand)."""
    return _figure("DOCKER_TUTOR_MAX_BUILD_FILES", 50_000)


def build_pids() -> int:
    """The processes all steps of one build may run at once, and each BuildKit step (where the engine
    can hold them to it: see step_limits.py and step_warden.py)."""
    return _figure("DOCKER_TUTOR_BUILD_PIDS", 512)


def human(size: float) -> str:
    return f"{size / 10**9:.1f} GB" if size >= 10**8 else f"{size / 10**6:.0f} MB"
