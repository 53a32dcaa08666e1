"""Fixtures for the TUI: small content roots, a fixed home for stable paths, and a pilot waiter."""

from __future__ import annotations

import asyncio
import inspect
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from tui_support import FIXTURE_CONTENT, Waiter

from tutor import locations
from tutor.app.tutor_app import TutorApp
from tutor.content.model import Exercise
from tutor.engine.dockerhost import DockerHost
from tutor.engine.folder_images import image_tag


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run `async def` tests on a fresh event loop: Pilot needs one, and no async plugin is required."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(pyfuncitem.obj(**arguments))
    return True


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private home folder, so the workspace is always shown as ~/docker-tutor/..."""
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    return folder


@pytest.fixture
def workspace(home: Path) -> Path:
    return home / "docker-tutor"


@pytest.fixture
def make_app(workspace: Path) -> Callable[..., TutorApp]:
    """The app on the small fixture curriculum (or the given roots), without the engine probe."""

    def make(roots: list[Path] | None = None, *, check_engine: bool = False) -> TutorApp:
        return TutorApp(content_roots=roots or [FIXTURE_CONTENT], workspace=workspace, check_engine=check_engine)

    return make


@pytest.fixture
def content_04(tmp_path: Path) -> Path:
    """The shipped lesson 04 and its exercise alone, so other lessons being written cannot break these tests."""
    shipped = locations.content_root()
    root = tmp_path / "content-04"
    (root / "lessons").mkdir(parents=True)
    shutil.copy(shipped / "lessons" / "04-dockerfile-recipe.md", root / "lessons")
    shutil.copytree(shipped / "exercises" / "04-first-dockerfile", root / "exercises" / "04-first-dockerfile")
    return root


@pytest.fixture
def clean_images(workspace: Path, host: DockerHost) -> Iterator[Callable[[Exercise], None]]:
    """Remove, after the test, the image each named exercise's check tagged for the test's workspace."""
    made: list[str] = []
    yield lambda exercise: made.append(image_tag(exercise, workspace / exercise.id))
    for tag in made:
        host.remove_image(tag)


@pytest.fixture
def slow_content(tmp_path: Path) -> Path:
    """An exercise whose build sleeps for half a minute: something to cancel."""
    root = tmp_path / "content-slow"
    (root / "lessons").mkdir(parents=True)
    (root / "lessons" / "01-waiting.md").write_text('+++\ntitle = "Waiting"\n+++\n# Waiting\n')
    exercise = root / "exercises" / "01-slow-build"
    for sub in ("starter", "solution"):
        (exercise / sub).mkdir(parents=True)
        # A step of its own each time: a build cache (BuildKit's keeps finished steps) must not answer for it.
        (exercise / sub / "Dockerfile").write_text(f"FROM busybox\nRUN echo {time.time_ns()} && sleep 30\n")
    (exercise / "exercise.toml").write_text(
        'title = "A slow build"\nlesson = "01-waiting"\ntask = "Wait."\n\n'
        '[[checks]]\nid = "exists"\nkind = "file"\npath = "/bin/sh"\ntitle = "Has a shell"\n'
    )
    return root


@pytest.fixture
def wait_for() -> Waiter:
    async def wait(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 10.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            if loop.time() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {condition}")
            await pilot.pause(0.05)

    return wait
