"""How many files and folders a built image adds to its base image, whichever builder built it.

The engine says how many bytes an image holds, not how many files: those are counted by busybox's
`find`, run in a container of the image (never started as the image would be: its entrypoint,
user and network are the tutor's). The busybox binary is copied into that container under a name
of this process's own, so the learner's image cannot stand in for it, and the count has the
right to read every folder (`DAC_READ_SEARCH`, nothing more). The base image is counted only for an
image over the limit in all. Every count is kept by the image's layers, in this process and in the
tutor's cache folder (file_counts.py): an image is counted once, whichever process or check built it.
"""
from __future__ import annotations

import contextlib
import io
import tarfile
import threading
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tutor import locations
from tutor.engine.builders.file_counts import KeptCounts, count_key
from tutor.engine.driver import Sandbox

if TYPE_CHECKING:
    from tutor.engine.dockerhost import DockerHost

_DIR = f"/.docker-tutor-{uuid.uuid4().hex[:12]}"
_BUSYBOX = f"{_DIR}/busybox"
# Everything on the image's own files; the kernel's filesystems and the tutor's binary left out.
_COUNT = (
    f"set -o pipefail; {_BUSYBOX} find / \\( -path /proc -o -path /sys -o -path /dev -o -path {_DIR} \\) -prune "
    f"-o -print | {_BUSYBOX} wc -l"
)
_SANDBOX = Sandbox(memory_mb=128, cpus=1.0, pids=16, cap_add=("DAC_READ_SEARCH",), learner=False)
COUNT_SECONDS = 60.0
# Said with every kept count: a count made another way is not reused.
_METHOD = "busybox find /, pruned /proc /sys /dev, v1"


@dataclass(slots=True)
class FileCounter:
    host: DockerHost
    _binary: bytes = b""
    _counted: dict[str, int] = field(default_factory=dict)  # count_key -> files and folders
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def added(self, image: dict[str, Any], base: dict[str, Any] | None, limit: int) -> int | None:
        """Files and folders `image` has beyond `base` (None: all of them), as far as it matters: an
        image that holds no more than `limit` in all adds no more, and its base is not counted.
        Both are the engine's attributes of the image (inspect). None when they cannot be counted
        here (no busybox image, or the engine refused)."""
        total = self.count(image)
        if total is None or total <= limit or not base:
            return total
        under = self.count(base)
        return None if under is None else total - under

    def count(self, image: dict[str, Any]) -> int | None:
        key = count_key(image, _METHOD)
        kept = KeptCounts(locations.cache_dir())
        known = self._counted.get(key)
        if known is None:
            known = kept.get(key)
        if known is not None:
            return known
        found = self._count(image["Id"])
        if found is not None:
            with self._lock:
                self._counted[key] = found
            kept.put(key, found)
        return found

    def _count(self, image_id: str) -> int | None:
        archive = self._archive()
        if not archive:
            return None
        found: int | None = None
        with contextlib.suppress(Exception), self.host.container(
            image_id, ["-c", _COUNT], entrypoint=[_BUSYBOX, "sh"], user="0:0", sandbox=_SANDBOX, start=False
        ) as container:
            container.put_archive("/", archive)
            container.start()
            code = container.wait(timeout=COUNT_SECONDS)["StatusCode"]
            output = container.logs(stdout=True, stderr=False).split()
            if code == 0 and output and output[-1].isdigit():
                found = int(output[-1])
        return found

    def _archive(self) -> bytes:
        """A tar holding busybox's binary at _BUSYBOX, read once from the busybox image, when a count
        is first needed: most kept builds find their count kept and need no binary."""
        with self._lock:
            if not self._binary:
                self._binary = _busybox_tar(self.host)
            return self._binary


def _busybox_tar(host: DockerHost) -> bytes:
    if not host.image_attrs("busybox"):
        return b""
    data = b""
    with contextlib.suppress(Exception), host.container("busybox", ["true"], start=False) as source:
        stream, _ = source.get_archive("/bin/busybox")
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
            member = archive.next()
            handle = archive.extractfile(member) if member is not None else None
            data = handle.read() if handle is not None else b""
    if not data:
        return b""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        info = tarfile.TarInfo(_BUSYBOX.lstrip("/"))
        info.size, info.mode = len(data), 0o755
        archive.addfile(info, io.BytesIO(data))
    return out.getvalue()
