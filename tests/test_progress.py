"""Progress survives concurrent writers and corrupt files."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from tutor.engine.report import BuildResult, CheckResult, Report
from tutor.progress import Progress


def _report(passed: bool) -> Report:
    check = CheckResult("c", "user", "t", passed, "m")
    return Report("04-first-dockerfile", passed, BuildResult(True, 0.1, []), [check], 0.2)


def _record_many(path: str, count: int) -> None:
    progress = Progress(Path(path))
    for _ in range(count):
        progress.record_report(_report(False))


def test_two_processes_lose_no_update(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    workers = [multiprocessing.Process(target=_record_many, args=(str(path), 40)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert Progress(path).load()["exercises"]["04-first-dockerfile"]["attempts"] == 80


def test_passed_stays_passed_and_failing_checks_are_kept(tmp_path: Path) -> None:
    progress = Progress(tmp_path / "p.json")
    progress.record_report(_report(True))
    data = progress.record_report(_report(False))
    entry = data["exercises"]["04-first-dockerfile"]
    assert entry["status"] == "passed" and entry["failing_checks"] == ["c"] and entry["attempts"] == 2


def test_corrupt_file_is_kept_aside_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    path.write_text("{not json")
    progress = Progress(path)
    assert progress.load()["exercises"] == {}
    assert progress.warnings and "kept as" in progress.warnings[0]
    assert list(tmp_path.glob("progress.json.corrupt-*"))


def test_full_disk_keeps_the_old_file_and_says_so(tmp_path: Path, monkeypatch) -> None:
    import errno
    import os

    import pytest

    from tutor.progress import ProgressNotSaved

    path = tmp_path / "progress.json"
    progress = Progress(path)
    progress.record_report(_report(True))
    before = path.read_text()

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(ProgressNotSaved, match="No space left on device"):
        progress.record_report(_report(False))
    assert path.read_text() == before
    assert not list(tmp_path.glob(".progress-*"))  # no temp file left behind


def test_checking_unchanged_files_again_is_not_another_attempt(tmp_path: Path) -> None:
    from dataclasses import replace

    progress = Progress(tmp_path / "p.json")
    first = _report(False)
    progress.record_report(first)
    again = replace(first, build=replace(first.build, reused=True))
    entry = progress.record_report(again)["exercises"]["04-first-dockerfile"]
    assert entry["attempts"] == 1
    # After a reset the same files checked again count once: the learner did check them.
    progress.reset("04-first-dockerfile")
    assert progress.record_report(again)["exercises"]["04-first-dockerfile"]["attempts"] == 1
