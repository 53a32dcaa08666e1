"""Finding the engine as the docker CLI does: precedence with fake config folders, then for real,
with only a docker context on another socket and the default socket hidden."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tutor.engine.discovery import ENGINE_VARIABLE, chosen_engine, socket_candidates
from tutor.errors import UsageError


def _context(config: Path, name: str, host: str, *, current: bool = False) -> None:
    """A context stored as `docker context create` stores it."""
    meta = config / "contexts/meta" / hashlib.sha256(name.encode()).hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps({"Name": name, "Metadata": {}, "Endpoints": {"docker": {"Host": host}}}))
    if current:
        (config / "config.json").write_text(json.dumps({"currentContext": name}))


def _socket(path: Path) -> socket.socket:
    path.parent.mkdir(parents=True, exist_ok=True)
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    return listener


def test_precedence_flag_then_docker_host_then_docker_context_then_current_context(tmp_path: Path) -> None:
    config = tmp_path / ".docker"
    _context(config, "colima", "unix:///colima.sock", current=True)
    _context(config, "desk", "unix:///desk.sock")
    env = {"DOCKER_HOST": "tcp://10.0.0.1:2375", "DOCKER_CONTEXT": "desk", ENGINE_VARIABLE: "unix:///flag.sock"}
    order = []
    for drop in (None, ENGINE_VARIABLE, "DOCKER_HOST", "DOCKER_CONTEXT"):
        env.pop(drop or "", None)
        choice = chosen_engine(env, tmp_path)
        assert choice is not None
        order.append((choice.url, choice.how))
    assert order == [
        ("unix:///flag.sock", f"{ENGINE_VARIABLE} or --engine"),
        ("tcp://10.0.0.1:2375", "DOCKER_HOST"),
        ("unix:///desk.sock", "docker context desk (DOCKER_CONTEXT)"),
        ("unix:///colima.sock", "docker context colima (current context in the docker config)"),
    ]


def test_engine_flag_takes_a_context_name_or_a_path(tmp_path: Path) -> None:
    _context(tmp_path / ".docker", "orb", "unix:///orb.sock")
    assert chosen_engine({ENGINE_VARIABLE: "orb"}, tmp_path).url == "unix:///orb.sock"
    assert chosen_engine({ENGINE_VARIABLE: "/run/x.sock"}, tmp_path).url == "unix:///run/x.sock"
    assert chosen_engine({ENGINE_VARIABLE: "default"}, tmp_path).url == "unix:///var/run/docker.sock"
    with pytest.raises(UsageError, match="no docker context named 'typo'"):
        chosen_engine({ENGINE_VARIABLE: "typo"}, tmp_path)


def test_docker_config_moves_the_context_store(tmp_path: Path) -> None:
    elsewhere = tmp_path / "cfg"
    _context(elsewhere, "rd", "unix:///rd.sock", current=True)
    _context(tmp_path / ".docker", "home", "unix:///home.sock", current=True)
    assert chosen_engine({"DOCKER_CONFIG": str(elsewhere)}, tmp_path).url == "unix:///rd.sock"
    assert chosen_engine({}, tmp_path).url == "unix:///home.sock"


def test_default_context_and_no_config_leave_the_choice_to_the_sockets(tmp_path: Path) -> None:
    assert chosen_engine({}, tmp_path) is None
    (tmp_path / ".docker").mkdir()
    (tmp_path / ".docker/config.json").write_text('{"currentContext": "default"}')
    assert chosen_engine({}, tmp_path) is None
    (tmp_path / ".docker/config.json").write_text("not json")
    assert chosen_engine({}, tmp_path) is None


def test_sdk_context_api_reads_a_tls_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the live environment, the SDK's ContextAPI reads the store, certificates included."""
    config = tmp_path / ".docker"
    _context(config, "remote", "tcp://build.example:2376", current=True)
    tls = config / "contexts/tls" / hashlib.sha256(b"remote").hexdigest() / "docker"
    tls.mkdir(parents=True)
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tls / name).write_text("x")
    for name in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", ENGINE_VARIABLE):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    choice = chosen_engine(None, tmp_path)
    assert choice is not None and choice.url == "tcp://build.example:2376"
    assert choice.tls is not None and choice.tls.ca_cert.endswith("ca.pem")


def test_well_known_sockets_in_order_only_when_they_exist(tmp_path: Path) -> None:
    listeners = [_socket(tmp_path / ".orbstack/run/docker.sock"), _socket(tmp_path / ".colima/default/docker.sock")]
    (tmp_path / ".rd").mkdir()
    (tmp_path / ".rd/docker.sock").write_text("a file, not a socket")
    try:
        found = socket_candidates({}, tmp_path)
    finally:
        for listener in listeners:
            listener.close()
    urls = [choice.url for choice in found]
    assert urls[:2] == [f"unix://{tmp_path}/.colima/default/docker.sock", f"unix://{tmp_path}/.orbstack/run/docker.sock"]
    assert found[0].how == "well-known socket of Colima"
    assert "unix:///var/run/docker.sock" in urls and not any(".rd" in url for url in urls)


def _namespaced(script: str, home: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run script as root in a private mount namespace where /var/run is an empty tmpfs."""
    return subprocess.run(
        ["unshare", "-m", "sh", "-c", f"mount -t tmpfs none /var/run && {script}"],
        env={**env, "HOME": str(home)}, capture_output=True, text=True, timeout=300,
    )


@pytest.mark.docker
def test_doctor_and_check_work_with_only_a_context_on_another_socket(host: object, tmp_path: Path) -> None:
    from tests.hostile.engine_proxy import EngineProxy

    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("docker"):
        pytest.skip("needs root, unshare and the docker CLI to hide the default socket")
    proxy = EngineProxy(tmp_path / "alt.sock")
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", ENGINE_VARIABLE)}
    tutor = f"{sys.executable} -m tutor"
    try:
        subprocess.run(["docker", "context", "create", "alt", "--docker", f"host=unix://{proxy.path}"],
                       env={**env, "HOME": str(home)}, check=True, capture_output=True)
        subprocess.run(["docker", "context", "use", "alt"], env={**env, "HOME": str(home)}, check=True, capture_output=True)
        hidden = _namespaced("test ! -e /var/run/docker.sock && docker version --format '{{.Server.Version}}'", home, env)
        assert hidden.returncode == 0 and hidden.stdout.strip(), hidden.stderr
        doctor = _namespaced(f"{tutor} doctor", home, env)
        assert "by docker context alt (current context in the docker config)" in doctor.stdout, doctor.stdout + doctor.stderr
        assert "FAIL Docker engine" not in doctor.stdout
        check = _namespaced(f"{tutor} check 01-hello-container --solution", home, env)
        assert check.returncode == 0, check.stdout + check.stderr
        # With the context switched off, nothing answers, and the learner is told what to do.
        subprocess.run(["docker", "context", "use", "default"], env={**env, "HOME": str(home)}, check=True, capture_output=True)
        none = _namespaced(f"{tutor} check 01-hello-container --solution", home, env)
        assert none.returncode == 3 and "No Docker engine answers" in none.stderr and "--engine" in none.stderr, none.stderr
        # --engine picks the context by name again, and a host URL too.
        named = _namespaced(f"{tutor} --engine alt doctor", home, env)
        assert "by docker context alt (DOCKER_TUTOR_ENGINE or --engine)" in named.stdout, named.stdout + named.stderr
        url = _namespaced(f"{tutor} doctor --engine unix://{proxy.path}", home, env)
        assert f"unix://{proxy.path}, by DOCKER_TUTOR_ENGINE or --engine" in url.stdout, url.stdout + url.stderr
    finally:
        proxy.stop()


def test_an_engine_named_by_flag_takes_tls_as_the_docker_cli_does(tmp_path: Path) -> None:
    """tcp:// with DOCKER_TLS_VERIFY/DOCKER_CERT_PATH, and a context's own certificates; never
    for a unix socket. An engine's own CA is kept even when REQUESTS_CA_BUNDLE names another."""
    from tutor.engine.discovery import named_engine

    certs = tmp_path / "certs"
    certs.mkdir()
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (certs / name).write_text("")
    env = {"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(certs)}
    tcp = named_engine("tcp://10.0.0.5:2376", "--engine", env, tmp_path)
    assert tcp.tls is not None and tcp.tls.ca_cert == str(certs / "ca.pem") and tcp.tls.verify
    assert named_engine("unix:///run/other.sock", "--engine", env, tmp_path).tls is None
    assert named_engine("tcp://10.0.0.5:2375", "--engine", {}, tmp_path).tls is None

    class Client:
        trust_env = True
        verify: object = True
        cert: object = None

    client = Client()
    tcp.tls.configure_client(client)
    assert client.verify == str(certs / "ca.pem") and client.trust_env is False  # requests would swap the CA for the bundle

    config = tmp_path / ".docker"
    _context(config, "lab", "tcp://10.0.0.6:2376")
    key = hashlib.sha256(b"lab").hexdigest()
    shutil.copytree(certs, config / "contexts/tls" / key / "docker")
    lab = named_engine("lab", "--engine", {"DOCKER_CONFIG": str(config)}, tmp_path)
    assert lab.url == "tcp://10.0.0.6:2376" and lab.tls is not None
    assert lab.tls.cert == (str(config / "contexts/tls" / key / "docker/cert.pem"), str(config / "contexts/tls" / key / "docker/key.pem"))
    with pytest.raises(UsageError, match="no docker context named 'nope'"):
        named_engine("nope", "--engine", {"DOCKER_CONFIG": str(config)}, tmp_path)


def test_an_engine_the_learner_named_that_does_not_answer_says_how_to_go_back(tmp_path: Path) -> None:
    """Not only "start Docker": the usual engine may well be running, and the name is the problem."""
    from tutor.engine.discovery import EngineChoice
    from tutor.engine.dockerhost import _unavailable

    gone = ConnectionRefusedError("refused")
    by_context = _unavailable(gone, EngineChoice("unix:///tmp/x.sock", "docker context mine (current context)", context="mine"))
    assert "docker context mine points there: `docker context use default`" in by_context.hint
    assert "`unset DOCKER_HOST`" in _unavailable(gone, EngineChoice("unix:///tmp/x.sock", "DOCKER_HOST")).hint
    found = _unavailable(gone, EngineChoice("unix:///var/run/docker.sock", "the default socket", chosen=False))
    assert "points there" not in found.hint and "Start Docker" in found.hint
