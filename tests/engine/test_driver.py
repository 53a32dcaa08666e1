"""Checks talk to the narrow Driver only: no check module imports the engine SDK or reaches the
engine's host object, and a check can be judged against a fake driver (pure logic, no engine)."""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine.helpers import exercise
from tutor.engine.checks import CheckContext, compile_check
from tutor.engine.driver import FileEntry, ImageFacts, RunOutcome, Sandbox, ServiceState
from tutor.engine.probers import listening_addresses

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


# What only the host object or an SDK container has; a check goes through ctx.image (the Driver).
HOST_ATTRIBUTES = {"host", "api", "client", "exec_run", "get_archive", "attrs", "reload", "containers", "served", "container"}


def _host_uses(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """Attributes that name the engine's host object or a raw SDK container (ctx.host, .exec_run, ...)."""
    for node in ast.walk(tree):
        own_field = isinstance(node, ast.Attribute) and ast.unparse(node.value) == "self"  # e.g. compose.reaches' host
        if isinstance(node, ast.Attribute) and node.attr in HOST_ATTRIBUTES and not own_field:
            yield node.lineno, ast.unparse(node)
        elif isinstance(node, ast.Name) and node.id in ("DockerHost", "EngineDriver"):
            yield node.lineno, node.id


@pytest.mark.parametrize("module", sorted(CHECKS.glob("*.py")), ids=lambda p: p.name)
def test_no_check_imports_the_engine(module: Path) -> None:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    reached = [f"line {n}: {name}" for n, name in _runtime_imports(tree) if name.split(".")[0] == "docker" or name in ENGINE_MODULES]
    assert not reached, f"{module.name} reaches the engine directly: {reached}"


@pytest.mark.parametrize("module", sorted(CHECKS.glob("*.py")), ids=lambda p: p.name)
def test_no_check_reaches_the_host_object(module: Path) -> None:
    reached = [f"line {n}: {text}" for n, text in _host_uses(ast.parse(module.read_text(encoding="utf-8")))]
    assert not reached, f"{module.name} goes around the driver: {reached}"


def test_the_check_context_offers_no_host() -> None:
    fields = {f.name for f in dataclasses.fields(CheckContext)}
    assert "host" not in fields and "driver" in fields


class FakeService:
    def __init__(self, states: list[ServiceState]) -> None:
        self.states = states
        self.stopped_with: int | None = None

    def state(self) -> ServiceState:
        return self.states.pop(0) if len(self.states) > 1 else self.states[0]

    def logs(self, tail: int = 40) -> str:
        return "server log"

    def main_process_status(self) -> str | None:
        return None

    def stop(self, grace: int) -> None:
        self.stopped_with = grace
        self.states = [ServiceState(running=False, exit_code=143)]


class FakeServer(FakeService):
    """A server that answers `answers` in turn (an exception is raised), listening where `tcp` says."""

    def __init__(self, states: list[ServiceState], answers: list[tuple[int, bytes] | Exception], tcp: str = "") -> None:
        super().__init__(states)
        self.answers, self.tcp = answers, tcp
        self.asked: list[tuple[str, str, str, dict[str, str] | None]] = []

    def listening(self) -> list[str]:
        return listening_addresses("  sl  local_address rem_address   st\n" + self.tcp, 8000)

    def request(self, method: str, path: str, body: str = "", headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        self.asked.append((method, path, body, headers))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


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
    def service(self, *, sandbox: Sandbox = Sandbox()) -> Iterator[FakeService]:
        assert self._service is not None
        yield self._service

    @contextlib.contextmanager
    def http_service(self, port: int, *, sandbox: Sandbox = Sandbox()) -> Iterator[FakeService]:
        assert isinstance(self._service, FakeServer)
        self.served_port = port
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


def test_health_check_reports_the_last_probe_of_an_unhealthy_service() -> None:
    states = [ServiceState(True, 0, "starting"), ServiceState(True, 0, "unhealthy", 1, "curl: connection refused")]
    down = RunOutcome(exit_code=1, stdout="", stderr="connection refused", seconds=0.1)  # the probe fails with the server down
    driver = FakeDriver(config={"Healthcheck": {"Test": ["CMD", "false"]}}, service=FakeService(states), run=down)
    ok, message = _judge({"kind": "health", "timeout": 5}, driver)
    assert not ok and "exit 1" in message and "connection refused" in message
    assert driver.ran[0]["entrypoint"] == ["false"]


def test_health_check_refuses_a_probe_that_passes_with_the_service_down() -> None:
    up = RunOutcome(exit_code=0, stdout="", stderr="", seconds=0.1)
    healthy = FakeService([ServiceState(True, 0, "healthy")])
    driver = FakeDriver(config={"Healthcheck": {"Test": ["CMD-SHELL", "true"]}}, service=healthy, run=up)
    ok, message = _judge({"kind": "health", "timeout": 5}, driver)
    assert not ok and "succeeds even when the server is not running" in message
    assert driver.ran[0]["entrypoint"] == ["/bin/sh", "-c"] and driver.ran[0]["command"] == ["true"]


def test_stop_check_stops_through_the_driver_with_its_grace() -> None:
    service = FakeService([ServiceState(True, 0)])
    ok, message = _judge({"kind": "stop", "ready_seconds": 0, "grace": 2}, FakeDriver(service=service))
    assert ok, message
    assert service.stopped_with == 2 and "143" in message


def test_user_check_runs_id_through_the_driver() -> None:
    driver = FakeDriver(config={"User": "app"}, run=RunOutcome(exit_code=0, stdout="0\n", stderr="", seconds=0.1))
    ok, message = _judge({"kind": "user"}, driver)
    assert not ok and "uid 0, which is root" in message
    assert driver.ran[0]["entrypoint"] == ["id"] and driver.ran[0]["command"] == ["-u"]


def test_http_check_asks_the_served_image_and_names_a_loopback_server() -> None:
    exposed = {"ExposedPorts": {"8000/tcp": {}}}
    answered = FakeServer([ServiceState(True, 0)], [(200, b'{"ok": true}')])
    driver = FakeDriver(config=exposed, service=answered)
    ok, message = _judge({"kind": "http", "path": "/predict", "method": "POST", "body": '{"x": 1}', "json": True}, driver)
    assert ok, message
    assert driver.served_port == 8000
    assert answered.asked == [("POST", "/predict", '{"x": 1}', {"Content-Type": "application/json"})]
    # Nothing answers and /proc/net/tcp shows a listener on 127.0.0.1:8000 (0100007F:1F40): said at once.
    loopback = FakeServer([ServiceState(True, 0)], [ConnectionError("refused")], tcp="   0: 0100007F:1F40 00000000:0000 0A\n")
    ok, message = _judge({"kind": "http", "timeout": 5}, FakeDriver(config=exposed, service=loopback))
    assert not ok and "listens on 127.0.0.1:8000" in message
    exited = FakeServer([ServiceState(False, 3)], [ConnectionError("refused")])
    ok, message = _judge({"kind": "http", "timeout": 5}, FakeDriver(config=exposed, service=exited))
    assert not ok and "exited (code 3)" in message and "server log" in message


def test_command_check_fills_engine_kernel_from_the_driver() -> None:
    driver = FakeDriver(run=RunOutcome(exit_code=0, stdout="Linux 6.1.0\n", stderr="", seconds=0.1))
    ok, message = _judge({"kind": "command", "command": ["uname"], "expectedOutput": ["{engine_kernel}"]}, driver)
    assert ok, message
    assert driver.ran[0]["entrypoint"] == ["uname"]
