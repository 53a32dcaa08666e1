"""Two tutor processes checking one folder at once: the second waits and says so, both report the
true grade (whichever builder each uses), and nothing either built is left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.content.test_lint_content import make_pack
from tests.engine.helpers import context
from tests.engine_cleanup import leftovers, owners_under, remove
from tutor import locations
from tutor.engine.dockerhost import EXERCISE_LABEL, SESSION_LABEL
from tutor.engine.folder_lock import being_graded, folder_lock
from tutor.engine.owner import OWNER_LABEL

WAITS = "this check waits until it is done"


def test_a_second_grading_of_the_folder_waits_says_so_and_can_be_cancelled(tmp_path: Path) -> None:
    said: list[str] = []
    holding, release = threading.Event(), threading.Event()

    def first() -> None:
        with folder_lock("docker-tutor/x:abc", tmp_path, said.append, threading.Event()) as ours:
            assert ours
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=first)
    thread.start()
    assert holding.wait(10)
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    with folder_lock("docker-tutor/x:abc", tmp_path, said.append, cancel) as ours:
        assert not ours  # cancelled while it waited: nothing may be done
    assert said == [f"another docker-tutor (process {os.getpid()}) is checking {tmp_path}; {WAITS}"], said
    with folder_lock("docker-tutor/x:other-folder", tmp_path, said.append, threading.Event()) as ours:
        assert ours and len(said) == 1  # another folder's lock is another file
    started = time.monotonic()
    threading.Timer(0.5, release.set).start()
    with folder_lock("docker-tutor/x:abc", tmp_path, said.append, threading.Event()) as ours:
        assert ours and time.monotonic() - started >= 0.4  # it waited for the first to let go
    thread.join(10)


def test_a_lock_file_the_tutor_did_not_make_is_kept_aside_and_named(tmp_path: Path) -> None:
    said: list[str] = []
    with folder_lock("docker-tutor/x:abc", tmp_path, said.append, threading.Event()):
        pass
    (lock,) = (locations.data_dir() / "locks").iterdir()
    lock.unlink()
    lock.mkdir()  # a folder where the lock file goes
    with folder_lock("docker-tutor/x:abc", tmp_path, said.append, threading.Event()) as ours:
        assert ours
    (aside,) = lock.parent.glob(f"{lock.name}.corrupt-*")
    assert aside.is_dir() and lock.is_file() and said == [f"the lock file {lock} was not one the tutor makes (Is a directory); it was kept as {aside}"]


def _held() -> bool:
    """A lock file with its holder's pid in it: a grading of the folder is under way."""
    locks = locations.data_dir() / "locks"
    return locks.is_dir() and any(lock.read_text().strip() for lock in locks.glob("*.lock"))


def _check(pack: Path, folder: Path, builder: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tutor", "--content-only", "--content", str(pack), "--builder", builder,
         "check", "50-say-hello", "--dir", str(folder)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


@pytest.mark.docker
@pytest.mark.parametrize("builders", [("classic", "buildkit"), ("buildkit", "buildkit")])
def test_two_checks_of_one_folder_at_once_both_report_the_true_grade_and_leave_nothing(
    tmp_path: Path, host: Any, builders: tuple[str, str]
) -> None:
    pack = make_pack(tmp_path)
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "greeting.txt").write_text("hello\n")
    # A step that takes a moment, so the second check starts while the first builds; a nonce, so
    # neither build is served from another test's cache.
    nonce = f"{time.time_ns()}"
    (folder / "Dockerfile").write_text(
        f'FROM busybox:latest\nCOPY greeting.txt /\nRUN sleep 2 && echo {nonce} > /nonce\nCMD ["echo", "hello"]\n'
    )
    first = _check(pack, folder, builders[0])
    deadline = time.monotonic() + 120
    while not _held():  # the first holds the folder's lock: the second starts while it checks
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()
        time.sleep(0.05)
    second = _check(pack, folder, builders[1])
    results = [(process.wait(300), *process.communicate()) for process in (first, second)]
    for code, out, err in results:
        assert code == 0 and "50-say-hello: passed" in out and "Traceback" not in err, (code, out, err)
    assert f"is checking {folder}; {WAITS}" in results[1][2], results[1][2]
    found = leftovers(host.api, owners_under(tmp_path))
    try:
        # The folder's one image, kept as its cache; no other image of either check, tagged or not.
        assert len(found["images"]) == 1 and found["images"][0].startswith("docker-tutor/50-say-hello:"), found
        assert not found["containers"] and not found["volumes"] and not found["networks"], found
    finally:
        remove(host.api, found)


def test_a_file_where_the_folder_of_locks_goes_is_kept_aside_and_named(tmp_path: Path) -> None:
    locks = locations.data_dir() / "locks"
    locks.parent.mkdir(parents=True)
    locks.write_text("not a folder")
    said: list[str] = []
    with folder_lock("docker-tutor/x:abc", tmp_path, said.append, threading.Event()) as ours:
        assert ours and locks.is_dir()
    (aside,) = locks.parent.glob("locks.corrupt-*")
    assert aside.read_text() == "not a folder" and said == [
        f"the folder of locks {locks} was not one the tutor makes (it is not a folder); it was kept as {aside}"
    ]


def test_a_folder_being_graded_is_known_so_its_image_is_not_evicted_meanwhile(tmp_path: Path) -> None:
    """FolderImages keeps the images of an exercise's last few folders: an older folder's image goes
    only when no tutor is checking that folder at the moment."""
    assert not being_graded("docker-tutor/x:abc")  # no lock file yet
    with folder_lock("docker-tutor/x:abc", tmp_path, print, threading.Event()):
        assert being_graded("docker-tutor/x:abc") and not being_graded("docker-tutor/x:other")
    assert not being_graded("docker-tutor/x:abc")


@pytest.mark.docker
def test_clean_while_a_check_runs_leaves_that_check_alone_and_cleans_after(tmp_path: Path, host: Any) -> None:
    pack = make_pack(tmp_path)
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "greeting.txt").write_text("hello\n")
    (folder / "Dockerfile").write_text(f'FROM busybox:latest\nCOPY greeting.txt /\nRUN echo {time.time_ns()} > /n\nCMD ["sh", "-c", "sleep 4; exec echo hello"]\n')
    check = _check(pack, folder, "buildkit")
    owners = _owners_once_a_check_runs(host, tmp_path, check)
    clean = subprocess.run([sys.executable, "-m", "tutor", "clean"], capture_output=True, text=True, timeout=120)
    assert clean.returncode == 0 and "removed 0 containers and 0 images" in clean.stdout, clean.stdout + clean.stderr
    code, out, err = check.wait(120), *check.communicate()
    assert code == 0 and "50-say-hello: passed" in out, (out, err)
    clean = subprocess.run([sys.executable, "-m", "tutor", "clean"], capture_output=True, text=True, timeout=120)
    assert "removed 0 containers and 1 image" in clean.stdout, clean.stdout  # the folder's image, once the check is over
    assert leftovers(host.api, owners) == {"containers": [], "networks": [], "volumes": [], "images": []}


def _owners_once_a_check_runs(host: Any, tmp_path: Path, tutor: subprocess.Popen[str]) -> set[str]:
    """The owners of the test's data folders, once `tutor` runs a container from a learner's image: a
    check under way (a build's step containers carry no session label; the helpers run base images)."""
    owners: set[str] = set()
    deadline = time.monotonic() + 120
    while True:
        owners = owners or owners_under(tmp_path)
        for container in host.api.containers(filters={"label": [OWNER_LABEL, SESSION_LABEL]}):
            image = host.image_attrs(container["ImageID"]) or {}
            if container["Labels"].get(OWNER_LABEL) in owners and EXERCISE_LABEL in ((image.get("Config") or {}).get("Labels") or {}):
                return owners
        assert tutor.poll() is None and time.monotonic() < deadline, tutor.communicate()
        time.sleep(0.1)


@pytest.mark.docker
def test_clean_while_a_class_is_graded_leaves_the_images_it_checks_and_every_learner_passes(tmp_path: Path, host: Any) -> None:
    """`grade` tags each learner's image with a tag of that grading's own (folder_images.run_tag),
    while the folder's lock is held under the folder's tag: `clean` must know both as graded."""
    pack = make_pack(tmp_path)
    nonce = time.time_ns()
    for learner in ("ann", "bob"):
        context(tmp_path / "class" / learner, {
            "greeting.txt": "hello\n",
            "Dockerfile": f'FROM busybox:latest\nCOPY greeting.txt /\nRUN echo {nonce} > /n\nCMD ["sh", "-c", "sleep 4; exec echo hello"]\n',
        })
    grading = subprocess.Popen(
        [sys.executable, "-m", "tutor", "--content-only", "--content", str(pack), "grade", "50-say-hello", str(tmp_path / "class"), "--jobs", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    owners: set[str] = set()
    try:
        owners = _owners_once_a_check_runs(host, tmp_path, grading)
        clean = subprocess.run([sys.executable, "-m", "tutor", "clean"], capture_output=True, text=True, timeout=120)
        assert clean.returncode == 0 and "removed 0 containers and 0 images" in clean.stdout, clean.stdout + clean.stderr
        code, out, err = grading.wait(120), *grading.communicate()
        assert code == 0, (out, err)  # every learner passed
    finally:
        if grading.poll() is None:
            grading.send_signal(signal.SIGINT)  # as Ctrl-C: the grade removes what it made
            grading.wait(60)
    assert leftovers(host.api, owners) == {"containers": [], "networks": [], "volumes": [], "images": []}


@pytest.mark.docker
def test_clean_leaves_a_container_and_an_image_the_learner_made_from_their_image_and_counts_only_what_went(tmp_path: Path, host: Any) -> None:
    """A container started from the tutor's image, and an image built from it, have the image's labels,
    the owner's among them, but no tutor made them: `clean` leaves them, and with them the image the
    container uses, which it does not count."""
    pack = make_pack(tmp_path)
    folder = context(tmp_path / "work", {"greeting.txt": "hello\n", "Dockerfile": f'FROM busybox:latest\nCOPY greeting.txt /\nRUN echo {time.time_ns()} > /n\nCMD ["echo", "hello"]\n'})
    check = _check(pack, folder, "classic")
    assert check.wait(120) == 0, check.communicate()
    owners = owners_under(tmp_path)
    (image,) = leftovers(host.api, owners)["images"]
    theirs = host.api.create_container(image, ["true"])["Id"]  # the learner's own `docker create`
    # and an image of their own made from it (as `docker build` FROM it would: it has its labels)
    named = f"my-trainer:{time.time_ns()}"
    host.api.commit(theirs, *named.split(":"))
    try:
        clean = subprocess.run([sys.executable, "-m", "tutor", "clean"], capture_output=True, text=True, timeout=120)
        assert "removed 0 containers and 0 images" in clean.stdout, clean.stdout + clean.stderr
        assert host.api.inspect_container(theirs) and host.image_attrs(image) and host.image_attrs(named)
    finally:
        host.api.remove_container(theirs, force=True)
        host.api.remove_image(named)
    clean = subprocess.run([sys.executable, "-m", "tutor", "clean"], capture_output=True, text=True, timeout=120)
    assert "removed 0 containers and 1 image" in clean.stdout, clean.stdout
    assert leftovers(host.api, owners) == {"containers": [], "networks": [], "volumes": [], "images": []}


@pytest.mark.docker
def test_grade_says_which_learner_waits_for_another_tutor_checking_that_folder(tmp_path: Path, host: Any) -> None:
    from tutor.content.loader import load_curriculum
    from tutor.engine.folder_images import image_tag

    pack = make_pack(tmp_path)
    ann = context(tmp_path / "class" / "ann", {"greeting.txt": "hello\n", "Dockerfile": 'FROM busybox:latest\nCOPY greeting.txt /\nCMD ["echo", "hello"]\n'})
    exercise = load_curriculum([pack]).exercise("50-say-hello")
    with folder_lock(image_tag(exercise, ann.resolve()), ann, lambda _: None, threading.Event()):  # another tutor's check of it
        grading = subprocess.Popen(
            [sys.executable, "-m", "tutor", "--content-only", "--content", str(pack), "grade", "50-say-hello", str(tmp_path / "class")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        time.sleep(3)
    out, err = grading.communicate(timeout=120)
    assert grading.returncode == 0, (out, err)
    assert f"warning: ann: another docker-tutor (process {os.getpid()}) is checking {ann.resolve()}; {WAITS}" in err, err
    remove(host.api, leftovers(host.api, owners_under(tmp_path)))


@pytest.mark.docker
def test_clean_while_a_class_is_graded_leaves_the_images_of_learners_already_graded(tmp_path: Path, host: Any) -> None:
    """A class's images go when the whole class is graded: removing one sooner prunes its untagged
    parent layers, which a sibling's build may be taking from the cache (folder_images.LaterRemoval)."""
    from tests.engine.test_image_removal import _committed_image
    from tutor.engine.folder_images import run_tag

    done = run_tag(f"docker-tutor/50-say-hello:{os.urandom(6).hex()}")  # a learner graded already
    image = _committed_image(host.api)
    host.api.tag(image, *done.rsplit(":", 1))
    try:
        with folder_lock(f"docker-tutor/50-say-hello:{os.urandom(6).hex()}", tmp_path, lambda _: None, threading.Event()):  # one still graded
            clean = subprocess.run([sys.executable, "-m", "tutor", "clean"], capture_output=True, text=True, timeout=120)
            assert "removed 0 containers and 0 images" in clean.stdout and host.image_attrs(done), clean.stdout + clean.stderr
        clean = subprocess.run([sys.executable, "-m", "tutor", "clean"], capture_output=True, text=True, timeout=120)
        assert "removed 0 containers and 1 image" in clean.stdout and not host.image_attrs(done), clean.stdout
    finally:
        remove(host.api, leftovers(host.api, owners_under(tmp_path)))
