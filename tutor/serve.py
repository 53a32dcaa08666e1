"""The tutor in a web browser: textual-serve runs one tutor process per browser tab.

Each process gets a session folder of its own (workspace and progress), so learners sharing one
serving machine never see each other's files. Builds run on the serving machine's engine.
"""

from __future__ import annotations

import shlex
import socket
import sys
import uuid
from pathlib import Path

from tutor.errors import UsageError


def ensure_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise UsageError(
                f"cannot serve on {host}:{port}: {exc.strerror or exc}",
                hint="Choose another port with --port, or stop what is using it.",
            ) from exc


def serve(host: str, port: int, sessions: Path, content: list[Path], *, content_only: bool = False) -> int:
    from textual_serve.server import Server

    ensure_port_free(host, port)
    sessions.mkdir(parents=True, exist_ok=True)
    extra = [arg for path in content for arg in ("--content", str(path.resolve()))]
    extra += ["--content-only"] if content_only else []
    command = shlex.join([sys.executable, "-m", "tutor", *extra, "--session-root", str(sessions.resolve())])
    print(f"docker-tutor: serving on http://{host}:{port} (Ctrl-C to stop)")
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(
            "docker-tutor: warning: anyone who can reach this address can run builds and containers on this "
            "machine's Docker engine. Serve on a trusted network only.",
            file=sys.stderr,
        )
    # Our own page: the terminal focused on load, a local font (works offline) and an icon.
    page = Path(__file__).parent / "web"
    Server(command, host=host, port=port, title="docker-tutor", templates_path=page).serve()
    return 0


def new_session(root: Path) -> Path:
    """A fresh folder for one browser tab: its own workspace/ and data/."""
    folder = root / f"session-{uuid.uuid4().hex[:12]}"
    (folder / "workspace").mkdir(parents=True)
    (folder / "data").mkdir()
    return folder
