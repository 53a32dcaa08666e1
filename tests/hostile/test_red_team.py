"""A classroom of hostile learners: each class of hole a red team found, probed on the real engine.
The figures are summarised in tests/hostile/README.md."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import docker.errors
import pytest

from tests.engine.helpers import context, exercise
from tutor.content.model import BuildSettings
from tutor.engine.folder_images import image_tag
from tutor.engine.grader import Grading, grade
from tutor.engine.report import Report

pytestmark = pytest.mark.docker

SECRET = "INSTRUCTOR_API_TOKEN=s3cr3t-do-not-leak"


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self.hits.append(self.path)
        body = SECRET.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def loopback_service() -> Iterator[tuple[int, list[str]]]:
    """A service bound to this machine's loopback that hands out a secret, and who asked for it."""
    hits: list[str] = []
    handler = type("Handler", (_Recorder,), {"hits": hits})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], hits
    server.shutdown()


@pytest.fixture
def probe(host, tmp_path: Path) -> Callable[..., Report]:
    """Grade a throwaway folder, keeping no image: `files` is a Dockerfile's text, a table of
    file name -> contents, or a folder already made; `checks` are a user check unless given."""

    def graded(files: str | dict[str, str | bytes] | Path, checks: list[dict] | None = None) -> Report:
        if isinstance(files, str):
            files = {"Dockerfile": files}
        folder = files if isinstance(files, Path) else context(tmp_path / "ctx", files)
        return grade(exercise(checks or [{"kind": "user"}]), folder, lambda: host, grading=Grading(keep_image=False))

    return graded


# --- 1. the engine fetches for the learner ---------------------------------------------------
@pytest.mark.parametrize(
    "dockerfile",
    [
        "FROM busybox\nADD http://127.0.0.1:{port}/a /secret\n",
        "FROM busybox\nARG SRC=http://127.0.0.1:{port}/b\nADD ${{SRC}} /secret\n",
        'FROM busybox\nENV H=127.0.0.1:{port}\nADD ["http://${{H}}/c", "/secret"]\n',
        "ARG P=ht\nFROM busybox\nARG P\nADD ${{P}}tp://127.0.0.1:{port}/d /secret\n",
    ],
    ids=["plain", "arg", "env-json", "split-meta-arg"],
)
def test_add_of_a_url_is_refused_before_the_engine_fetches_it(probe, loopback_service, dockerfile: str) -> None:
    port, hits = loopback_service
    report = probe(dockerfile.format(port=port))
    assert not report.build.ok and "fetch" in report.build.error, report.build.error
    time.sleep(0.2)
    assert hits == [], "the engine fetched for the learner"
    assert "s3cr3t" not in json.dumps(report.to_dict())


def _addresses_of_this_machine() -> list[str]:
    out = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True, check=True).stdout
    return [line.split()[3].split("/")[0] for line in out.splitlines() if " lo " not in line]


_PROBE = """
import os, urllib.request
targets = {targets!r}
with open("/proc/net/route") as routes:  # the container's own gateway: a bridge's address on this machine
    for line in routes.read().splitlines()[1:]:
        fields = line.split()
        if fields[1] == "00000000":
            targets += [".".join(str(b) for b in reversed(bytes.fromhex(fields[2]))) + ":{port}"]
lines = []
for target in targets:
    try:
        urllib.request.urlopen(f"http://{{target}}/", timeout=2).read()
        lines.append("REACHED " + target)
    except OSError:
        lines.append("blocked " + target)
os.makedirs("/www", exist_ok=True)
ok = not any(line.startswith("REACHED") for line in lines)
open("/www/r", "w").write("\\n".join(lines + (["ALL-BLOCKED"] if ok else [])))
os.execvp("python3", ["python3", "-m", "http.server", "8000", "-d", "/www"])
"""


def _prober_files(targets: list[str], port: int) -> dict[str, str]:
    """A learner's server that first tries every target (Python: the stand-in busybox's wget cannot
    resolve), then serves what it found at /r."""
    return {
        "probe.py": _PROBE.format(targets=targets, port=port),
        "Dockerfile": 'FROM python:3.11-slim\nCOPY probe.py /probe.py\nEXPOSE 8000\nCMD ["python3", "/probe.py"]\n',
    }


@pytest.fixture
def service_on_every_address() -> Iterator[tuple[int, list[str]]]:
    """A service bound to every address of this machine (the bridge gateway included)."""
    hits: list[str] = []
    handler = type("Handler", (_Recorder,), {"hits": hits})
    server = http.server.ThreadingHTTPServer(("0.0.0.0", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], hits
    server.shutdown()


@contextlib.contextmanager
def _forbidden_targets(host, port: int, loop_port: int) -> Iterator[list[str]]:
    """What a learner's container must not reach: a service on every address of this machine (on
    `port`), one on its loopback (`loop_port`) and another learner's server, up while the block runs."""
    with host.container("busybox", ["httpd", "-f", "-p", "80"]) as neighbour:
        neighbour.reload()
        other = neighbour.attrs["NetworkSettings"]["IPAddress"]
        yield [f"{a}:{port}" for a in _addresses_of_this_machine()] + [f"127.0.0.1:{loop_port}"] + ([f"{other}:80"] if other else [])


def test_a_served_container_reaches_nothing_but_its_prober(host, probe, service_on_every_address, loopback_service) -> None:
    port, hits = service_on_every_address
    loop_port, loop_hits = loopback_service
    with _forbidden_targets(host, port, loop_port) as targets:
        report = probe(_prober_files(targets, port), [{"kind": "http", "path": "/r", "expected_body": ["ALL-BLOCKED"], "timeout": 60}])
    assert report.build.ok, report.build.error
    assert report.checks[0].passed, report.checks[0].message
    assert hits == [] and loop_hits == []
    from tutor.engine.owner import OWNER_LABEL, owner_id

    assert host.api.networks(filters={"label": f"{OWNER_LABEL}={owner_id()}"}) == []


# --- 2. learners read each other's work ------------------------------------------------------
@pytest.fixture
def someone_elses_image(host) -> Iterator[tuple[str, str]]:
    """An image on the engine that is not a curriculum base image (another learner's, say)."""
    tag = f"docker-tutor-redteam/victim:{time.time_ns()}"
    host.api.tag("busybox", *tag.split(":"))
    image_id = host.image_attrs(tag)["Id"]
    yield tag, image_id
    host.api.remove_image(tag)


@pytest.mark.parametrize(
    "template",
    [
        "FROM {tag}\n",
        "ARG BASE={tag}\nFROM $BASE\n",
        "FROM busybox\nCOPY --from={short} /bin/busybox /stolen\n",
        "FROM {short}\n",
        # Spellings Docker's parser reads as the mount or copy they hide (quotes, backslashes, case).
        'FROM busybox\nCOPY --"from"={tag} /bin/busybox /stolen\n',
        "FROM busybox\nRUN --mount=type=bind,fr\\om={tag},target=/m cat /m/bin/busybox > /stolen\n",
        'FROM busybox\nRUN --mount=type=cache,"FROM={tag}",target=/m cat /m/bin/busybox > /stolen\n',
    ],
    ids=["from-tag", "from-arg", "copy-from-id", "from-id", "copy-quoted-flag", "mount-escaped-key", "cache-mount-quoted-key"],
)
def test_a_build_may_not_use_another_image(probe, someone_elses_image, template: str) -> None:
    tag, image_id = someone_elses_image
    short = image_id.removeprefix("sha256:")[:12]
    report = probe(template.format(tag=tag, short=short))
    assert not report.build.ok and "may not" in report.build.error, report.build.error


def test_image_tags_cannot_be_derived_by_another_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\n"})
    monkeypatch.setenv("DOCKER_TUTOR_DATA", str(tmp_path / "mine"))
    mine = image_tag(exercise([{"kind": "user"}]), folder)
    assert mine == image_tag(exercise([{"kind": "user"}]), folder)  # stable: the folder's cache
    monkeypatch.setenv("DOCKER_TUTOR_DATA", str(tmp_path / "theirs"))
    assert image_tag(exercise([{"kind": "user"}]), folder) != mine
    assert oct((tmp_path / "mine" / "owner-secret").stat().st_mode & 0o777) == "0o600"


# --- 3. symbolic links -----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["Dockerfile", ".dockerignore"])
def test_a_link_is_refused_before_it_is_read_and_nothing_of_it_is_echoed(tmp_path: Path, name: str) -> None:
    outside = tmp_path / "instructor.env"
    outside.write_text(f"{SECRET}\n")
    folder = context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\n"})
    (folder / name).unlink(missing_ok=True)
    os.symlink(outside, folder / name)
    report = grade(exercise([{"kind": "user"}]), folder, lambda: pytest.fail("must not reach the engine"))
    text = json.dumps(report.to_dict())
    assert not report.build.ok and "symbolic link" in report.build.error, report.build.error
    assert "s3cr3t" not in text and "INSTRUCTOR" not in text


def test_a_linked_run_script_is_not_read(probe, tmp_path: Path) -> None:
    outside = tmp_path / "instructor.env"
    outside.write_text(f"docker run --rm busybox echo {SECRET}\n")
    # Left out of the build context, so only the check itself would read it.
    folder = context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\n", ".dockerignore": "run.sh\n"})
    os.symlink(outside, folder / "run.sh")
    report = probe(folder, [{"kind": "docker-run", "execute": False}])
    assert not report.checks[0].passed and "symbolic link" in report.checks[0].message
    assert "s3cr3t" not in json.dumps(report.to_dict())


# --- 7. sizes before reading -----------------------------------------------------------------
_PEAK = """
import resource, sys
from pathlib import Path
from tests.engine.helpers import exercise
from tutor.engine.grader import grade
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
report = grade(exercise([{"kind": "user"}]), Path(sys.argv[1]), lambda: None)
print(report.build.error)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


@pytest.mark.parametrize("name", ["Dockerfile", ".dockerignore"])
def test_a_huge_file_is_refused_by_its_size_without_reading_it(tmp_path: Path, name: str) -> None:
    folder = context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\n"})
    with open(folder / name, "wb") as sparse:
        sparse.truncate(1536 * 2**20)  # 1.5 GB, sparse: no disk used
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-c", _PEAK, str(folder)], capture_output=True, text=True, timeout=60, check=True)
    error, grown_mb = out.stdout.strip().rsplit("\n", 1)
    assert time.monotonic() - started < 20
    assert "1536.0 MB" in error and "not read" in error, error
    # Measured from after the imports, so the figure is what grading the folder took.
    assert int(grown_mb) < 64, f"grading grew the process by {grown_mb} MB"


def test_a_context_of_too_many_files_is_refused_while_counting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tutor.engine import context as build_context

    monkeypatch.setattr(build_context, "MAX_CONTEXT_FILES", 2000)  # the real limit is 50,000: same walk
    folder = context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\n"})
    for index in range(6):
        sub = folder / f"d{index}"
        sub.mkdir()
        for name in range(500):
            (sub / str(name)).touch()
    report = grade(exercise([{"kind": "user"}]), folder, lambda: pytest.fail("must not reach the engine"))
    assert not report.build.ok and "more than 2000" in report.build.error


# --- 8. odd but legal input ------------------------------------------------------------------
def test_odd_but_legal_contexts_build(probe, tmp_path: Path, builder: str) -> None:
    """As `docker build` takes them, under either builder (the classic one read .dockerignore as UTF-8)."""
    folder = context(
        tmp_path / "ctx",
        {
            "Dockerfile": "\ufeffFROM busybox\nCOPY . /ctx\n",
            ".dockerignore": "secret-\u00e9*\n".encode("latin-1"),
        },
    )
    (folder / os.fsdecode(b"caf\xe9.txt")).write_text("latin-1 name\n")
    (folder / os.fsdecode(b"secret-\xe9.key")).write_text("kept out\n")
    (folder / "locked.bin").write_text("mode 000\n")
    os.chmod(folder / "locked.bin", 0)
    report = probe(folder, [
        {"kind": "file", "path": "/ctx/caf\u00e9.txt", "shouldExist": False},
        {"kind": "file", "path": "/ctx/secret-\u00e9.key", "shouldExist": False},
    ])
    if os.geteuid() == 0:
        assert report.build.ok, report.build.error
        assert all(c.passed for c in report.checks), [c.message for c in report.checks]
    else:
        assert not report.build.ok and "locked.bin cannot be read" in report.build.error


def _tutor(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tutor", *args], capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})


def test_a_learner_folder_whose_name_is_not_utf8_is_graded(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    context(subs / os.fsdecode(b"ren\xe9"), {"Dockerfile": "FROM busybox\n"})
    done = _tutor("grade", "01-hello-container", str(subs), "--jobs", "2")
    assert "Traceback" not in done.stderr and done.returncode in (0, 1), done.stderr
    assert "ren\\xe9" in done.stdout


@pytest.mark.parametrize(
    "content",
    ['{"version": 1, "exercises": []}', '{"version": 1, "exercises": {"x": {"attempts": "many"}}}', "[1, 2]", '"text"'],
    ids=["list", "wrong-type", "array", "string"],
)
def test_a_progress_file_of_the_wrong_shape_is_kept_aside_and_named(tmp_path: Path, content: str) -> None:
    data = Path(os.environ["DOCKER_TUTOR_DATA"])
    data.mkdir(parents=True, exist_ok=True)
    (data / "progress.json").write_text(content)
    done = _tutor("list")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    kept = list(data.glob("progress.json.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_text() == content
    assert str(kept[0]) in done.stderr


def test_a_verdict_file_of_the_wrong_shape_is_kept_aside_and_named(tmp_path: Path) -> None:
    folder = context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nCMD [\"echo\", \"hello from the container\"]\n"})
    first = _tutor("check", "01-hello-container", "--dir", str(folder))
    assert "Traceback" not in first.stderr, first.stderr
    verdicts = Path(os.environ["DOCKER_TUTOR_DATA"]) / "verdicts"
    files = list(verdicts.glob("*.json"))
    assert files
    for path in files:
        path.write_text(json.dumps({"tag": 3, "fingerprint": [], "image_id": {}, "report": "passed"}))
    again = _tutor("check", "01-hello-container", "--dir", str(folder))
    assert again.returncode == first.returncode and "Traceback" not in again.stderr, again.stderr
    assert "kept as" in again.stderr and list(verdicts.glob("*.json.corrupt-*"))
    _tutor("clean")


# --- 9. the docker-run parser ----------------------------------------------------------------
@pytest.mark.parametrize("command", ["docker run --rm=false busybox", "docker run --rm --rm=0 busybox", "docker run -d=false --rm=False busybox"])
def test_a_switch_set_to_false_is_not_the_switch(probe, command: str) -> None:
    files = {"Dockerfile": "FROM busybox\n", "run.sh": command + "\n"}
    report = probe(files, [{"kind": "docker-run", "flags": ["--rm"], "execute": False}])
    assert not report.checks[0].passed and "does not use --rm" in report.checks[0].message


# --- 6. grade --jobs N -------------------------------------------------------------------------
def test_parallel_requests_on_one_connection_never_lose_their_pool(host) -> None:
    errors: list[str] = []

    def many() -> None:
        for index in range(40):  # a distinct URL each time, as checks and learners in parallel make
            try:
                host.api.inspect_container(f"docker-tutor-redteam-absent-{threading.get_ident()}-{index}")
            except docker.errors.NotFound:
                pass
            except Exception as exc:  # noqa: BLE001 - any other failure is the finding
                errors.append(repr(exc))

    threads = [threading.Thread(target=many) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    # The SDK kept a pool per URL and closed the least recently used of 25, even one a parallel
    # reader was returning its connection to ("'NoneType' object has no attribute 'qsize'" in
    # a --jobs 8 grade): one pool serves every URL, so none is ever closed under a reader.
    assert len(host.api._custom_adapter.pools) == 1


def test_grade_in_parallel_passes_every_copy_of_a_solution(tmp_path: Path) -> None:
    import shutil

    from tutor import locations

    solution = locations.content_root() / "exercises" / "06-cache-friendly-order" / "solution"
    for index in range(6):
        shutil.copytree(solution, tmp_path / "class" / f"learner{index}")
    done = _tutor("grade", "06-cache-friendly-order", str(tmp_path / "class"), "--jobs", "4", "--format", "csv")
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 0 and done.stdout.count(",true,") == 6, done.stdout


# --- 11. clean -----------------------------------------------------------------------------------
def test_every_image_and_container_carries_the_tutors_label_and_owner(host, tmp_path: Path, builder: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from docker.models.containers import ContainerCollection

    from tutor.engine.dockerhost import MANAGED_LABEL
    from tutor.engine.owner import OWNER_LABEL, owner_id

    seen: list[dict[str, str]] = []
    create = ContainerCollection.create

    def recording(self: ContainerCollection, *args: object, **kwargs: object) -> object:
        seen.append(dict(kwargs.get("labels") or {}))
        return create(self, *args, **kwargs)

    monkeypatch.setattr(ContainerCollection, "create", recording)
    folder = context(tmp_path / "ctx", {"Dockerfile": f"FROM busybox\nRUN echo {time.time_ns()} > /n\nCMD [\"sleep\", \"1\"]\n"})
    checked = exercise([{"kind": "command", "command": ["true"]}])
    report = grade(checked, folder, lambda: host)
    try:
        assert report.build.ok, report.build.error
        labels = host.image_attrs(report.build.image_id)["Config"]["Labels"]
        assert labels[MANAGED_LABEL] == "true" and labels[OWNER_LABEL] == owner_id(), labels
        assert report.build.steps_total == 3 if builder == "classic" else 2  # the tutor's label steps are not the learner's
        assert seen and all(c[MANAGED_LABEL] == "true" and c[OWNER_LABEL] == owner_id() for c in seen), seen
    finally:
        host.remove_image(image_tag(checked, folder))


def test_clean_removes_only_this_users_images_and_says_how_to_remove_all(host, tmp_path: Path, builder: str) -> None:
    from tutor.engine.dockerhost import EXERCISE_LABEL
    from tutor.engine.owner import OWNER_LABEL

    nonce = time.time_ns()
    theirs = context(tmp_path / "theirs", {"Dockerfile": f"FROM busybox\nRUN echo {nonce} > /n\n"})
    other_tag = f"docker-tutor/01-hello-container:redteam{nonce}"
    list(host.api.build(path=str(theirs), tag=other_tag, labels={EXERCISE_LABEL: "01-hello-container", OWNER_LABEL: "someone-else"}, rm=True, decode=True, network_mode="none"))
    mine = context(tmp_path / "mine", {"Dockerfile": f'FROM busybox\nRUN echo {nonce} > /m\nCMD ["echo", "hello from the container"]\n'})
    _tutor("check", "01-hello-container", "--dir", str(mine))
    try:
        done = _tutor("clean")
        assert done.returncode == 0, done.stderr
        assert host.image_attrs(other_tag) is not None, "clean removed another user's image"
        assert "left alone" in done.stdout and "docker image rm" in done.stdout
        assert "removed 0 containers and 1 image made by" in done.stdout, done.stdout
    finally:
        host.remove_image(other_tag)


# --- 1 and 2 for Compose: a project's builds and network follow the rules of a single check ----
def _owned(host) -> list[str]:
    from tutor.engine.owner import OWNER_LABEL, owner_id

    mine = {"label": f"{OWNER_LABEL}={owner_id()}"}
    return [c["Id"] for c in host.api.containers(all=True, filters=mine)] + [n["Id"] for n in host.api.networks(filters=mine)]


@pytest.mark.parametrize(
    "dockerfile,service",
    [
        ("FROM {tag}\n", "build: ./web"),
        ("ARG BASE=busybox\nFROM $BASE\n", "build: {{context: ./web, args: {{BASE: '{tag}'}}}}"),
        ("FROM busybox\nCOPY --from={short} /bin/busybox /stolen\n", "build: ./web"),
        ("FROM busybox\nARG SRC\nADD $SRC /secret\n", "build: {{context: ./web, args: {{SRC: 'http://127.0.0.1:{port}/e'}}}}"),
        ("FROM busybox\nADD http://127.0.0.1:{port}/f /secret\n", "build: {{context: ./web, dockerfile: Dockerfile}}"),
        ("FROM busybox\n", "image: '{tag}'"),
        ("FROM busybox\n", "build: {{context: ./web, cache_from: ['{tag}']}}"),
    ],
    ids=["from-tag", "from-build-arg", "copy-from-id", "add-url-from-build-arg", "add-url", "service-image", "cache-from"],
)
def test_a_compose_project_follows_the_build_rules(host, probe, someone_elses_image, loopback_service, dockerfile: str, service: str) -> None:
    tag, image_id = someone_elses_image
    port, hits = loopback_service
    values = {"tag": tag, "short": image_id.removeprefix("sha256:")[:12], "port": port}
    compose = f"services:\n  web:\n    {service.format(**values)}\n    command: ['sleep', '30']\n"
    files = {"Dockerfile": "FROM busybox\n", "compose.yaml": compose, "web/Dockerfile": dockerfile.format(**values)}
    report = probe(files, [{"kind": "compose.logs", "service": "web", "expectedOutput": ["never"], "timeout": 5}])
    message = report.checks[0].message
    assert not report.checks[0].passed and "is refused" in message and ("may not" in message or "fetch" in message), message
    time.sleep(0.2)
    assert hits == [], "the engine fetched for the learner"
    assert _owned(host) == []


def test_a_compose_service_reaches_nothing_but_the_tutors_prober(host, probe, service_on_every_address, loopback_service) -> None:
    port, hits = service_on_every_address
    loop_port, loop_hits = loopback_service
    with _forbidden_targets(host, port, loop_port) as targets:
        compose = (
            "services:\n  web:\n    build: .\n    ports: ['8000:8000']\n"
            "  peer:\n    image: python:3.11-slim\n    command: ['sleep', '60']\n"
        )
        started = time.monotonic()
        report = probe({**_prober_files(targets, port), "compose.yaml": compose}, [
            {"kind": "compose.http", "service": "web", "port": 8000, "path": "/r", "expected_body": ["ALL-BLOCKED"], "timeout": 60},
            {"kind": "compose.reaches", "service": "peer", "host": "web", "port": 8000},
        ])
    assert report.build.ok, report.build.error
    assert all(c.passed for c in report.checks), [c.message for c in report.checks]
    assert hits == [] and loop_hits == []
    assert time.monotonic() - started < 120
    assert _owned(host) == []


# --- 4. limits on build steps: processes and disk ---------------------------------------------
def _images_with(host, nonce: str) -> list[str]:
    """Images whose history mentions `nonce`: this test's, on a shared engine."""
    found = []
    for image in host.api.images(all=True, filters={"since": "busybox"}) + host.api.images(all=True, filters={"dangling": True}):
        with contextlib.suppress(Exception):
            if any(nonce in (entry.get("CreatedBy") or "") for entry in host.api.history(image["Id"])):
                found.append(image["Id"])
    return found


@pytest.mark.parametrize(
    "base,run",
    [
        ("busybox", "while true; do sleep 1000 & done"),  # the shell gives up when a fork fails
        ("python:3.11-slim", 'python3 -c "exec(\'import os, time\\nwhile True:\\n try: os.fork()\\n except OSError: time.sleep(0.05)\')"'),  # never gives up
    ],
    ids=["shell", "python-keeps-forking"],
)
def test_a_build_step_that_forks_without_end_is_stopped_and_leaves_nothing(
    host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, base: str, run: str
) -> None:
    from tutor.engine.builders.step_limits import supported

    if not supported(host):
        pytest.skip("this engine takes no cgroup parent with limits for build steps (cgroup v2 or the systemd driver)")
    monkeypatch.setenv("DOCKER_TUTOR_BUILDER", "classic")  # what serve and grade use: BuildKit ignores cgroupparent
    nonce = f"f{time.time_ns()}"
    folder = context(tmp_path / "ctx", {"Dockerfile": f"FROM {base}\nRUN echo {nonce}; {run}\n"})
    started = time.monotonic()
    report = grade(exercise([{"kind": "user"}], build=BuildSettings(timeout=120)), folder, lambda: host, grading=Grading(keep_image=False))
    took = time.monotonic() - started
    assert not report.build.ok and "more than 512 processes" in report.build.error, report.build.error
    assert "processes without end" in report.build.hint
    assert took < 40, f"stopped after {took:.0f} s"
    assert _owned(host) == [] and not _images_with(host, nonce)


@pytest.mark.parametrize(
    "builder,write",
    # BuildKit has one guarantee here (the image-size check after the build): one case is enough.
    [("classic", "one-file"), ("classic", "many-files"), ("buildkit", "one-file")],
)
def test_a_build_step_writing_a_gigabyte_is_refused_and_leaves_no_image(
    host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, builder: str, write: str
) -> None:
    monkeypatch.setenv("DOCKER_TUTOR_BUILDER", builder)
    nonce = f"d{time.time_ns()}"
    command = {
        "one-file": "dd if=/dev/zero of=/big bs=1M count=1024",
        "many-files": "for i in 1 2 3 4 5 6; do dd if=/dev/zero of=/big$i bs=1M count=200; done",
    }[write]
    folder = context(tmp_path / "ctx", {"Dockerfile": f"FROM busybox\nRUN echo {nonce} && {command}\nCMD [\"true\"]\n"})
    started = time.monotonic()
    report = grade(exercise([{"kind": "user"}], build=BuildSettings(timeout=180)), folder, lambda: host, grading=Grading(keep_image=False))
    assert not report.build.ok, "an image of more than 1 GB was kept"
    assert "more than an exercise's image may hold" in report.build.hint, (report.build.error, report.build.hint)
    assert time.monotonic() - started < 150
    assert _owned(host) == [] and not _images_with(host, nonce)


# --- 6. timing checks judge the learner's program, not the machine's load ------------------------
def test_a_program_slow_to_install_its_sigterm_handler_passes_the_stop_check(probe, tmp_path: Path) -> None:
    """1.6 s before the handler stands for a start slowed by a loaded machine: the stop check waits for
    the handler (PID 1's SigCgt) instead of stopping at 1 s a PID 1 that would ignore SIGTERM."""
    program = "import signal, sys, time\ntime.sleep(1.6)\nsignal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\ntime.sleep(600)\n"
    files = {"slow.py": program, "Dockerfile": 'FROM python:3.11-slim\nCOPY slow.py /slow.py\nCMD ["python3", "/slow.py"]\n'}
    report = probe(files, [{"kind": "stop", "max_seconds": 3}])
    assert report.checks[0].passed, report.checks[0].message
    never = {**files, "slow.py": "import time\ntime.sleep(600)\n"}  # no handler at all: still killed, still failed
    report = probe(context(tmp_path / "never", never), [{"kind": "stop", "max_seconds": 3, "handler_wait": 3}])
    assert not report.checks[0].passed and "137" in report.checks[0].message, report.checks[0].message


def test_a_program_without_a_handler_that_ends_by_itself_during_the_stop_fails(probe) -> None:
    """A loaded machine slows the check until a program that ignores SIGTERM is near its own end: it
    then exits 0 within the grace period. Before, that passed as a graceful stop."""
    program = "import time\ntime.sleep(4.5)\n"  # no handler: ends by itself during the grace period
    files = {"ends.py": program, "Dockerfile": 'FROM python:3.11-slim\nCOPY ends.py /ends.py\nCMD ["python3", "/ends.py"]\n'}
    report = probe(files, [{"kind": "stop", "max_seconds": 5, "grace": 5, "handler_wait": 0.5}])
    assert not report.checks[0].passed and "never caught SIGTERM" in report.checks[0].message, report.checks[0].message


def test_a_health_probe_that_ran_out_of_time_once_is_waited_for(probe) -> None:
    """The first probe outlives its timeout (a machine too busy to run it in time), the next answers."""
    script = "if [ -f /warm ]; then exit 0; fi; touch /warm; sleep 4"
    dockerfile = f'FROM busybox\nHEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD {json.dumps(["sh", "-c", script])}\nCMD ["sleep", "600"]\n'
    report = probe(dockerfile, [{"kind": "health", "timeout": 30, "fails_when_down": False}])
    assert report.checks[0].passed, report.checks[0].message
