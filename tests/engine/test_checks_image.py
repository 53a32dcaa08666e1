"""Checks that need the built image, each proven passing and failing on a real engine."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from tests.engine.helpers import grade_all, grade_one
from tutor.engine.report import CheckResult

pytestmark = pytest.mark.docker

SERVER = 'FROM busybox\nRUN mkdir /www && echo "model ok" > /www/health\nEXPOSE 8000\nCMD ["httpd", "-f", "-p", "{bind}:8000", "-h", "/www"]\n'
TRAPS_TERM = "FROM busybox\nCMD [\"sh\", \"-c\", \"trap 'exit 0' TERM; while true; do sleep 0.1; done\"]\n"
IGNORES_TERM = 'FROM busybox\nCMD ["sleep", "600"]\n'


def both(host, tmp_path: Path, check: dict, good: dict, bad: dict, message: str) -> CheckResult:
    """The good files pass and the bad ones fail with the message; the pass is returned."""
    ok = grade_one(host, tmp_path / "good", check, good)
    assert ok.passed, ok.message
    result = grade_one(host, tmp_path / "bad", check, bad)
    assert not result.passed
    assert re.search(message, result.message, re.S), result.message
    assert result.hint
    return ok


def test_metadata(host, tmp_path: Path) -> None:
    check = {"kind": "metadata", "env": [{"key": "MODE", "value": "prod"}], "labels": {"team": "ml"},
             "exposedPorts": ["8000"], "workdir": "/app", "cmd": ["sh"], "user": "nobody", "hint": "set them"}
    good = {"Dockerfile": 'FROM busybox\nENV MODE=prod\nLABEL team=ml\nEXPOSE 8000\nWORKDIR /app\nUSER nobody\nCMD ["sh"]\n'}
    bad = {"Dockerfile": 'FROM busybox\nENV MODE=dev\nCMD ["sh"]\n'}
    both(host, tmp_path, check, good, bad, "ENV MODE is 'dev'.*LABEL team is not set.*port 8000.*WORKDIR.*USER")


def test_size_and_layers(host, tmp_path: Path) -> None:
    check = {"kind": "size", "max_mb": 5, "max_layers": 3}  # busybox itself has 1-2 layers
    good = {"Dockerfile": "FROM busybox\nRUN echo a > /a && echo b > /b\n"}
    bad = {"Dockerfile": "FROM busybox\nRUN head -c 6000000 /dev/zero > /big\n"}
    both(host, tmp_path, check, good, bad, r"the image is \d+\.\d MB; the budget is 5 MB")
    layers = grade_one(host, tmp_path / "layers", check, {"Dockerfile": "FROM busybox\nRUN echo a > /a\nRUN echo b > /b\nRUN echo c > /c\n"})
    assert not layers.passed and "at most 3 are allowed" in layers.message


def test_history_finds_a_secret_in_a_build_step(host, tmp_path: Path) -> None:
    check = {"kind": "history", "absent": ["canary-7f3a"]}
    good = {"Dockerfile": "FROM busybox\nARG MODE=fast\nRUN echo $MODE > /mode\n"}
    bad = {"Dockerfile": "FROM busybox\nARG TOKEN=canary-7f3a\nRUN echo using $TOKEN > /dev/null\n"}
    both(host, tmp_path, check, good, bad, "docker history shows “canary-7f3a”")


def test_file_exists_permissions_owner_contents(host, tmp_path: Path) -> None:
    check = {"kind": "file", "path": "/app/model.txt", "permissions": "-rw-r-----", "uid": 1000,
             "expectedContents": ["weights"], "excludedContents": ["TODO"]}
    good = {"Dockerfile": "FROM busybox\nCOPY --chown=1000:1000 model.txt /app/model.txt\nRUN chmod 640 /app/model.txt\n",
            "model.txt": "weights v1\n"}
    bad = {"Dockerfile": "FROM busybox\nCOPY model.txt /app/model.txt\n", "model.txt": "weights v1\n"}
    both(host, tmp_path, check, good, bad, "permissions -rw-r--r--, expected -rw-r-----")
    absent = grade_one(host, tmp_path / "absent", {"kind": "file", "path": "/app/.env", "shouldExist": False},
                       {"Dockerfile": "FROM busybox\nCOPY . /app\n", ".env": "TOKEN=1"})
    assert not absent.passed and "should not be" in absent.message


def test_a_big_file_is_judged_from_its_start_at_once(host, tmp_path: Path) -> None:
    """Only a file's first megabytes are read: the rest of a 100 MB file is never sent. Left
    unread in the open response, it held the container (and every image removal on the engine) for
    the client's minute-long timeout."""
    dockerfile = "FROM busybox\nRUN yes weights | head -c 100000000 > /big\n"
    checks = [{"kind": "file", "id": "gone", "path": "/big", "shouldExist": False},
              {"kind": "file", "id": "read", "path": "/big", "expectedContents": ["^weights$"]}]
    report = grade_all(host, tmp_path / "big", checks, {"Dockerfile": dockerfile})
    gone, read = report.checks
    assert not gone.passed and "should not be" in gone.message
    assert read.passed, read.message
    assert gone.seconds < 20 and read.seconds < 20, (gone.seconds, read.seconds)


def test_command_exit_code_output_env_and_timeout(host, tmp_path: Path) -> None:
    check = {"kind": "command", "command": "sh", "args": ["-c", "echo mode=$MODE; exit 3"], "exitCode": 3,
             "envVars": [{"key": "MODE", "value": "eval"}], "expectedOutput": ["mode=eval"], "excludedOutput": ["Traceback"]}
    ok = grade_one(host, tmp_path / "ok", check, {"Dockerfile": "FROM busybox\n"})
    assert ok.passed, ok.message
    wrong_exit = grade_one(host, tmp_path / "exit", {**check, "exitCode": 0}, {"Dockerfile": "FROM busybox\n"})
    assert not wrong_exit.passed and "exited with code 3, expected 0" in wrong_exit.message
    default_cmd = grade_one(host, tmp_path / "cmd", {"kind": "command", "expectedOutput": ["^hello$"]},
                            {"Dockerfile": 'FROM busybox\nCMD ["echo", "bye"]\n'})
    assert not default_cmd.passed and "bye" in default_cmd.message
    hangs = grade_one(host, tmp_path / "hang", {"kind": "command", "timeout": 2}, {"Dockerfile": 'FROM busybox\nCMD ["sleep", "600"]\n'})
    assert not hangs.passed and "still running after 2 s" in hangs.message


def test_http_answers_and_names_the_loopback_mistake(host, tmp_path: Path) -> None:
    check = {"kind": "http", "path": "/health", "expected_body": ["model ok"], "timeout": 8}
    good = {"Dockerfile": SERVER.format(bind="0.0.0.0")}
    bad = {"Dockerfile": SERVER.format(bind="127.0.0.1")}
    both(host, tmp_path, check, good, bad, r"listens on 127\.0\.0\.1:8000.*0\.0\.0\.0")
    missing = grade_one(host, tmp_path / "404", {**check, "path": "/predict"}, good)
    assert not missing.passed and "answered 404, expected 200" in missing.message


def test_health_becomes_healthy_or_unhealthy(host, tmp_path: Path) -> None:
    check = {"kind": "health", "timeout": 20}
    good = {"Dockerfile": 'FROM busybox\nHEALTHCHECK --interval=1s --retries=1 CMD test -f /ready\nCMD ["sh", "-c", "touch /ready; sleep 600"]\n'}
    bad = {"Dockerfile": 'FROM busybox\nHEALTHCHECK --interval=1s --retries=1 CMD test -f /ready\nCMD ["sleep", "600"]\n'}
    both(host, tmp_path, check, good, bad, "unhealthy")


def test_stop_is_quick_only_when_pid1_handles_sigterm(host, tmp_path: Path) -> None:
    check = {"kind": "stop", "max_seconds": 3, "grace": 1, "ready_seconds": 0.5}
    both(host, tmp_path, check, {"Dockerfile": TRAPS_TERM}, {"Dockerfile": IGNORES_TERM}, "137")


def test_user_is_not_root(host, tmp_path: Path) -> None:
    both(host, tmp_path, {"kind": "user"}, {"Dockerfile": "FROM busybox\nUSER 1000\n"},
         {"Dockerfile": "FROM busybox\nUSER root\n"}, "runs as root")


def test_cache_after_a_source_edit(host, tmp_path: Path) -> None:
    check = {"kind": "cache", "change": "train.py", "cached": ["requirements"], "rebuilt": ["COPY train.py"]}
    files = {"requirements.txt": "numpy==1.26.4\n", "train.py": "print('train')\n"}
    good = {**files, "Dockerfile": "FROM busybox\nCOPY requirements.txt .\nRUN cat requirements.txt > /deps\nCOPY train.py .\n"}
    bad = {**files, "Dockerfile": "FROM busybox\nCOPY train.py .\nCOPY requirements.txt .\nRUN cat requirements.txt > /deps\n"}
    ok = both(host, tmp_path, check, good, bad, "ran again instead of coming from cache")
    # A pass reads as one: the steps before the edit reused, only those after it ran again.
    assert "were reused from the cache and only the" in ok.message and "rebuilt" not in ok.message, ok.message


def test_independent_checks_all_report(host, tmp_path: Path) -> None:
    report = grade_all(host, tmp_path / "many", [
        {"kind": "user", "id": "user"},
        {"kind": "command", "id": "echo", "command": "echo", "args": ["hi"], "expectedOutput": ["hi"]},
        {"kind": "dockerfile.exec-form", "id": "exec"},
    ], {"Dockerfile": 'FROM busybox\nCMD ["sh"]\n'})
    assert [c.id for c in report.checks] == ["user", "echo", "exec"]
    assert [c.passed for c in report.checks] == [False, True, True]


def test_docker_run_command_is_validated_and_run_in_the_sandbox(host, tmp_path: Path) -> None:
    check = {"kind": "docker-run", "flags": ["--rm"], "env": {"EPOCHS": "3"}, "expectedOutput": ["epochs=3"]}
    dockerfile = 'FROM busybox\nCMD ["sh", "-c", "echo epochs=$EPOCHS"]\n'
    good = {"Dockerfile": dockerfile, "run.sh": "docker run --rm -e EPOCHS=3 trainer\n"}
    bad = {"Dockerfile": dockerfile, "run.sh": "docker run -e EPOCHS=3 trainer\n"}
    both(host, tmp_path, check, good, bad, "does not use --rm")
    wrong_env = grade_one(host, tmp_path / "env", check, {**good, "run.sh": "docker run --rm -e EPOCHS=5 trainer\n"})
    assert not wrong_env.passed and "EPOCHS is set to '5', expected '3'" in wrong_env.message
    escape = grade_one(host, tmp_path / "esc", check, {**good, "run.sh": "docker run --rm --privileged -e EPOCHS=3 trainer\n"})
    assert not escape.passed and "--privileged is not allowed" in escape.message


def test_unchanged_folder_is_not_rebuilt_and_a_change_is_noticed(host, tmp_path: Path) -> None:
    from tests.engine.helpers import context, exercise
    from tutor.engine.grader import Grading, grade
    from tutor.engine.verdicts import VerdictStore

    store = VerdictStore(tmp_path / "verdicts")
    folder = context(tmp_path / "ctx", {"Dockerfile": 'FROM busybox\nCOPY msg /msg\nCMD ["cat", "/msg"]\n', "msg": "hello\n"})
    passing = exercise([{"kind": "command", "expectedOutput": ["hello"]}])
    first = grade(passing, folder, lambda: host, grading=Grading(verdicts=store))
    assert first.passed and not first.build.reused
    [record] = (tmp_path / "verdicts").glob("*.json")
    checked_at = record.stat().st_mtime_ns
    again = grade(passing, folder, lambda: host, grading=Grading(verdicts=store))
    assert again.passed and again.build.reused and again.build.seconds == 0.0
    assert record.stat().st_mtime_ns > checked_at  # counts as the folder's latest check
    # A verdict holds for the builder that built: asked for the other one, the folder is built again.
    other = "classic" if host.builder_choice().name == "buildkit" else "buildkit"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCKER_TUTOR_BUILDER", other)
        rebuilt = grade(passing, folder, lambda: host, grading=Grading(verdicts=store))
    assert rebuilt.passed and not rebuilt.build.reused and rebuilt.build.builder == other
    (folder / "msg").write_text("bye\n")
    changed = grade(passing, folder, lambda: host, grading=Grading(verdicts=store))
    assert not changed.passed and not changed.build.reused
    # A failing verdict is never reused: the checks run again on the same image.
    failing_again = grade(passing, folder, lambda: host, grading=Grading(verdicts=store))
    assert failing_again.build.reused and not failing_again.passed and "bye" in failing_again.checks[0].message
    from tutor.engine.folder_images import image_tag

    host.remove_image(image_tag(passing, folder))


def test_layers_pair_with_steps_and_show_what_came_from_cache(host, tmp_path: Path, builder: str) -> None:
    from tests.engine.helpers import context, exercise
    from tutor.engine.folder_images import image_tag
    from tutor.engine.grader import grade

    files = {"Dockerfile": 'FROM busybox\nCOPY msg /msg\nRUN cat /msg > /copy\nCMD ["cat", "/copy"]\n', "msg": f"{time.time_ns()}\n"}
    checked = exercise([{"kind": "user"}])
    folders = [context(tmp_path / name, files) for name in ("a", "b")]
    try:
        first = grade(checked, folders[0], lambda: host)
        again = grade(checked, folders[1], lambda: host)  # another folder, same files: every step cached
    finally:
        for folder in folders:
            host.remove_image(image_tag(checked, folder))
    steps = ["COPY msg /msg", "RUN cat /msg > /copy", 'CMD ["cat" "/copy"]']
    for report, cached in ((first, False), (again, True)):
        # BuildKit's history writes CMD as Go prints a list (no commas); the classic builder keeps the text.
        ours = [layer for layer in report.build.layers if layer.instruction.replace(",", "") in steps]
        ours = [replace(layer, instruction=layer.instruction.replace(",", "")) for layer in ours]
        assert [layer.instruction for layer in ours] == steps
        assert all(layer.cached is cached for layer in ours), ours
        # The tutor's own label is neither a step, a layer nor a line of the learner's log.
        if builder == "classic":
            assert report.build.steps_total == 4 and report.build.steps_cached == (3 if cached else 0)
        else:  # BuildKit makes no step of CMD; its FROM of a local image may count as cached
            assert report.build.steps_total == 3
            assert (report.build.steps_cached >= 2) if cached else (report.build.steps_cached <= 1)
        assert not any("org.docker-tutor.exercise" in layer.instruction for layer in report.build.layers)
        assert not any("org.docker-tutor.exercise" in line for line in report.build.log_tail)


def test_command_args_alone_replace_cmd_and_keep_the_entrypoint(host, tmp_path: Path) -> None:
    files = {"Dockerfile": 'FROM busybox\nENTRYPOINT ["echo", "hello"]\nCMD ["world"]\n'}
    result = grade_one(host, tmp_path / "a", {"kind": "command", "args": ["there"], "expectedOutput": ["^hello there$"]}, files)
    assert result.passed, result.message


def test_cache_check_gives_the_same_verdict_every_time_on_a_multi_stage_build(host, tmp_path: Path) -> None:
    from tests.engine.helpers import context, exercise, images_made
    from tutor.engine.folder_images import image_tag
    from tutor.engine.grader import grade

    check = exercise([{"kind": "cache", "change": "train.py", "cached": ["requirements"]}])
    nonce = time.time_ns()
    folder = context(tmp_path / "ctx", {
        "requirements.txt": f"numpy=={nonce}\n", "train.py": "print(1)\n",
        # The nonce in each stage's last step: the images this test made are those whose history names it.
        "Dockerfile": f"FROM busybox AS build\nCOPY train.py .\nCOPY requirements.txt .\nRUN cat requirements.txt > /deps # {nonce}\n"
                      f"FROM busybox\nCOPY --from=build /deps /deps\nLABEL nonce={nonce}\n",
    })
    before = {image["Id"] for image in host.api.images(all=True)}
    try:
        verdicts = [grade(check, folder, lambda: host).checks[0] for _ in range(2)]
    finally:
        host.remove_image(image_tag(check, folder))
    assert [v.passed for v in verdicts] == [False, False], [v.message for v in verdicts]
    time.sleep(0.5)
    left = images_made(host, str(nonce), before)
    assert len(left) <= 3, left  # at most the builder stage's layers stay, as the next check's cache; rebuilds leave none


def test_only_the_most_recently_checked_folders_of_a_learner_keep_their_image(host, tmp_path: Path) -> None:
    from tests.engine.helpers import context, exercise
    from tutor.engine.folder_images import KEPT_FOLDERS_PER_EXERCISE, image_tag
    from tutor.engine.folder_lock import folder_lock
    from tutor.engine.grader import Grading, grade
    from tutor.engine.verdicts import VerdictStore

    checked = exercise([{"kind": "user"}], exercise_id=f"99-keep-{time.time_ns()}")

    def folder(name: str) -> Path:
        return context(tmp_path / name, {"Dockerfile": f"FROM busybox\nRUN echo {name} > /n\n"})

    # Another learner on the same engine, with a data folder of their own, checked first.
    theirs = folder("theirs")
    grade(checked, theirs, lambda: host, grading=Grading(verdicts=VerdictStore(tmp_path / "their-data")))
    mine = VerdictStore(tmp_path / "my-data")
    folders = [folder(f"f{index}") for index in range(KEPT_FOLDERS_PER_EXERCISE + 2)]
    try:
        for path in folders[:-1]:
            grade(checked, path, lambda: host, grading=Grading(verdicts=mine))
        # folders[1] is next to go, but another tutor is checking it right now: its image stays until then.
        with folder_lock(image_tag(checked, folders[1]), folders[1], print, threading.Event()):
            grade(checked, folders[-1], lambda: host, grading=Grading(verdicts=mine))
            assert host.image_attrs(image_tag(checked, folders[1])) is not None
        grade(checked, folders[0], lambda: host, grading=Grading(verdicts=mine))  # checked again: among the most recent once more
        kept = {tag for image in host.api.images(filters={"label": f"org.docker-tutor.exercise={checked.id}"}) for tag in image["RepoTags"]}
        recent = [folders[0], *folders[-(KEPT_FOLDERS_PER_EXERCISE - 1):]]
        assert kept == {image_tag(checked, path) for path in [theirs, *recent]}
    finally:
        for image in host.api.images(filters={"label": f"org.docker-tutor.exercise={checked.id}"}):
            for tag in image["RepoTags"]:
                host.remove_image(tag)
