"""What a learner's container over its disk budget is told (tutor/engine/container_watch.py): one the
watch stopped, and one found over the budget only after it had ended (the last look as its check is done)."""

from __future__ import annotations

from tutor.engine.builders.step_watch import Written
from tutor.engine.container_watch import over_budget


def test_a_running_container_over_its_budget_is_said_to_be_stopped() -> None:
    written = Written("c", 0.0, running=True, layer_bytes=2 * 10**9)
    why = over_budget(written, 0)
    assert why.startswith("the container wrote 2.0 GB (2.0 GB in its own files), over the 1.0 GB") and why.endswith("and it was stopped"), why


def test_a_container_over_its_budget_only_after_it_ended_is_not_said_to_be_stopped() -> None:
    written = Written("c", 0.0, running=False, layer_bytes=2 * 10**9)
    why = over_budget(written, 0)
    assert "wrote 2.0 GB (2.0 GB in its own files) before it ended, over the 1.0 GB" in why, why
    assert "stopped" not in why, why


def test_a_container_with_too_many_files_is_told_how_it_ended() -> None:
    ended = over_budget(Written("c", 0.0, running=False, layer_files=60_000), 0)
    assert "made 60,000 files and folders before it ended, over the 50,000" in ended and "stopped" not in ended, ended
    running = over_budget(Written("c", 0.0, running=True, layer_files=60_000), 0)
    assert "before it ended" not in running and running.endswith("and it was stopped"), running
