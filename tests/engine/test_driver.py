"""Checks talk to the narrow Driver only: no check module imports the engine SDK, and a check can
be judged against a fake driver (pure logic, no engine)."""

from __future__ import annotations

import ast
import contextlib
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from tests.engine.helpers import exercise
from tutor.engine.checks import CheckContext, compile_check
from tutor.engine.driver import FileEntry, ImageFacts, RunOutcome, Sandbox, ServiceState

CHECKS = Path(__file__).resolve().parents[2] / "tutor" / "engine" / "checks"
ENGINE_MODULES = ("docker", "requests", "urllib3", "tutor.engine.dockerhost", "tutor.engine.engine_driver")


def _runtime_imports(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """Imported module names, except those only under `if TYPE_CHECKING:`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.lineno, node.module


# Not yet behind the driver: the run-time checks (http's isolated prober network, health, stop, user).
NOT_YET = {"runtime.py"}


@pytest.mark.parametrize("module", sorted(p for p in CHECKS.glob("*.py") if p.name not in NOT_YET), ids=lambda p: p.name)
def test_no_check_imports_the_engine(module: Path) -> None:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    reached = [f"line {n}: {name}" for n, name in _runtime_imports(tree) if name.split(".")[0] == "docker" or name in ENGINE_MODULES]
    assert not reached, f"{module.name} reaches the engine directly: {reached}"


class FakeService:
    def __init__(self, states: list[ServiceState]) -> None:
        self.states = states
        self.stopped_with: int | None = None

    def state(self) -> ServiceState:
        return self.states.pop(0) if len(self.states) > 1 else self.states[0]

    def host_port(self, port: int) -> int | None:
        return None

    def logs(self, tail: int = 40) -> str:
        return "server log"

    def exec(self, argv: Sequence[str]) -> tuple[int, str]:
        return 1, ""

    def stop(self, grace: int) -> None:
        self.stopped_with = grace
        self.states = [ServiceState(running=False, exit_code=143)]


class FakeDriver:
    def __init__(self, *, config: dict | None = None, files: dict[str, FileEntry] | None = None,
                 service: FakeService | None = None, run: RunOutcome | None = None) -> None:
        self.config, self.files, self._service, self._run = config or {}, files or {}, service, run
        self.ran: list[dict] = []

    def facts(self) -> ImageFacts:
        return ImageFacts(config=self.config, size=3_000_000, layers=2)

    def history(self) -> list[str]:
        return ["/bin/sh -c #(nop) CMD [\"sh\"]"]

    def read_file(self, path: str, limit: int) -> FileEntry | None:
        return self.files.get(path)

    def run(self, command: list[str] | None = None, **options: object) -> RunOutcome:
        self.ran.append({"command": command, **options})
        assert self._run is not None
        return self._run

    @contextlib.contextmanager
    def service(self, *, ports: Sequence[int] = (), sandbox: Sandbox = Sandbox()) -> Iterator[FakeService]:
        assert self._service is not None
        yield self._service

    def engine_kernel(self) -> str:
        return "6.1.0"


def _judge(check: dict, driver: FakeDriver) -> tuple[bool, str]:
    spec = exercise([check]).checks[0]
    ctx = CheckContext(exercise=exercise([check]), directory=Path("."), dockerfile=None, driver=driver)
    verdict = compile_check(spec).run(ctx)
    return verdict.passed, verdict.message


def test_file_check_reads_mode_owner_and_contents_through_the_driver() -> None:
    entry = FileEntry(mode=stat.S_IFREG | 0o600, uid=1000, gid=1000, contents=b"def main():\n")
    driver = FakeDriver(files={"/app/train.py": entry})
    assert _judge({"kind": "file", "path": "/app/train.py", "uid": 1000, "expectedContents": ["def main"]}, driver)[0]
    ok, message = _judge({"kind": "file", "path": "/app/train.py", "permissions": "-rw-r--r--"}, driver)
    assert not ok and "-rw-------" in message
    ok, message = _judge({"kind": "file", "path": "/missing"}, driver)
    assert not ok and "does not exist" in message
    directory = FileEntry(mode=stat.S_IFDIR | 0o755, uid=0, gid=0, contents=None)
    ok, message = _judge({"kind": "file", "path": "/app", "expectedContents": ["x"]}, FakeDriver(files={"/app": directory}))
    assert not ok and "not a regular file" in message


def test_command_check_fills_engine_kernel_from_the_driver() -> None:
    driver = FakeDriver(run=RunOutcome(exit_code=0, stdout="Linux 6.1.0\n", stderr="", seconds=0.1))
    ok, message = _judge({"kind": "command", "command": ["uname"], "expectedOutput": ["{engine_kernel}"]}, driver)
    assert ok, message
    assert driver.ran[0]["entrypoint"] == ["uname"]
