"""What a build may take beyond time: the disk budget of one exercise's image."""

from __future__ import annotations

import os

# The largest image an exercise may leave on the engine; DOCKER_TUTOR_MAX_IMAGE_MB overrides it.
MAX_IMAGE_BYTES = int(os.environ.get("DOCKER_TUTOR_MAX_IMAGE_MB", "4096")) * 2**20
