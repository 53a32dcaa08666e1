"""The password and class code serve keeps in its sessions folder: a kept file that is not what serve
wrote stops it with the file and what to do (the secret may be in people's hands), an empty one is
kept aside and a new secret made; never a traceback, never a file read or written through a link."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.browser.served import free_port
from tutor.errors import UsageError
from tutor.serve import KEPT_PASSWORD, PASSWORD_FILE
from tutor.served.admission import CODE_FILE, KEPT_CODE
from tutor.served.kept_secrets import KeptSecret, kept_or_made

MARK = "outside-the-sessions-folder-a1b2c3d4"
SECRETS = [(PASSWORD_FILE, KEPT_PASSWORD, "pLEnty-of_Lett3r"), (CODE_FILE, KEPT_CODE, "ABCD-EFGH")]


def _link_out(kept: Path) -> None:
    outside = kept.parent.parent / "outside"
    outside.write_text(MARK + "\n")
    kept.symlink_to(outside)


# Each makes `kept` into something serve never wrote; what the refusal must say.
REFUSED: dict[str, tuple[Callable[[Path], object], str]] = {
    "not UTF-8": (lambda kept: kept.write_bytes(b"\xff\xfe\x00ABCD"), "is not text (not UTF-8)"),
    "a folder": (lambda kept: kept.mkdir(), "is a folder"),
    "a link to a file": (_link_out, "is a symbolic link"),
    "a dangling link": (lambda kept: kept.symlink_to(kept.parent.parent / "nowhere"), "is a symbolic link"),
    "a FIFO": (lambda kept: os.mkfifo(kept), "is not a regular file"),
    "too short": (lambda kept: kept.write_text("ab\n"), "does not hold"),
    "two lines": (lambda kept: kept.write_text("ABCD-EFGH\nABCD-EFGH\n"), "does not hold"),
    "control characters": (lambda kept: kept.write_text("ABCD\x00EFGH\n"), "does not hold"),
    "huge": (lambda kept: kept.write_bytes(b"A" * 100_000), "is larger than any secret"),
}


@pytest.mark.parametrize("case", list(REFUSED))
@pytest.mark.parametrize(("name", "secret", "_good"), SECRETS, ids=[name for name, *_ in SECRETS])
def test_a_kept_secret_serve_did_not_write_is_refused_with_the_file_and_what_to_do(
    tmp_path: Path, case: str, name: str, secret: KeptSecret, _good: str
) -> None:
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    kept = sessions / name
    make, said = REFUSED[case]
    make(kept)
    before = sorted(p.name for p in sessions.iterdir())
    with pytest.raises(UsageError) as refused:
        kept_or_made(kept, lambda: "never-made-here", secret)
    message = str(refused.value)
    assert str(kept) in refused.value.message and said in message and "serve makes a new one" in message, message
    assert MARK not in message
    assert sorted(p.name for p in sessions.iterdir()) == before  # nothing moved, nothing made
    assert not (tmp_path / "nowhere").exists()  # nothing written through a link


@pytest.mark.parametrize(("name", "secret", "good"), SECRETS, ids=[name for name, *_ in SECRETS])
def test_a_kept_secret_serve_wrote_is_used_and_made_readable_by_its_owner_alone(
    tmp_path: Path, name: str, secret: KeptSecret, good: str
) -> None:
    kept = tmp_path / name
    kept.write_text(f"{good}\r\n")  # an editor's line end is not a change
    kept.chmod(0o644)
    assert kept_or_made(kept, lambda: "never-made-here", secret) == (good, f"made at an earlier start, kept in {kept}")
    assert kept.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("content", ["", "  \n\t\n"], ids=["empty", "whitespace"])
@pytest.mark.parametrize(("name", "secret", "good"), SECRETS, ids=[name for name, *_ in SECRETS])
def test_an_empty_kept_secret_is_kept_aside_and_named_and_a_new_one_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, name: str, secret: KeptSecret, good: str
) -> None:
    kept = tmp_path / name
    kept.write_text(content)
    value, source = kept_or_made(kept, lambda: good, secret)
    assert value == good and source == f"made for this class, kept in {kept}"
    assert kept.read_text() == good + "\n" and kept.stat().st_mode & 0o777 == 0o600
    (aside,) = tmp_path.glob(f"{name}.corrupt-*")
    assert aside.read_text() == content and str(aside) in capsys.readouterr().err


def test_a_secret_made_while_another_serve_made_one_is_the_winners(tmp_path: Path) -> None:
    kept = tmp_path / CODE_FILE
    first = kept_or_made(kept, lambda: "WXYZ-2345", KEPT_CODE)
    # The second found no file, made its own, and the first linked in its file meanwhile.
    from tutor.served import kept_secrets

    assert kept_secrets._keep(kept, "ABCD-EFGH", KEPT_CODE)[0] == first[0] == "WXYZ-2345"
    assert kept.read_text() == "WXYZ-2345\n" and sorted(p.name for p in tmp_path.iterdir()) == [CODE_FILE]


def test_a_sessions_folder_that_cannot_hold_the_secret_is_refused(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    with pytest.raises(UsageError, match=re.escape(f"{not_a_folder / CODE_FILE} cannot be read (Not a directory)")):
        kept_or_made(not_a_folder / CODE_FILE, lambda: "ABCD-EFGH", KEPT_CODE)


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("setpriv") or not Path("/usr/bin/python3").exists(), reason="needs root to run as another user"
)
def test_a_kept_secret_its_user_cannot_read_or_write_is_refused() -> None:
    """As an ordinary user (root reads a mode-000 file), with the system's Python: kept_secrets needs
    nothing beyond the standard library."""
    with tempfile.TemporaryDirectory() as top:  # pytest's own folders are closed to other users
        Path(top).chmod(0o755)
        unreadable, read_only = Path(top) / "unreadable", Path(top) / "read-only"
        unreadable.mkdir()
        (unreadable / CODE_FILE).write_text("ABCD-EFGH\n")
        (unreadable / CODE_FILE).chmod(0o000)
        os.chown(unreadable / CODE_FILE, 65534, 65534)
        os.chown(unreadable, 65534, 65534)
        read_only.mkdir(mode=0o555)
        result = _as_nobody(unreadable / CODE_FILE)
        if "No module named 'tutor'" in result.stderr:
            pytest.skip("this checkout is closed to other users")
        assert f"{unreadable / CODE_FILE} cannot be read (permission denied)" in result.stdout, result
        assert f"chmod 600 {unreadable / CODE_FILE}" in result.stdout
        assert sorted(p.name for p in unreadable.iterdir()) == [CODE_FILE]
        result = _as_nobody(read_only / CODE_FILE)
        assert f"cannot keep the class code in {read_only / CODE_FILE}: Permission denied" in result.stdout, result
        assert list(read_only.iterdir()) == []


def _as_nobody(kept: Path) -> subprocess.CompletedProcess[str]:
    repo = Path(__file__).resolve().parents[2]
    script = (
        f"import sys; sys.path.insert(0, {str(repo)!r})\n"
        "from pathlib import Path\n"
        "from tutor.served.admission import KEPT_CODE\n"
        "from tutor.served.kept_secrets import kept_or_made\n"
        "from tutor.errors import UsageError\n"
        f"try: kept_or_made(Path({str(kept)!r}), lambda: 'WXYZ-2345', KEPT_CODE)\n"
        "except UsageError as exc: print(exc)\n"
    )
    return subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", script],
        capture_output=True, text=True, timeout=30, cwd="/",
    )


def _serve(sessions: Path) -> subprocess.Popen[str]:
    made = ("DOCKER_TUTOR_INSTRUCTOR_PASSWORD", "DOCKER_TUTOR_CLASS_CODE")
    env = {k: v for k, v in os.environ.items() if k not in made}
    return subprocess.Popen(
        [sys.executable, "-m", "tutor", "serve", "--port", str(free_port()), "--sessions", str(sessions)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True,
    )


@pytest.mark.parametrize("case", ["not UTF-8", "a folder", "a link to a file", "a dangling link", "too short"])
@pytest.mark.parametrize("name", [PASSWORD_FILE, CODE_FILE])
def test_serve_stops_at_its_start_on_a_kept_secret_it_did_not_write(tmp_path: Path, case: str, name: str) -> None:
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    REFUSED[case][0](sessions / name)
    process = _serve(sessions)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2, (out, err)
    assert f"docker-tutor: {sessions / name} " in err and REFUSED[case][1] in err and "Traceback" not in err, err
    assert MARK not in out + err and "instructor page" not in out  # nothing served, no secret shown
    assert not (tmp_path / "nowhere").exists()


def test_serve_keeps_an_empty_password_file_aside_names_it_and_starts_with_a_new_one(tmp_path: Path) -> None:
    import signal

    sessions = tmp_path / "sessions"
    sessions.mkdir()
    (sessions / PASSWORD_FILE).write_text("")
    process = _serve(sessions)
    shown = []
    try:
        assert process.stdout is not None
        while not shown or not shown[-1].lstrip().startswith("limits:"):  # the banner's last line
            shown.append(process.stdout.readline())
            assert shown[-1], shown  # serve stopped
    finally:
        process.send_signal(signal.SIGINT)
        err = process.communicate(timeout=15)[1]
    out = "".join(shown)
    (aside,) = sessions.glob(f"{PASSWORD_FILE}.corrupt-*")
    assert f"{sessions / PASSWORD_FILE} was empty; it was kept as {aside}" in err, err
    password = (sessions / PASSWORD_FILE).read_text().strip()
    assert KEPT_PASSWORD.shape.fullmatch(password) and f"password: {password} " in out, out


@pytest.mark.parametrize("case", ["a FIFO", "a device", "a folder", "huge", "not UTF-8"])
def test_a_password_file_given_that_is_not_one_is_said_never_waited_on_or_read_whole(tmp_path: Path, case: str) -> None:
    given = tmp_path / "password"
    {
        "a FIFO": lambda: os.mkfifo(given),  # before: serve waited for a writer, forever
        "a device": lambda: given.symlink_to("/dev/zero"),  # before: read until memory ran out
        "a folder": lambda: given.mkdir(),
        "huge": lambda: given.write_text("p" * 100_000),
        "not UTF-8": lambda: given.write_bytes(b"\xff\xfepassword"),
    }[case]()
    result = subprocess.run(
        [sys.executable, "-m", "tutor", "serve", "--port", str(free_port()), "--sessions", str(tmp_path / "sessions"),
         "--instructor-password-file", str(given)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2 and f"docker-tutor: cannot read the instructor password from {given}: " in result.stderr, result
    assert "Traceback" not in result.stderr
