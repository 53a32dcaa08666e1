"""Removing an image the tutor is done with, without taking it from anyone else on the engine.

The engine's build cache is everyone's: another tutor's build of the same lines takes this one's
layers from it as its own steps, and anyone may tag an image (a final image is a folder's own: its
label says which, dockerhost.image_labels). Removed by id, an image with exactly one tag is untagged
and deleted (Docker and Podman alike), so a removal by id would delete it from under that tag. Removed through a tag of
the removal's own, the engine decides under its own lock: an image that has another tag only
loses ours; one that has none is deleted, with its untagged parents nobody builds on.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

# Where the tag of a removal by id lives for the moment between tagging and deleting.
HOLD_REPOSITORY = "docker-tutor/removing"

# An image id as the engine and the build log write it: full (sha256:...) or short.
_IMAGE_ID = re.compile(r"(sha256:)?[0-9a-f]{12,64}")


def is_image_id(ref: str) -> bool:
    return _IMAGE_ID.fullmatch(ref) is not None


def removal_ref(api: Any, ref: str) -> str:
    """The reference to delete for `ref`: a tag or name as given; an image id through a new tag of
    its own. Raises the engine's error (NotFound: the image is gone already)."""
    if not is_image_id(ref):
        return ref
    hold = uuid.uuid4().hex
    api.tag(ref, HOLD_REPOSITORY, hold)
    return f"{HOLD_REPOSITORY}:{hold}"


def remove_image(api: Any, ref: str, *, force: bool = False, noprune: bool = False) -> bool:
    """Delete a tag, or an image by id as only its own tag would (see the module's docstring);
    whether an image went (one still in use, or with children, only loses the tag). Raises the
    engine's error, for the caller to judge."""
    records = api.remove_image(removal_ref(api, ref), force=force, noprune=noprune) or []
    return any("Deleted" in record for record in records if isinstance(record, dict))
