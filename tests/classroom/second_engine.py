"""A second dockerd of the test's own: its own socket, data root, exec root, pidfile and bridge, and
a TLS port (tcp://127.0.0.1:PORT, --tlsverify) with a CA and a client certificate of its own.

kill() makes it stop answering as a crashed engine does (SIGKILL of dockerd and its containerd);
stop() then brings it up once more on the same folders so it removes what it left, and ends it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _certificates(folder: Path) -> None:
    """ca.pem, cert.pem/key.pem (the client's, the names DOCKER_CERT_PATH wants) and server-*.pem."""
    folder.mkdir(parents=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test-ca", "-keyout", "ca-key.pem", "-out", "ca.pem")
    (folder / "server.ext").write_text("subjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth\n")
    (folder / "client.ext").write_text("extendedKeyUsage = clientAuth\n")
    for who, subject in (("server", "/CN=127.0.0.1"), ("client", "/CN=client")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", f"{who}-key.pem", "-out", f"{who}.csr")
        openssl("x509", "-req", "-in", f"{who}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial", "-days", "1",
                "-extfile", f"{who}.ext", "-out", f"{who}-cert.pem")
    shutil.copy(folder / "client-cert.pem", folder / "cert.pem")
    shutil.copy(folder / "client-key.pem", folder / "key.pem")


class SecondEngine:
    def __init__(self, scratch: Path) -> None:
        self.dockerd = shutil.which("dockerd")
        if self.dockerd is None or os.geteuid() != 0:
            pytest.skip("a second engine needs dockerd and root")
        if shutil.which("ip") is None or shutil.which("openssl") is None:
            pytest.skip("a second engine's own bridge and certificates need ip and openssl")
        token = uuid.uuid4().hex[:8]
        self.name = f"docker-tutor-test-{token}"
        self.socket = f"/tmp/{self.name}.sock"
        self.url = f"unix://{self.socket}"
        self.data, self.execroot = Path(f"/var/lib/{self.name}"), Path(f"/var/run/{self.name}")
        self.pidfile = f"/var/run/{self.name}.pid"
        self.port = free_port()
        self.tcp_url = f"tcp://127.0.0.1:{self.port}"
        self.certs = scratch / "certs"
        # A bridge of its own: a dockerd started with --bridge none deletes the first engine's docker0.
        self.bridge = f"dt{token}"
        self.subnet = f"10.213.{int(token[:2], 16)}.1/24"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> SecondEngine:
        _certificates(self.certs)
        subprocess.run(["ip", "link", "add", self.bridge, "type", "bridge"], check=True)
        subprocess.run(["ip", "addr", "add", self.subnet, "dev", self.bridge], check=True)
        subprocess.run(["ip", "link", "set", self.bridge, "up"], check=True)
        if not self._run_dockerd():
            self.stop()
            pytest.skip("a second dockerd did not start on this machine")
        import docker

        docker.DockerClient(base_url=self.url, timeout=30).api.load_image(b"".join(docker.from_env().api.get_image("busybox:latest")))
        return self

    def _run_dockerd(self) -> bool:
        import docker

        c = self.certs
        self.process = subprocess.Popen(
            [self.dockerd, "-H", self.url, "-H", self.tcp_url, "--tlsverify", f"--tlscacert={c / 'ca.pem'}",
             f"--tlscert={c / 'server-cert.pem'}", f"--tlskey={c / 'server-key.pem'}", "--data-root", str(self.data),
             "--exec-root", str(self.execroot), "--pidfile", self.pidfile, "--bridge", self.bridge],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                docker.APIClient(base_url=self.url, timeout=5).ping()
                return True
            except Exception:  # noqa: BLE001 - not up yet
                if self.process.poll() is not None or time.monotonic() > deadline:
                    return False
                time.sleep(0.3)

    def _children(self, pid: int) -> list[int]:
        found = []
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit():
                try:
                    ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
                if ppid == pid:
                    found.append(int(proc.name))
        return found

    def _end_orphans(self) -> None:
        """A container shim of this engine that the crash left running (found by the engine's own
        exec root in its command line), with what it started."""
        marker = str(self.execroot).encode()
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                mine = marker in (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if mine:
                for pid in [*self._children(int(proc.name)), int(proc.name)]:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass

    def kill(self) -> None:
        """Crash it: dockerd and the containerd it started die at once, the socket stays behind."""
        assert self.process is not None
        for pid in [*self._children(self.process.pid), self.process.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is not None and self.data.exists():
            with_leftovers = self.process.returncode == -signal.SIGKILL
            if with_leftovers:  # once more on its folders, so it cleans up what the crash left running
                self._run_dockerd()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._end_orphans()
        shutil.rmtree(self.data, ignore_errors=True)
        shutil.rmtree(self.execroot, ignore_errors=True)
        Path(self.socket).unlink(missing_ok=True)
        subprocess.run(["ip", "link", "del", self.bridge], check=False, capture_output=True)
