"""Checks on the built image's metadata, size, layers and history; no container is started."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tutor.engine.checks.base import Check, CheckContext, Verdict, failed, passed, register

MB = 1_000_000


def _pairs(value: Any) -> dict[str, str]:
    """container-structure-test writes [{key, value}]; a plain table is accepted too."""
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return {str(item["key"]): str(item.get("value", "")) for item in value or ()}


def _folder(path: str) -> str:
    return path.rstrip("/") or "/"


@register
@dataclass(kw_only=True, frozen=True)
class Metadata(Check):
    """container-structure-test's metadataTest: the image's config, field by field."""

    kind = "metadata"
    env: Any = None  # [{key, value}] or a table
    labels: Any = None  # [{key, value, isRegex}] or a table
    exposedPorts: tuple[str, ...] = ()
    unexposedPorts: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    unmountedVolumes: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    workdir: str | None = None
    user: str | None = None

    def describe(self) -> str:
        named = [f for f in ("env", "labels", "exposedPorts", "volumes", "entrypoint", "cmd", "workdir", "user") if getattr(self, f)]
        return "image metadata: " + ", ".join(named or ["config"])

    def run(self, ctx: CheckContext) -> Verdict:
        config = ctx.config
        problems = []
        env = dict(item.split("=", 1) for item in config.get("Env") or [] if "=" in item)
        for key, value in _pairs(self.env).items():
            if key not in env:
                problems.append(f"ENV {key} is not set")
            elif value and env[key] != value:
                problems.append(f"ENV {key} is {env[key]!r}, expected {value!r}")
        labels = config.get("Labels") or {}
        for item in self.labels if isinstance(self.labels, (list, tuple)) else [
            {"key": k, "value": v} for k, v in _pairs(self.labels).items()
        ]:
            key, value = item["key"], str(item.get("value", ""))
            if key not in labels:
                problems.append(f"LABEL {key} is not set")
            elif value and not (
                re.fullmatch(value, labels[key]) if item.get("isRegex") else labels[key] == value
            ):
                problems.append(f"LABEL {key} is {labels[key]!r}, expected {value!r}")
        exposed = {p.split("/")[0] for p in config.get("ExposedPorts") or {}}
        problems += [f"port {p} is not exposed (EXPOSE {p})" for p in self.exposedPorts if str(p).split("/")[0] not in exposed]
        problems += [f"port {p} should not be exposed" for p in self.unexposedPorts if str(p).split("/")[0] in exposed]
        volumes = set(config.get("Volumes") or {})
        problems += [f"no VOLUME {v}" for v in self.volumes if v not in volumes]
        problems += [f"VOLUME {v} should not be declared" for v in self.unmountedVolumes if v in volumes]
        for field, key in (("entrypoint", "Entrypoint"), ("cmd", "Cmd")):
            want = getattr(self, field)
            have = config.get(key) or []
            if want is not None and list(want) != list(have):
                problems.append(f"{key} is {have}, expected {list(want)}")
        # /app and /app/ are the same folder.
        if self.workdir is not None and _folder(config.get("WorkingDir") or "/") != _folder(self.workdir):
            problems.append(f"WORKDIR is {config.get('WorkingDir') or '/'}, expected {self.workdir}")
        if self.user is not None and (config.get("User") or "root") != self.user:
            problems.append(f"USER is {config.get('User') or 'root (not set)'}, expected {self.user}")
        return failed("; ".join(problems)) if problems else passed("the image config is as expected")


@register
@dataclass(kw_only=True, frozen=True)
class ImageSize(Check):
    kind = "size"
    default_hint = (
        "Start from a slim base, clean package caches in the same RUN step that made them "
        "(pip --no-cache-dir, rm -rf /var/lib/apt/lists/*), and leave build tools in a builder stage."
    )
    max_mb: float | None = None
    max_layers: int | None = None

    def describe(self) -> str:
        parts = [f"at most {self.max_mb:g} MB" if self.max_mb else "", f"at most {self.max_layers} layers" if self.max_layers else ""]
        return "image " + " and ".join(p for p in parts if p)

    def run(self, ctx: CheckContext) -> Verdict:
        facts = ctx.image.facts()
        size, layers = facts.size / MB, facts.layers
        if self.max_mb is not None and size > self.max_mb:
            return failed(f"the image is {size:.1f} MB; the budget is {self.max_mb:g} MB")
        if self.max_layers is not None and layers > self.max_layers:
            return failed(f"the image has {layers} layers; at most {self.max_layers} are allowed (combine RUN steps)")
        return passed(f"{size:.1f} MB in {layers} layers")


@register
@dataclass(kw_only=True, frozen=True)
class History(Check):
    """Nothing secret in the image's history or config: layers keep what any step wrote."""

    kind = "history"
    default_hint = (
        "Anything in ARG, ENV, LABEL or a RUN command line is stored in the image for anyone to read "
        "with docker history. Pass secrets at run time (docker run -e, or a mounted file) instead."
    )
    absent: tuple[str, ...]

    def describe(self) -> str:
        return "no secret in the image history or config"

    def run(self, ctx: CheckContext) -> Verdict:
        steps = "\n".join(ctx.image.history())
        config = ctx.config
        settings = "\n".join([*(config.get("Env") or []), *(f"{k}={v}" for k, v in (config.get("Labels") or {}).items())])
        found = _first_match(self.absent, steps)
        if found:
            return failed(f"docker history shows {found} in a build step: anyone who pulls the image can read it")
        found = _first_match(self.absent, settings)
        if found:
            return failed(f"the image config (ENV or LABEL) holds {found}: docker inspect shows it to anyone who pulls the image")
        return passed("no secret in history or config")


def _first_match(patterns: tuple[str, ...], text: str) -> str:
    """What the first matching pattern found, cut short so the feedback does not repeat a secret."""
    for pattern in patterns:
        match = re.search(pattern, text, re.MULTILINE)
        if match:
            found = match.group(0)
            return f"“{found[:12]}…”" if len(found) > 12 else f"“{found}”"
    return ""
