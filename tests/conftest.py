"""Shared fixtures: one engine connection per session, a private data dir and workspace per test,
and an engine left as the run found it."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tutor import locations
from tutor.content.loader import load_curriculum
from tutor.content.model import Curriculum

# A shell starts a background job (`cmd &` without job control) with SIGINT ignored, and every
# process it starts inherits that: the tutors the tests interrupt with Ctrl-C would not hear it.
# A handler of our own is reset to the default in each child, as a learner's terminal gives it.
signal.signal(signal.SIGINT, signal.default_int_handler)


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


@pytest.fixture(scope="session", autouse=True)
def run_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One cache folder for the whole run, never the user's: what the tutor keeps there (images'
    file counts, by their layers) is shared by every test and process of the run, as by every
    check on a learner's machine. A test that proves a count builds layers of its own."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCKER_TUTOR_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="session", autouse=True)
def engine_left_clean(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """At the end of the run, remove what it made on the engine; fail if a container, network or
    volume was still there (the tutor removes those after every check: one left is a leak).

    Images do stay by design (each data folder keeps its latest folders' images as build cache):
    they are removed here. What this run made carries the owner label of one of its data folders,
    all under the run's base temporary folder; what others made on a shared engine is left alone."""
    yield
    from tests.engine_cleanup import leftovers, owners_under, remove

    owners = owners_under(tmp_path_factory.getbasetemp())
    if not owners:
        return
    try:
        from tutor.engine.dockerhost import connect

        api = connect().api
    except Exception:  # noqa: BLE001 - no engine: nothing can have been made on one
        return
    found = leftovers(api, owners)
    remove(api, found)
    leaked = {kind: names for kind, names in found.items() if kind != "images" and names}
    still = {kind: names for kind, names in leftovers(api, owners).items() if names}
    assert not leaked, f"the run left these behind (now removed): {leaked}"
    assert not still, f"these could not be removed: {still}"


CURRICULUM_TESTS = "tests/content/test_curriculum.py::"


@pytest.fixture(scope="session", autouse=True)
def curriculum_gradings(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, engine_left_clean: None, run_cache: None
) -> Iterator[object]:
    """The curriculum's gradings start with the run, not with their module: they take minutes of
    waiting on the engine, which the tests before that module (the TUI, the browser, the classroom,
    the CLI) fill. Those tests count nothing engine-wide; the engine and red-team tests after the
    module, which do, run once every grading is over. After engine_left_clean: stopped before it."""
    items = [item for item in request.session.items if item.nodeid.startswith(CURRICULUM_TESTS) and hasattr(item, "callspec")]
    if not items:
        yield None
        return
    gradings = items[0].module.start_gradings(items, tmp_path_factory.mktemp("graded-data"))
    try:
        yield gradings
    finally:
        gradings.pool.shutdown(wait=True, cancel_futures=True)  # a run stopped early (-x) waits for no queue


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
