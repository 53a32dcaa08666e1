"""Shared fixtures: one engine connection per session, and a private data dir and workspace per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tutor import locations
from tutor.content.loader import load_curriculum
from tutor.content.model import Curriculum


@pytest.fixture(autouse=True)
def private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the real progress file or workspace."""
    monkeypatch.setenv("DOCKER_TUTOR_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("DOCKER_TUTOR_WORKSPACE", str(tmp_path / "workspace"))
    # What `serve` and `grade` set for the processes they start: a test that runs them in-process
    # must not leave it to the next test.
    monkeypatch.delenv("DOCKER_TUTOR_SHARED_ENGINE", raising=False)


@pytest.fixture(scope="session")
def curriculum() -> Curriculum:
    return load_curriculum([locations.content_root()])


@pytest.fixture(scope="session")
def host() -> Iterator[object]:
    """The real engine. Tests that need it fail (not skip) when none answers, unless told to skip."""
    from tutor.engine.dockerhost import connect
    from tutor.errors import EngineUnavailable

    try:
        engine = connect()
    except EngineUnavailable as exc:
        if os.environ.get("DOCKER_TUTOR_SKIP_DOCKER"):
            pytest.skip(f"no Docker engine: {exc.message}")
        raise
    yield engine



@pytest.fixture(params=["buildkit", "classic"])
def builder(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test once per builder: every guarantee of a build holds under both."""
    monkeypatch.setenv("DOCKER_TUTOR_BUILDER", request.param)
    return request.param
