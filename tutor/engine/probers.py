"""The client an HTTP check asks the learner's server through, from a container beside it.

Two ways to stand beside the server, one interface (`Prober`):
- `NetworkProber` (Docker): a long-running prober on an internal network of the two alone;
  each request is an exec in it.
- `NamespaceProber` (Podman): a one-shot prober per request that joins the server's own network
  namespace (the server has no network: only loopback) and gives loopback a second, non-loopback
  address, so a server bound to 127.0.0.1 still does not answer, as from outside. Podman needs it:
  its internal networks ignore Docker's bridge options (the bridge gets a host address) and pass
  no traffic at all where Docker's firewall drops forwarded packets; and every exec through its
  Docker-compatible API leaves a `conmon` process behind for five minutes, which polling a
  server piles up by the hundred, while a container's `conmon` ends with the container.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from tutor.engine.driver import Sandbox
from tutor.errors import TutorError

if TYPE_CHECKING:
    from tutor.engine.dockerhost import DockerHost

# Trusted images (curriculum base images) a prober is started from, with how each sends a request.
PROBER_IMAGES = ("busybox", "python:3.11-slim")
PROBER_SANDBOX = Sandbox(memory_mb=64, cpus=0.5, pids=32, learner=False)
_ANSWER_LIMIT = 70_000
_SEND = {
    "busybox": ["sh", "-c", f'printf "%s" "$REQ" | nc -w 5 "$IP" "$PORT" | head -c {_ANSWER_LIMIT}'],
    "python:3.11-slim": [
        "python3", "-c",
        "import os,socket,sys\n"
        "s=socket.create_connection((os.environ['IP'],int(os.environ['PORT'])),5);s.settimeout(5)\n"
        "s.sendall(os.environ['REQ'].encode());d=b''\n"
        f"while len(d)<{_ANSWER_LIMIT}:\n c=s.recv(65536)\n if not c: break\n d+=c\n"
        f"sys.stdout.buffer.write(d[:{_ANSWER_LIMIT}])",
    ],
}
# An address of the documentation range (RFC 5737): routed nowhere, so it means only this namespace.
NAMESPACE_ADDRESS = "192.0.2.1"
_NO_ADDRESS = 3  # the one-shot prober's exit code when it could not add its address
_ON_LOOPBACK = (
    f'ip addr add {NAMESPACE_ADDRESS}/32 dev lo 2>/dev/null || ip addr show dev lo | grep -q " {NAMESPACE_ADDRESS}/" '
    f"|| exit {_NO_ADDRESS}; "
)
_TABLES = ("/proc/net/tcp", "/proc/net/tcp6")


class Prober(Protocol):
    address: str
    port: int

    def request(self, method: str, path: str, body: str = "", headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """(status, body) of one request; ConnectionError when nothing answers."""
        ...

    def listening(self) -> list[str]:
        """The addresses the server listens on for the port (read from the kernel's tables)."""
        ...


def raw_request(method: str, path: str, host: str, body: str, headers: dict[str, str] | None) -> str:
    data = body.encode()
    lines = [f"{method} {path} HTTP/1.0", f"Host: {host}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if data or method not in ("GET", "HEAD"):
        lines.append(f"Content-Length: {len(data)}")
    return "\r\n".join(lines) + "\r\n\r\n" + body


@dataclass(frozen=True, slots=True)
class NetworkProber:
    """Sends HTTP requests to the learner's server from a container on a network they share."""

    container: Any
    server: Any  # the server's container, to read what it listens on (None: not known)
    image: str
    address: str
    port: int

    def request(self, method: str, path: str, body: str = "", headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        from tutor.engine.dockerhost import engine_errors

        raw = raw_request(method, path, f"{self.address}:{self.port}", body, headers)
        env = {"REQ": raw, "IP": self.address, "PORT": str(self.port)}
        with engine_errors("sending a request to the container"):
            result = self.container.exec_run(_SEND[self.image], environment=env, demux=True)
        return parse_http_answer((result.output[0] if result.output else None) or b"", self.port)

    def listening(self) -> list[str]:
        found: list[str] = []
        for table in _TABLES if self.server is not None else ():
            with contextlib.suppress(Exception):
                code, output = self.server.exec_run(["cat", table])
                if code == 0:
                    found += listening_addresses(output.decode(errors="replace"), self.port)
        return found


@dataclass(frozen=True, slots=True)
class NamespaceProber:
    """Sends each HTTP request from a one-shot busybox container in the server's network namespace."""

    host: DockerHost
    server_id: str
    exercise_id: str
    port: int
    address: str = NAMESPACE_ADDRESS
    image: str = "busybox"

    def request(self, method: str, path: str, body: str = "", headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        raw = raw_request(method, path, f"{self.address}:{self.port}", body, headers)
        env = {"REQ": raw, "IP": self.address, "PORT": str(self.port)}
        return parse_http_answer(self._run(_ON_LOOPBACK + _SEND["busybox"][2], env), self.port)

    def listening(self) -> list[str]:
        # /proc/net is per network namespace: the prober reads the server's tables as its own.
        tables = self._run("cat " + " ".join(_TABLES) + " 2>/dev/null", {})
        return listening_addresses(tables.decode(errors="replace"), self.port)

    def _run(self, script: str, env: dict[str, str]) -> bytes:
        from tutor.engine.dockerhost import engine_errors

        sandbox = Sandbox(PROBER_SANDBOX.memory_mb, PROBER_SANDBOX.cpus, PROBER_SANDBOX.pids, cap_add=("NET_ADMIN",), learner=False)
        with self.host.container(
            self.image, ["sh", "-c", script], environment=env, sandbox=sandbox,
            network=f"container:{self.server_id}", exercise_id=self.exercise_id,
        ) as prober, engine_errors("sending a request to the container"):
            code = prober.wait(timeout=20)["StatusCode"]
            output: bytes = prober.logs(stdout=True, stderr=False)
        if code == _NO_ADDRESS:
            raise TutorError("the HTTP check's prober could not give the server's network namespace an address to ask at")
        return output


def parse_http_answer(answer: bytes, port: int = 0) -> tuple[int, bytes]:
    if not answer:
        raise ConnectionError(f"nothing answered on port {port} (connection refused or closed)")
    head, _, payload = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.split(b"\r\n")
    parts = status_line.split()
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise ConnectionError("the answer was not HTTP")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in header_lines)}
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        payload = _unchunk(payload)
    return int(parts[1]), payload


def _unchunk(payload: bytes) -> bytes:
    out = bytearray()
    while payload:
        size_line, _, rest = payload.partition(b"\r\n")
        try:
            size = int(size_line.split(b";")[0], 16)
        except ValueError:
            break
        if size == 0:
            break
        out += rest[:size]
        payload = rest[size + 2 :]
    return bytes(out)


def listening_addresses(tables: str, port: int) -> list[str]:
    """The local addresses in /proc/net/tcp{,6} text that listen on `port`."""
    found = []
    for line in tables.splitlines():
        fields = line.split()
        if len(fields) > 3 and fields[3] == "0A" and ":" in fields[1]:  # LISTEN
            address, _, hex_port = fields[1].partition(":")
            with contextlib.suppress(ValueError):
                if int(hex_port, 16) == port:
                    found.append(hex_address(address))
    return found


def hex_address(hex_address: str) -> str:
    if len(hex_address) == 8:
        return ".".join(str(int(hex_address[i : i + 2], 16)) for i in (6, 4, 2, 0))
    return "::1" if hex_address.endswith("01000000") and set(hex_address[:24]) == {"0"} else "::"


def loopback_only(addresses: list[str]) -> bool:
    return bool(addresses) and all(a.startswith("127.") or a == "::1" for a in addresses)
