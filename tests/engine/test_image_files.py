"""An image's file count is made once and kept by its layers, across processes, in the tutor's
cache folder; what is kept there is read back only as it was written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tutor.engine.builders import file_counts
from tutor.engine.builders.file_counts import KeptCounts, count_key
from tutor.engine.builders.image_files import _METHOD, FileCounter


def _attrs(image_id: str, layers: list[str] | None, **config: object) -> dict[str, object]:
    return {"Id": image_id, "RootFS": {"Type": "layers", "Layers": layers} if layers is not None else {}, "Config": config}


def test_a_count_is_kept_by_what_decides_it_not_by_the_image_id() -> None:
    one = count_key(_attrs("sha256:aaa", ["sha256:l1", "sha256:l2"], Labels={"owner": "ada"}), _METHOD)
    # Another owner's label: another image id, the same layers, the same files.
    assert count_key(_attrs("sha256:bbb", ["sha256:l1", "sha256:l2"], Labels={"owner": "bob"}), _METHOD) == one
    assert count_key(_attrs("sha256:aaa", ["sha256:l1", "sha256:l3"]), _METHOD) != one
    assert count_key(_attrs("sha256:aaa", ["sha256:l2", "sha256:l1"]), _METHOD) != one
    # A container makes a missing volume or working folder: one more folder.
    assert count_key(_attrs("sha256:aaa", ["sha256:l1", "sha256:l2"], Volumes={"/data": {}}), _METHOD) != one
    assert count_key(_attrs("sha256:aaa", ["sha256:l1", "sha256:l2"], WorkingDir="/app"), _METHOD) != one
    assert count_key(_attrs("sha256:aaa", ["sha256:l1", "sha256:l2"]), "another way of counting") != one
    assert count_key(_attrs("sha256:ccc", None), _METHOD) == "id:sha256:ccc"


def test_kept_counts_are_read_by_another_process_bounded_and_a_broken_file_costs_only_a_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    KeptCounts(tmp_path).put("a", 12)
    assert KeptCounts(tmp_path).get("a") == 12 and KeptCounts(tmp_path).get("b") is None
    monkeypatch.setattr(file_counts, "MAX_KEPT", 3)
    for key, count in [("b", 1), ("c", 2), ("a", 13), ("d", 4)]:
        KeptCounts(tmp_path).put(key, count)
    kept = json.loads((tmp_path / "image-files.json").read_text())["counts"]
    assert kept == {"c": 2, "a": 13, "d": 4}, "the oldest count stays, or a recount was not kept last"
    assert [p.name for p in tmp_path.iterdir()] == ["image-files.json"], "a temporary file was left"

    (tmp_path / "image-files.json").write_text('{"counts": {"a": ')
    assert KeptCounts(tmp_path).get("a") is None
    KeptCounts(tmp_path).put("e", 5)
    assert KeptCounts(tmp_path).get("e") == 5
    # Only what the tutor writes is read back: a count that is not a count is no count.
    (tmp_path / "image-files.json").write_text('{"counts": {"a": true, "b": -1, "c": "7", "d": 7.5, "e": 8}}')
    assert [KeptCounts(tmp_path).get(key) for key in "abcde"] == [None, None, None, None, 8]
    (tmp_path / "image-files.json").write_text("[1, 2]")
    assert KeptCounts(tmp_path).get("a") is None


@pytest.mark.docker
def test_an_image_is_counted_in_a_container_once_and_its_count_read_back_by_the_next_process(
    host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_TUTOR_CACHE", str(tmp_path / "cache"))
    attrs = host.image_attrs("busybox")
    counted = FileCounter(host).count(attrs)
    # The same count made with the image's own busybox, as a learner would.
    out = host.client.containers.run(
        "busybox", ["sh", "-c", "find / \\( -path /proc -o -path /sys -o -path /dev \\) -prune -o -print | wc -l"],
        network_mode="none", remove=True,
    )
    assert counted == int(out.split()[-1]) > 100

    def no_container(self: FileCounter, image_id: str) -> int | None:
        raise AssertionError("counted again in a container")

    monkeypatch.setattr(FileCounter, "_count", no_container)
    assert FileCounter(host).count(attrs) == counted  # a new process: the kept count
    # What is kept decides as a count would: over the limit is over the limit.
    KeptCounts(tmp_path / "cache").put(count_key(attrs, _METHOD), 60_000)
    assert FileCounter(host).added(attrs, None, 50_000) == 60_000


@pytest.mark.docker
def test_busybox_is_read_only_for_a_count_that_is_not_kept(host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A build whose image's count is kept (its layers were counted before) reads no busybox binary:
    no container made for it, no 2 MB read from the engine."""
    import time

    from tests.engine.helpers import grade_all
    from tutor.engine.builders import image_files

    monkeypatch.setenv("DOCKER_TUTOR_CACHE", str(tmp_path / "cache"))
    reads: list[str] = []
    read = image_files._busybox_tar

    def counted_read(engine):  # noqa: ANN001, ANN202 - as the module's own
        reads.append("busybox")
        return read(engine)

    monkeypatch.setattr(image_files, "_busybox_tar", counted_read)
    for attempt in ("counted", "kept"):
        monkeypatch.setattr(host, "_file_counter", None)  # as in a new process
        files = {"Dockerfile": 'FROM busybox\nCMD ["true"]\n', "notes.txt": f"{attempt} {time.time_ns()}"}  # a new context, the same layers
        report = grade_all(host, tmp_path / attempt, [{"kind": "metadata", "cmd": ["true"]}], files)
        assert report.build.ok and report.passed, report.build.error
        assert reads == ["busybox"], f"{attempt}: busybox read {len(reads)} times"
