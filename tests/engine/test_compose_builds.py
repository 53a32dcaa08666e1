"""What the tutor's builder is asked to build for a Compose project, and what a failed build says."""

from __future__ import annotations

from pathlib import Path

from tutor.engine.builders.outcome import BuildOutcome
from tutor.engine.compose.builds import ServiceBuild, build_failure, image_refusals, service_builds


def test_each_built_service_becomes_one_build_with_its_args_target_and_network(tmp_path: Path) -> None:
    hardened = {
        "services": {
            "api": {"image": "docker-tutor/x-api:1", "build": {"context": str(tmp_path), "network": "none"}},
            "kv": {
                "image": "docker-tutor/x-kv:1",
                "build": {
                    "context": str(tmp_path / "kv"),
                    "dockerfile": "Dockerfile.kv",
                    "args": ["A=1", "B"],
                    "target": "run",
                    "network": "default",
                    "labels": {"team": "ml"},
                },
            },
            "store": {"image": "busybox:latest"},
        }
    }
    api, kv = service_builds(hardened, tmp_path)
    assert api == ServiceBuild("api", tmp_path, "Dockerfile", "docker-tutor/x-api:1", False, {}, "", {}, "Dockerfile")
    assert (kv.context, kv.dockerfile, kv.tag, kv.network) == (tmp_path / "kv", "Dockerfile.kv", "docker-tutor/x-kv:1", True)
    assert kv.shown == "kv/Dockerfile.kv"
    assert (kv.args, kv.target, kv.labels) == ({"A": "1", "B": ""}, "run", {"team": "ml"})


def test_build_keys_the_tutors_builder_does_not_honour_are_refused(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    config = {"services": {"web": {"build": {"context": str(tmp_path), "shm_size": "2g", "extra_hosts": ["a:1.2.3.4"]}}}}
    assert image_refusals(config, tmp_path, {"busybox"}) == [
        "service web: build extra_hosts, shm_size are not supported here: the tutor builds each service's image itself, "
        "from context, dockerfile, args, target and labels"
    ]
    (tmp_path / "kv").mkdir()
    config = {"services": {"kv": {"build": {"context": str(tmp_path / "kv"), "dockerfile": "../Dockerfile"}}}}
    assert image_refusals(config, tmp_path, {"busybox"}) == ["service kv: the dockerfile must be inside its build context here"]


def test_a_failed_build_names_the_service_the_step_and_why(tmp_path: Path) -> None:
    build = ServiceBuild("kv", tmp_path / "kv", "Dockerfile", "t", False, {}, shown="kv/Dockerfile")
    outcome = BuildOutcome(
        ok=False,
        seconds=1.0,
        error="a build step tried to run more than 512 processes at once",
        steps={1: "FROM busybox", 2: "RUN bomb"},
        total_steps=3,
    )
    assert build_failure(build, outcome) == (
        "service kv: its image did not build (step 2/3: RUN bomb, in kv/Dockerfile): a build step tried to run more than 512 processes at once"
    )
    outcome.error = "the build step RUN bomb failed with exit code 1"  # quoted already: said once
    assert build_failure(build, outcome) == "service kv: its image did not build (step 2/3, in kv/Dockerfile): " + outcome.error
    refused = BuildOutcome(ok=False, seconds=0.0, error="a.bin is a symbolic link to a place outside the exercise folder")
    assert build_failure(build, refused) == "service kv: its image did not build (kv/Dockerfile): " + refused.error
