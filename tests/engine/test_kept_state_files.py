"""The engine's own state files, broken: the owner secret (data folder) and the notes of builds in
progress (the machine's temporary folder). A broken one is kept aside, never followed, never a
traceback; the owner secret's is named, and a new secret made and kept."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tutor import locations
from tutor.engine import owner
from tutor.engine.builders import journal

BROKEN: dict[str, Callable[[Path], object]] = {
    "a folder": lambda path: path.mkdir(),
    "a link": lambda path: path.symlink_to(path.parent.parent / "elsewhere"),
    "empty": lambda path: path.write_bytes(b""),
    "not UTF-8": lambda path: path.write_bytes(b"\xff\xfe" * 32),
    "another shape": lambda path: path.write_text("not a secret\n"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_owner_secret_is_kept_aside_named_and_made_anew(case: str, tmp_path: Path) -> None:
    data = locations.data_dir()
    data.mkdir(parents=True)
    (tmp_path / "elsewhere").write_text("f" * 64 + "\n")  # a link must not lend another folder's secret
    BROKEN[case](data / "owner-secret")
    secret = owner.tag_secret()
    assert re.fullmatch(rb"[0-9a-f]{64}", secret) and secret != b"f" * 64
    assert (data / "owner-secret").read_bytes() == secret + b"\n"  # kept: the next process has the same
    assert (data / "owner-secret").stat().st_mode & 0o777 == 0o600
    (aside,) = data.glob("owner-secret.corrupt-*")
    (note,) = owner.kept_aside()
    assert f"the owner secret {data / 'owner-secret'} could not be used" in note and str(aside) in note
    assert owner.kept_aside() == []  # said once


def test_notes_of_builds_that_are_not_the_tutor_s_are_kept_aside_not_followed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    folder = tmp_path / "docker-tutor-builds"
    folder.mkdir()
    dead = {"engine": "e", "owner": "999999999-ab", "space": "s", "last": "sha256:1", "created": ["sha256:1"], "running": "",
            "since": 1.0, "volumes": []}
    (folder / "dead.json").write_text(json.dumps(dead))
    (folder / "list.json").write_text("[1, 2]")
    (folder / "wrong.json").write_text(json.dumps({**dead, "created": "sha256:1"}))
    (folder / "bytes.json").write_bytes(b"\xff\xfe")
    (folder / "folder.json").mkdir()
    (tmp_path / "outside.json").write_text(json.dumps(dead))
    (folder / "link.json").symlink_to(tmp_path / "outside.json")
    found = journal.dead_builds("e", "s", lambda pid: False)
    assert [path.name for path, _ in found] == ["dead.json"] and found[0][1] == dead
    left = sorted(os.listdir(folder))
    assert "dead.json" in left and len([n for n in left if ".json.corrupt-" in n]) == 5, left
    assert (tmp_path / "outside.json").exists()
