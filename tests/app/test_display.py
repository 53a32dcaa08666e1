"""Text conventions shared by the screens."""

from __future__ import annotations

from pathlib import Path

from tui_support import FIXTURE_CONTENT

from tutor.app.display import friendly_path, human_size, status_mark
from tutor.app.widgets.solution_diff import solution_diff
from tutor.content.loader import load_curriculum


def test_human_size_uses_docker_units() -> None:
    assert [human_size(n) for n in (0, 663, 1_500, 190_846_879, 2_300_000_000)] == [
        "0 B",
        "663 B",
        "1.5 kB",
        "190.8 MB",
        "2.3 GB",
    ]


def test_paths_under_home_are_shown_with_a_tilde(home: Path) -> None:
    assert friendly_path(home / "docker-tutor" / "04-first-dockerfile") == "~/docker-tutor/04-first-dockerfile"
    assert friendly_path(Path("/srv/elsewhere")) == "/srv/elsewhere"


def test_status_marks() -> None:
    assert [status_mark(s) for s in ("passed", "failed", "not started")] == ["✔", "✘", "·"]


def test_solution_diff_is_empty_when_the_files_match(tmp_path: Path) -> None:
    exercise = load_curriculum([FIXTURE_CONTENT]).exercises[0]
    (tmp_path / "Dockerfile").write_text((exercise.solution_dir / "Dockerfile").read_text())
    assert solution_diff(exercise, tmp_path) == ""
    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    assert '+CMD ["echo", "hello from a box"]' in solution_diff(exercise, tmp_path)
