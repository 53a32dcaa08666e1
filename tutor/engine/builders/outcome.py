"""What a build is asked to do and what it produced: plain data shared by both builders."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class BuildRequest:
    context: Path
    tag: str | None
    exercise_id: str
    timeout: float  # wall-clock seconds for the whole build
    network: bool  # False: build steps run with networkmode=none
    memory_mb: int  # per build step: the classic builder's `memory`, BuildKit's step warden (step_warden.py)
    dockerfile: str = "Dockerfile"
    build_args: tuple[tuple[str, str], ...] = ()  # ARG values (Compose's build.args)
    target: str = ""  # the stage to build ("": the last)
    labels: tuple[tuple[str, str], ...] = ()  # the learner's own (Compose's build.labels); the tutor's win
    # Whose cache mounts the build sees: one graded folder's (its image tag; "": the context's path).
    # BuildKit keys a cache mount by its id (default: its target) across the whole engine, so the
    # tutor gives each folder a namespace of its own (owner.cache_namespace).
    cache_key: str = ""

    @property
    def folder_key(self) -> str:
        """The graded folder the build is of: its cache mounts' key, and its images' folder label."""
        return self.cache_key or os.fsdecode(self.context.resolve())

    @property
    def cache_namespace(self) -> str:
        """This owner's namespace for the cache mounts of the folder graded (owner.cache_namespace)."""
        from tutor.engine.owner import cache_namespace

        return cache_namespace(self.folder_key)


@dataclass(slots=True)
class BuildOutcome:
    ok: bool
    seconds: float
    image_id: str = ""
    error: str = ""
    log_tail: list[str] = field(default_factory=list)
    steps: dict[int, str] = field(default_factory=dict)  # step number -> instruction
    cached: set[int] = field(default_factory=set)
    total_steps: int = 0  # the learner's steps: the tutor's own LABEL step is not counted
    # The tutor's own steps (the classic builder's LABEL step): numbered, never in steps or cached.
    hidden_steps: set[int] = field(default_factory=set)
    created_layers: list[str] = field(default_factory=list)  # image ids made by this build
    # Step containers carry no labels (build labels reach only the final image): track them here.
    step_containers: list[str] = field(default_factory=list)
    builder: str = "classic"
    builder_why: str = ""  # why this builder built, in the learner's words
    # Steps of the stage that became the image, in order (the steps after the last FROM).
    final_stage: list[int] = field(default_factory=list)
    base_image: str = ""  # BuildKit: the image the final stage starts FROM, when it names one
