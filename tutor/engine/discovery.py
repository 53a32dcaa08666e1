"""Find the Docker engine the way the docker CLI does, and say how it was found.

Order: an explicit choice (--engine / DOCKER_TUTOR_ENGINE: a context name or a host URL), then
DOCKER_HOST, then DOCKER_CONTEXT, then the docker config's current context (DOCKER_CONFIG
honoured), then the sockets that Docker Desktop, Colima, Rancher Desktop, OrbStack and rootless
Docker create, then the system socket, then Podman's. The first four are what the learner chose:
when such an engine does not answer, that is the answer. Sockets are tried in order; the first
that answers wins, so a socket file left behind by a stopped engine is passed over.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tutor.errors import UsageError

ENGINE_VARIABLE = "DOCKER_TUTOR_ENGINE"
CLASS_TAB_VARIABLE = "DOCKER_TUTOR_CLASS_TAB"  # set by `serve` for a tab placed on one of the class's engines
SYSTEM_SOCKET = "/var/run/docker.sock"


@dataclass(frozen=True, slots=True)
class EngineChoice:
    """Where the engine is, and how the tutor came to choose it (shown by doctor)."""

    url: str  # "unix:///…/docker.sock", "tcp://host:2376", "ssh://…"
    how: str  # "DOCKER_HOST", "docker context colima (current context)", "well-known socket (Colima)", …
    context: str = ""  # the context's name, when one was used
    tls: Any = None  # docker.tls.TLSConfig of a TLS context or of DOCKER_TLS_VERIFY, else None
    chosen: bool = True  # named by the learner (flag, variable, context): no other is tried

    def client_kwargs(self) -> dict[str, Any]:
        return {"base_url": self.url, "tls": self.tls} if self.tls else {"base_url": self.url}


def engine_tls(tls: Any) -> Any:
    """The TLS config of an engine with its own CA, kept from being replaced by REQUESTS_CA_BUNDLE
    (requests lets that variable override a client's CA, so a TLS engine would never verify)."""
    if tls is None or not getattr(tls, "ca_cert", None) or not tls.verify:
        return tls
    from docker.tls import TLSConfig

    class OwnCA(TLSConfig):
        def configure_client(self, client: Any) -> None:
            super().configure_client(client)
            client.trust_env = False

    return OwnCA(client_cert=tls.cert, ca_cert=tls.ca_cert, verify=tls.verify)


def well_known_sockets(env: Mapping[str, str], home: Path) -> list[tuple[str, Path]]:
    """(what made it, path) of the sockets engines create, in the order they are tried."""
    runtime = env.get("XDG_RUNTIME_DIR", "")
    sockets = [
        ("Docker Desktop", home / ".docker/run/docker.sock"),
        ("Docker Desktop", home / ".docker/desktop/docker.sock"),
        ("Colima", home / ".colima/default/docker.sock"),
        ("Colima", home / ".colima/docker.sock"),
        ("Rancher Desktop", home / ".rd/docker.sock"),
        ("OrbStack", home / ".orbstack/run/docker.sock"),
    ]
    if runtime:
        sockets.append(("rootless Docker", Path(runtime) / "docker.sock"))
    # The system engine comes before Podman's: a machine with both grades on Docker, as its CLI does.
    sockets.append(("the system Docker engine", Path(SYSTEM_SOCKET)))
    if runtime:
        sockets.append(("Podman (rootless)", Path(runtime) / "podman/podman.sock"))
    sockets.append(("Podman", Path("/run/podman/podman.sock")))
    return sockets


def config_dir(env: Mapping[str, str], home: Path) -> Path:
    """The docker CLI's config folder: DOCKER_CONFIG, else ~/.docker."""
    return Path(env["DOCKER_CONFIG"]) if env.get("DOCKER_CONFIG") else home / ".docker"


def chosen_engine(env: Mapping[str, str] | None = None, home: Path | None = None) -> EngineChoice | None:
    """The engine the learner named (flag or variable, DOCKER_HOST, a context), or None."""
    env = os.environ if env is None else env
    home = Path.home() if home is None else home
    explicit = env.get(ENGINE_VARIABLE, "").strip()
    if explicit:
        return named_engine(explicit, f"{ENGINE_VARIABLE} or --engine", env, home)
    if env.get("DOCKER_HOST"):
        return EngineChoice(env["DOCKER_HOST"], "DOCKER_HOST", tls=_tls_from_env(env))
    if env.get("DOCKER_CONTEXT"):
        return _context(env["DOCKER_CONTEXT"], "DOCKER_CONTEXT", env, home)
    current = _current_context(env, home)
    if current and current != "default":
        return _context(current, "current context in the docker config", env, home)
    return None


def named_engine(value: str, source: str, env: Mapping[str, str] | None = None, home: Path | None = None) -> EngineChoice:
    """An engine named by a flag or variable: a docker context name, or a host URL (unix://, a
    socket path, tcp:// with TLS from DOCKER_TLS_VERIFY/DOCKER_CERT_PATH as the docker CLI's -H, ssh://).
    One engine or each of several (grade/serve --engine A --engine B) is found this way."""
    env = os.environ if env is None else env
    home = Path.home() if home is None else home
    value = value.strip()
    if not value:
        raise UsageError(f"an empty engine name (from {source})", hint="Give a docker context name or a host URL.")
    if _is_url(value):
        url = _as_url(value)
        return EngineChoice(url, source, tls=_tls_from_env(env) if url.startswith("tcp://") else None)
    return _context(value, source, env, home)


def socket_candidates(env: Mapping[str, str] | None = None, home: Path | None = None) -> list[EngineChoice]:
    """Sockets that exist, in the order to try them; the system socket always (for the error)."""
    env = os.environ if env is None else env
    home = Path.home() if home is None else home
    found = [
        EngineChoice(f"unix://{path}", f"well-known socket of {maker}", chosen=False)
        for maker, path in well_known_sockets(env, home)
        if _is_socket(path)
    ]
    if not any(choice.url == f"unix://{SYSTEM_SOCKET}" for choice in found):
        found.append(EngineChoice(f"unix://{SYSTEM_SOCKET}", "the default socket", chosen=False))
    return found


def _context(name: str, source: str, env: Mapping[str, str], home: Path) -> EngineChoice:
    how = f"docker context {name} ({source})"
    if name == "default":
        return EngineChoice(f"unix://{SYSTEM_SOCKET}", how, context=name)
    host, tls = _context_endpoint(name, env, home)
    if host is None:
        raise UsageError(
            f"there is no docker context named {name!r} (from {source})",
            hint="See the contexts you have with: docker context ls. Or give a host: --engine unix:///path/to/docker.sock",
        )
    return EngineChoice(host, how, context=name, tls=engine_tls(tls))


def _context_endpoint(name: str, env: Mapping[str, str], home: Path) -> tuple[str | None, Any]:
    """(host, TLS config) of a named context, read with the SDK's ContextAPI where it can."""
    folder = config_dir(env, home)
    from docker.context import ContextAPI
    from docker.utils.config import find_config_file

    # The SDK finds the context store next to config.json only, and reads the live environment:
    # use it when that lands on the same folder the CLI would use.
    found = find_config_file()
    if env is os.environ and found and Path(found).parent == folder:
        try:
            context = ContextAPI.get_context(name)
        except Exception as exc:  # the SDK raises a bare Exception for a corrupt meta.json
            raise UsageError(f"the docker context {name!r} cannot be read: {exc}") from exc
        if context is None:
            return None, None
        return context.Host, context.TLSConfig
    return _read_meta(folder, name)


def _read_meta(folder: Path, name: str) -> tuple[str | None, Any]:
    """(host, TLS config) of a context from the store the CLI writes, keyed by sha256: meta.json,
    and the ca.pem/cert.pem/key.pem that `docker context create --docker ca=,cert=,key=` copied."""
    import hashlib

    key = hashlib.sha256(name.encode()).hexdigest()
    meta = folder / "contexts/meta" / key / "meta.json"
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError) as exc:
        raise UsageError(f"the docker context {name!r} cannot be read ({meta}): {exc}") from exc
    endpoint = (data.get("Endpoints") or {}).get("docker") or {}
    host = endpoint.get("Host") or f"unix://{SYSTEM_SOCKET}"
    tls_dir = folder / "contexts/tls" / key / "docker"
    files = {f: tls_dir / f"{f}.pem" for f in ("ca", "cert", "key")}
    if not host.startswith("tcp://") or not any(path.is_file() for path in files.values()):
        return host, None
    from docker.tls import TLSConfig

    verify = not endpoint.get("SkipTLSVerify", False)
    client_cert = (str(files["cert"]), str(files["key"])) if files["cert"].is_file() and files["key"].is_file() else None
    ca = str(files["ca"]) if files["ca"].is_file() else None
    return host, TLSConfig(client_cert=client_cert, ca_cert=ca, verify=verify)


def _current_context(env: Mapping[str, str], home: Path) -> str:
    path = config_dir(env, home) / "config.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    value = data.get("currentContext") if isinstance(data, dict) else None
    return value if isinstance(value, str) else ""


def _tls_from_env(env: Mapping[str, str]) -> Any:
    if not env.get("DOCKER_TLS_VERIFY") and not env.get("DOCKER_CERT_PATH"):
        return None
    from docker.utils import kwargs_from_env

    return engine_tls(kwargs_from_env(environment=dict(env)).get("tls"))


def _is_url(value: str) -> bool:
    return "://" in value or value.startswith("/")


def _as_url(value: str) -> str:
    return f"unix://{value}" if value.startswith("/") else value


def _is_socket(path: Path) -> bool:
    import stat

    try:
        return stat.S_ISSOCK(path.stat().st_mode)
    except OSError:
        return False


def named_hint(choice: EngineChoice) -> str:
    """For an engine the learner named that does not answer: how to go back to the usual one."""
    if choice.context:
        return (
            f"The docker context {choice.context} points there: `docker context use default` goes back to the "
            "usual engine (docker context ls lists yours), or start the engine it points at."
        )
    if choice.how == "DOCKER_HOST":
        return "DOCKER_HOST points there: `unset DOCKER_HOST` to use the engine found as docker finds it, or start that one."
    return f"It was named by {choice.how}: name another, or leave it out to use the engine found as docker finds it."


def start_hint(platform: str = sys.platform) -> str:
    """What to do when no engine answers, for this platform, in a few words."""
    if os.environ.get(CLASS_TAB_VARIABLE):  # a served learner cannot start the class's engine
        return (
            "Your class's engine for this tab stopped answering. Your files are saved on the server when you "
            "check: reload the page to continue on another of the class's engines, or tell your instructor."
        )
    if platform == "darwin":
        start = "Start Docker Desktop (or: colima start, OrbStack, Rancher Desktop)."
    elif platform.startswith("win"):
        start = "Start Docker Desktop."
    else:
        start = (
            "Start Docker: sudo systemctl start docker (rootless: systemctl --user start docker; "
            "Podman: systemctl --user start podman.socket)."
        )
    return (
        f"{start} If your engine listens elsewhere, pick it with --engine NAME|URL or {ENGINE_VARIABLE} "
        "(a docker context name, or e.g. unix:///path/to/docker.sock); docker context ls lists yours."
    )
