"""The Compose checks that read the normalized file: their verdicts and the mistakes they name.
(Pure logic on a given config; the checks that run a project are proven by the curriculum tests.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from tutor.content.model import CheckSpec, Exercise
from tutor.engine.checks import CheckContext, compile_check

KV = {"build": {"context": "/x/kv"}, "healthcheck": {"test": ["CMD", "true"]}}


def _verdict(config: dict, kind: str, **fields: object):
    exercise = Exercise("t", "t", "l", Path("."), "", (), ())
    ctx = CheckContext(exercise=exercise, directory=Path("."), dockerfile=None)
    ctx.shared.get("compose-config", lambda _stack: config)  # as `compose config` printed it
    return compile_check(CheckSpec(kind, "c", dict(fields), "test")).run(ctx)


@pytest.mark.parametrize("value", ["localhost", "127.0.0.1", "redis://localhost:6379/0", "http://127.0.0.1:5000"])
def test_a_service_name_written_as_localhost_is_named(value: str) -> None:
    config = {"services": {"api": {"environment": {"KV_HOST": value}}, "kv": KV}}
    verdict = _verdict(config, "compose.env", service="api", variable="KV_HOST")
    assert not verdict.passed
    assert "a service name written as" in verdict.message and "(kv)" in verdict.message


def test_env_passes_a_service_name_and_reads_list_form() -> None:
    config = {"services": {"api": {"environment": ["KV_HOST=kv", "OTHER"]}, "kv": KV}}
    assert _verdict(config, "compose.env", service="api", variable="KV_HOST", matches="^kv$").passed
    assert not _verdict(config, "compose.env", service="api", variable="MISSING").passed
    assert "no service named web" in _verdict(config, "compose.env", service="web", variable="X").message


def test_a_missing_health_condition_is_named() -> None:
    short = {"services": {"api": {"depends_on": ["kv"]}, "kv": KV}}
    verdict = _verdict(short, "compose.depends", service="api", on="kv")
    assert not verdict.passed and "Missing health condition" in verdict.message
    no_healthcheck = {"services": {"api": {"depends_on": {"kv": {"condition": "service_healthy"}}}, "kv": {"image": "x"}}}
    assert "kv has no healthcheck" in _verdict(no_healthcheck, "compose.depends", service="api", on="kv").message
    healthy = {"services": {"api": {"depends_on": {"kv": {"condition": "service_healthy"}}}, "kv": KV}}
    assert _verdict(healthy, "compose.depends", service="api", on="kv").passed
    assert "does not depend on kv" in _verdict({"services": {"api": {}, "kv": KV}}, "compose.depends", service="api", on="kv").message
