"""The tutor in a web browser for a class: each learner joins under a name and gets a session folder.

A cookie (or a personal link from the instructor) brings a learner back to the same folder after a
reload, in another tab, or after the server restarts. See tutor/served/ for the server itself.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from tutor.errors import UsageError
from tutor.served.admission import class_code as find_class_code
from tutor.served.guard import Limits, OriginGuard
from tutor.served.kept_secrets import KeptSecret, given_secret, kept_or_made
from tutor.words import plural

PASSWORD_FILE = "instructor-password"
KEPT_PASSWORD = KeptSecret(
    "the instructor password", re.compile(r"[A-Za-z0-9_-]{16}"), "a 16-character password of letters, digits, - and _",
    "give a password with --instructor-password-file FILE or DOCKER_TUTOR_INSTRUCTOR_PASSWORD",
)


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


@dataclass(frozen=True, slots=True)
class InstructorPassword:
    value: str
    source: str  # where it came from, in the instructor's words
    made: bool = False  # made by the tutor (now or at an earlier start): no one knows it unless shown

    def banner(self) -> str:
        """How the start banner tells it: a made password in full (the instructor has no other copy at
        hand), one the instructor chose by where it came from."""
        if self.made:
            return f"password: {self.value}   ({self.source}; any user name)"
        return f"password {self.source}"


def instructor_password(sessions: Path, password_file: Path | None) -> InstructorPassword:
    """The password and where it came from: a file given, the environment, or one made and kept."""
    if password_file is not None:
        password = given_secret(password_file, "the instructor password")
        if len(password) < 8:
            raise UsageError(f"the instructor password in {password_file} is shorter than 8 characters")
        return InstructorPassword(password, f"from {password_file}")
    # Taken out of the environment: the learners' tutor processes this server starts inherit it.
    given = os.environ.pop("DOCKER_TUTOR_INSTRUCTOR_PASSWORD", "")
    if given:
        return InstructorPassword(given, "from DOCKER_TUTOR_INSTRUCTOR_PASSWORD")
    password, source = kept_or_made(sessions / PASSWORD_FILE, lambda: secrets.token_urlsafe(12), KEPT_PASSWORD)
    return InstructorPassword(password, source, made=True)


def serve(
    host: str,
    port: int,
    sessions: Path,
    content: list[Path],
    *,
    content_only: bool = False,
    limits: Limits | None = None,
    allow_hosts: list[str] | None = None,
    password_file: Path | None = None,
    class_code: str | None = None,
    public_url: str | None = None,
    exercises: int = 0,
    engines: list[str] | None = None,
) -> int:
    from aiohttp import web

    from tutor.served.server import ClassServer

    limits = limits or Limits()
    ensure_port_free(host, port)
    try:
        sessions.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"cannot use {sessions} as the sessions folder: {exc.strerror or exc}",
            hint="Choose a folder the user who runs serve can write with --sessions DIR.",
        ) from exc
    password = instructor_password(sessions, password_file)
    code = find_class_code(sessions, class_code)
    extra = [arg for path in content for arg in ("--content", str(path.resolve()))]
    extra += ["--content-only"] if content_only else []
    server = ClassServer(
        sessions=sessions.resolve(),
        tutor_command=[sys.executable, "-m", "tutor", *extra],
        limits=limits,
        guard=OriginGuard(host, [*(allow_hosts or []), *([public_url] if public_url else [])]),
        password=password.value,
        class_code=code,
        exercises=exercises,
        secure_cookie=bool(public_url and public_url.startswith("https:")),
        engines=engines,
    )
    shown = public_url or f"http://{'localhost' if host in ('127.0.0.1', '::1') else host}:{port}"
    print(f"docker-tutor: serving a class on {shown} (Ctrl-C to stop)")
    print(f"  learners open {shown}/ and give their name and the class code; their work is kept in {sessions}")
    print(f"    {code.banner()}")
    # Shown once, on the terminal that started the class; the server's log never holds it.
    print(f"  instructor page: {shown}/instructor")
    print(f"    {password.banner()}")
    print(
        f"  limits: {plural(limits.max_learners, 'learner')}, {plural(limits.max_processes, 'tab')} in all, {limits.max_tabs} per learner; "
        f"idle tabs closed after {limits.idle_minutes:g} min; new names from one address: "
        f"{limits.joins_at_once} at once, then {limits.joins_per_minute:g} a minute",
        flush=True,
    )
    if engines:
        print(f"  engines: {', '.join(engines)} (each new learner's tabs on the answering one with the fewest tabs)")
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(
            "docker-tutor: warning: anyone who can reach this address and has the class code can join and run builds "
            "and containers on this machine's Docker engine. Serve on a trusted network only.",
            file=sys.stderr,
        )
    web.run_app(server.app(), host=host, port=port, print=None, access_log=None)
    return 0


def enter_session(folder: Path) -> Path:
    """A served tab's session folder (workspace/ and data/), made if the learner's is missing."""
    (folder / "workspace").mkdir(parents=True, exist_ok=True)
    (folder / "data").mkdir(exist_ok=True)
    return folder
