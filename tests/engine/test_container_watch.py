"""What a learner's container over its disk budget is told (tutor/engine/container_watch.py): one the
watch stopped, and one found over the budget only after it had ended (the last look as its check is done)."""

from __future__ import annotations

import pytest

from tutor.engine.builders.step_watch import Written
from tutor.engine.container_watch import over_budget


def test_a_running_container_over_its_budget_is_said_to_be_stopped() -> None:
    written = Written("c", 0.0, running=True, layer_bytes=2 * 10**9)
    why = over_budget(written)
    assert why.startswith("the container wrote 2.0 GB (2.0 GB in its own files), over the 1.0 GB") and why.endswith("and it was stopped"), why


def test_a_container_over_its_budget_only_after_it_ended_is_not_said_to_be_stopped() -> None:
    written = Written("c", 0.0, running=False, layer_bytes=2 * 10**9)
    why = over_budget(written)
    assert "wrote 2.0 GB (2.0 GB in its own files) before it ended, over the 1.0 GB" in why, why
    assert "stopped" not in why, why


def test_a_container_with_too_many_files_is_told_how_it_ended() -> None:
    ended = over_budget(Written("c", 0.0, running=False, layer_files=60_000))
    assert "made 60,000 files and folders before it ended, over the 50,000" in ended and "stopped" not in ended, ended
    running = over_budget(Written("c", 0.0, running=True, layer_files=60_000))
    assert "before it ended" not in running and running.endswith("and it was stopped"), running


@pytest.mark.docker
def test_the_last_look_at_an_ended_container_inspects_it_once(host) -> None:
    """The file-size limit's look and the last measure share one inspect (with the layer's size);
    the container's output is still read for a write the kernel refused (EFBIG's words)."""
    from tutor.engine import container_watch

    requests: list[str] = []
    send = host.api.send

    def counted(request, **kwargs):
        requests.append(f"{request.method} {request.path_url}")
        return send(request, **kwargs)

    exit_watch = container_watch.ContainerWatch.__exit__

    def last_look(self, *args) -> None:
        host.api.send = counted
        try:
            exit_watch(self, *args)
        finally:
            host.api.send = send

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(container_watch.ContainerWatch, "__exit__", last_look)
        with pytest.raises(container_watch.ContainerOverBudget, match="the write was refused"):
            with host.container("busybox", ["sh", "-c", "echo File too large"], exercise_id="test-container-watch") as container:
                container.wait()
    inspects = [r for r in requests if r.startswith("GET ") and r.split("?")[0].endswith(f"/containers/{container.id}/json")]
    assert len(inspects) == 1 and "size=1" in inspects[0], requests
