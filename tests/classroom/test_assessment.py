"""Assessment mode: hidden checks run only in `grade`, points make a score, `pack release` gives learners no answers."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.classroom.helpers import run
from tests.content.test_lint_content import EXERCISE_HEADER, MISTAKES_TOML, make_pack
from tutor.content.loader import load_curriculum

ASSESSED_TOML = EXERCISE_HEADER + '''
[[checks]]
id = "exec-form"
title = "CMD in exec form"
kind = "dockerfile.exec-form"
instructions = ["CMD"]
points = 2

# The instructor's own check: learners never see it.
[[checks]]
id = "greeting-file"
title = "The greeting is in the image"
kind = "file"
path = "/greeting.txt"
hidden = true
points = 3
[checks.note]
why = "a sub-table of a hidden check goes with it"

[[checks]]
id = "says-hello"
kind = "command"
expectedOutput = ["^hello$"]
'''


def _pack(root: Path) -> Path:
    return make_pack(root, **{"exercises/50-say-hello/exercise.toml": ASSESSED_TOML.replace("[checks.note]\nwhy = \"a sub-table of a hidden check goes with it\"\n", "")})


def test_a_released_pack_has_no_solutions_no_hidden_checks_and_still_loads(tmp_path: Path) -> None:
    pack = _pack(tmp_path)
    out = tmp_path / "learners"
    result = run("pack", "release", str(pack), str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 hidden check cut" in result.stdout
    exercise = out / "exercises/50-say-hello"
    assert not (exercise / "solution").exists() and not (exercise / "mistakes.toml").exists()
    assert (exercise / "starter/Dockerfile").is_file()
    released = (exercise / "exercise.toml").read_text()
    assert "greeting-file" not in released and "/greeting.txt" not in released
    assert "# The instructor's own check" in released  # the author's comments stay
    assert [c["id"] for c in tomllib.loads(released)["checks"]] == ["exec-form", "says-hello"]
    listing = run("--content-only", "--content", str(out), "list", "--format", "json")
    assert listing.returncode == 0, listing.stderr
    assert [row["id"] for row in json.loads(listing.stdout)] == ["50-say-hello"]
    again = run("pack", "release", str(pack), str(out))
    assert again.returncode == 2 and "is not an empty folder" in again.stderr


def test_hidden_and_points_are_validated(tmp_path: Path) -> None:
    toml = ASSESSED_TOML.replace("points = 3", 'points = "3"').replace("hidden = true", 'hidden = "yes"')
    result = run("lint-content", str(make_pack(tmp_path, **{"exercises/50-say-hello/exercise.toml": toml})), "--no-build")
    assert result.returncode == 2
    assert "exercise.toml: checks[1].points: must be a whole number from 0 to 1000" in result.stdout
    assert "exercise.toml: checks[1].hidden: must be true or false" in result.stdout


@pytest.mark.docker
def test_hidden_checks_run_in_grade_only_and_scores_are_in_every_format(tmp_path: Path) -> None:
    pack = _pack(tmp_path)
    content = ("--content-only", "--content", str(pack))
    submissions = tmp_path / "class"
    # Full marks; a Dockerfile that passes what learners see but not the hidden check; shell form.
    for learner, dockerfile in {
        "ann": 'FROM busybox:latest\nCOPY greeting.txt /\nCMD ["echo", "hello"]\n',
        "ben": 'FROM busybox:latest\nCMD ["echo", "hello"]\n',
        "cy": "FROM busybox:latest\nCMD echo hello\n",
    }.items():
        (submissions / learner).mkdir(parents=True)
        (submissions / learner / "Dockerfile").write_text(dockerfile)
        (submissions / learner / "greeting.txt").write_text("hello\n")
    checked = run(*content, "check", "50-say-hello", "--dir", str(submissions / "ben"), "--format", "json")
    assert checked.returncode == 0, checked.stdout  # a learner's check never runs the hidden one
    assert "greeting-file" not in checked.stdout

    graded = run(*content, "grade", "50-say-hello", str(submissions), "--format", "json")
    data = {s["learner"]: s for s in json.loads(graded.stdout)["submissions"]}
    assert {name: (s["score"], s["max_score"]) for name, s in data.items()} == {"ann": (6, 6), "ben": (3, 6), "cy": (1, 6)}
    assert data["ben"]["failing_checks"] == ["greeting-file"]

    table = run(*content, "grade", "50-say-hello", str(submissions)).stdout
    assert "3/6" in table and "The greeting is in the image (greeting-file):" in table
    rows = {r["learner"]: r for r in csv.DictReader(io.StringIO(run(*content, "grade", "50-say-hello", str(submissions), "--format", "csv").stdout))}
    assert (rows["cy"]["score"], rows["cy"]["max_score"]) == ("1", "6")
    junit = run(*content, "grade", "50-say-hello", str(submissions), "--format", "junit").stdout
    suites = {s.get("name"): s for s in ET.fromstring(junit.split("\n", 1)[1])}
    assert suites["ben"].find("properties/property[@name='score']").get("value") == "3"
    failure = suites["cy"].find("testcase[@name='CMD in exec form']/failure")
    assert failure is not None and "shell form" in failure.get("message", "")


NONCE_TOML = '''
title = "Greet by name"
lesson = "50-hello"
task = "Greet whoever NAME names."
files = ["Dockerfile"]

[[checks]]
id = "greets-the-name"
kind = "command"
envVars = { NAME = "{nonce}" }
expectedOutput = ["^hello {nonce}$"]
'''


@pytest.mark.docker
def test_an_output_naming_a_nonce_cannot_be_echoed_from_the_image(tmp_path: Path) -> None:
    pack = make_pack(
        tmp_path,
        **{
            "exercises/50-say-hello/exercise.toml": NONCE_TOML,
            "exercises/50-say-hello/mistakes.toml": MISTAKES_TOML.replace('fails = ["exec-form"]', 'fails = ["greets-the-name"]')
            .replace('"shell form"', '"hello [0-9a-f]{12}"')  # the learner is told the value it had to print
            .replace("CMD echo hello", 'CMD [\\"echo\\", \\"hello {nonce}\\"]'),
            "exercises/50-say-hello/solution/Dockerfile": 'FROM busybox:latest\nCMD ["sh", "-c", "echo hello $NAME"]\n',
        },
    )
    result = run("--content-only", "lint-content", str(pack))  # as it is graded below: the real program passes; the echo (the mistake) fails
    assert result.returncode == 0, result.stdout + result.stderr
    folder = tmp_path / "echo"
    folder.mkdir()
    (folder / "Dockerfile").write_text('FROM busybox:latest\nCMD ["echo", "hello {nonce}"]\n')
    checked = run("--content-only", "--content", str(pack), "check", "50-say-hello", "--dir", str(folder))
    assert checked.returncode == 1 and "hello {nonce}" in checked.stdout  # what the echo printed, failed


def test_a_released_pack_leaves_out_its_history_and_everything_the_loader_does_not_read(tmp_path: Path) -> None:
    pack = _pack(tmp_path)
    subprocess.run(["git", "init", "-q", str(pack)], check=True)
    subprocess.run(["git", "-C", str(pack), "add", "-A"], check=True)
    subprocess.run(
        ["git", "-C", str(pack), "-c", "user.name=a", "-c", "user.email=a@example.org", "commit", "-qm", "pack"], check=True
    )
    (pack / "notes-for-instructors.md").write_text("the answer is CMD [\"echo\", \"hello\"]\n")
    out = tmp_path / "learners"
    result = run("pack", "release", str(pack), str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(entry.name for entry in out.iterdir()) == sorted(["RELEASED.md", "exercises", "lessons"] + (["rules.toml"] if (pack / "rules.toml").exists() else []))
    assert not list(out.rglob(".git")), "a repository's history holds every solution"
    assert not any("greeting-file" in path.read_text(errors="replace") for path in out.rglob("*") if path.is_file())


def test_the_released_curriculum_loads_and_lints(tmp_path: Path) -> None:
    out = tmp_path / "learners"
    root = Path(__file__).resolve().parents[2]
    result = run("pack", "release", str(root), str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    assert not list(out.rglob("solution"))
    listing = run("--content-only", "--content", str(out), "list")
    assert listing.returncode == 0, listing.stdout + listing.stderr
    lint = run("lint-content", str(out), "--no-build")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    # A learner's own checks are the instructor's minus the hidden ones: the house rules that a
    # solution calls for still apply in a copy that has no solution to judge them on.
    original = load_curriculum([root])
    learners = load_curriculum([out])
    for exercise in original.exercises:
        copy = learners.exercise(exercise.id)
        assert copy is not None
        assert [c.id for c in copy.checks] == [c.id for c in exercise.checks if not c.hidden], exercise.id
    assert any(rule.solution_matches for e in learners.exercises for rule in e.rules)
