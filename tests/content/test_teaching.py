"""What makes the curriculum teach rather than give away: quizzes whose answer is not in its
place or its length, hints that climb from the idea to the answer, house rules that stay.

These hold for every lesson and exercise loaded, new ones included."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tutor import locations
from tutor.content.loader import load_curriculum
from tutor.content.model import Exercise
from tutor.content.rules import check_id
from tutor.engine.checks import compile_check
from tutor.errors import ContentError

CURRICULUM = load_curriculum([locations.content_root()])
QUESTIONS = [(lesson.id, q) for lesson in CURRICULUM.lessons for q in lesson.quiz]
MOST = 0.40  # no habit: the right answer is first, or the longest, in at most this share of questions


def test_every_question_offers_at_least_three_distinct_options() -> None:
    for lesson_id, question in QUESTIONS:
        texts = [o.text.strip().lower() for o in question.options]
        assert len(texts) >= 3, f"{lesson_id}:{question.id} has {len(texts)} options"
        assert len(set(texts)) == len(texts), f"{lesson_id}:{question.id} repeats an option"


def test_the_right_answer_has_no_habitual_place() -> None:
    positions = [[o.correct for o in q.options].index(True) for _, q in QUESTIONS]
    for place in range(max(positions) + 1):
        share = positions.count(place) / len(positions)
        assert share <= MOST, f"the right answer is option {place + 1} in {share:.0%} of {len(positions)} questions"


def test_the_right_answer_is_not_the_longest_by_habit() -> None:
    def strictly_longest(question) -> bool:
        right = next(len(o.text) for o in question.options if o.correct)
        return all(right > len(o.text) for o in question.options if not o.correct)

    longest = [f"{lesson}:{q.id}" for lesson, q in QUESTIONS if strictly_longest(q)]
    assert len(longest) / len(QUESTIONS) <= MOST, f"{len(longest)} of {len(QUESTIONS)}: {longest}"


# --- the hint ladder ------------------------------------------------------------------------------


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\\\n", " ")).strip()


def answer_lines(exercise: Exercise) -> list[str]:
    """Lines the reference solution adds to the starter that the task does not spell out: what the
    learner has to find out."""
    task = _normal(exercise.task)
    found = []
    for name in exercise.files:
        starter, solution = exercise.starter_dir / name, exercise.solution_dir / name
        before = {_normal(line) for line in starter.read_text(encoding="utf-8").splitlines()} if starter.is_file() else set()
        for raw in solution.read_text(encoding="utf-8").splitlines():
            line = _normal(raw.rstrip("\\"))
            if name != "Dockerfile":
                line = re.sub(r"\s+#.*$", "", line)  # a YAML or shell comment is not part of the answer
            if line.endswith(":"):
                continue  # a bare YAML key (environment:) is structure, not the answer
            if len(line) >= 8 and not line.startswith("#") and line not in before and line not in task:
                found.append(line)
                # The arguments alone give it away just as well: CMD ["echo", "hi"] -> ["echo", "hi"]
                words = line.split(" ", 1)
                if name == "Dockerfile" and len(words) == 2 and words[0].isupper() and len(words[1]) >= 12:
                    if words[1] not in task:
                        found.append(words[1])
    return found


def gives_away(text: str, lines: list[str]) -> list[str]:
    text = _normal(text)
    return [line for line in lines if line in text]


EXERCISES = {e.id: e for e in CURRICULUM.exercises}


@pytest.mark.parametrize("exercise_id", sorted(EXERCISES))
def test_hints_climb_from_the_idea_to_the_answer(exercise_id: str) -> None:
    exercise = EXERCISES[exercise_id]
    lines = answer_lines(exercise)
    assert len(exercise.hints) >= 3, "a ladder needs at least three steps: the idea, the way, the answer"
    for step, hint in enumerate(exercise.hints[:-1], start=1):
        assert not gives_away(hint, lines), f"hint {step} already gives the answer: {gives_away(hint, lines)}"
    if lines:
        assert gives_away(exercise.hints[-1], lines), "the last hint is the full answer: it shows the lines to write"


@pytest.mark.parametrize("exercise_id", sorted(EXERCISES))
def test_a_failing_check_names_the_problem_never_the_line_to_type(exercise_id: str) -> None:
    exercise = EXERCISES[exercise_id]
    lines = answer_lines(exercise)
    for spec in exercise.checks:
        check = compile_check(spec)
        assert not gives_away(check.display_hint, lines), f"{spec.id}'s hint gives the answer away: {check.display_hint}"


# --- house rules ----------------------------------------------------------------------------------


def test_every_rule_is_taught_by_a_lesson_and_enforced_after_it() -> None:
    assert CURRICULUM.rules
    lessons = {lesson.id for lesson in CURRICULUM.lessons}
    for rule in CURRICULUM.rules:
        assert rule.lesson in lessons
        for exercise in CURRICULUM.exercises:
            ids = {spec.id: spec for spec in exercise.checks}
            if rule in exercise.rules:
                spec = ids[check_id(rule.id)]
                assert exercise.lesson > rule.lesson
                assert rule.practice in spec.params["title"] and spec.params["lesson"] == rule.lesson
            else:
                assert check_id(rule.id) not in ids


def test_exec_form_and_secrets_are_kept_in_every_exercise_after_their_lessons() -> None:
    """The review's examples: a token in ENV and a shell-form CMD passed exercises after their lessons."""
    for exercise in CURRICULUM.exercises:
        ids = {spec.id for spec in exercise.checks}
        skipped = dict(exercise.skipped_rules)
        if exercise.lesson > "09-configuration" and "no-secrets" not in skipped:
            assert check_id("no-secrets") in ids, exercise.id
        if exercise.lesson > "04-dockerfile-recipe" and (exercise.solution_dir / "Dockerfile").read_text().count("CMD") and "exec-form" not in skipped:
            assert check_id("exec-form") in ids, exercise.id


def _pack(tmp_path: Path, rules: str, exercise_extra: str = "") -> Path:
    pack = tmp_path / "pack"
    (pack / "lessons").mkdir(parents=True)
    for number in ("50", "51"):
        (pack / "lessons" / f"{number}-l.md").write_text(f'+++\ntitle = "Lesson {number}"\n+++\ntext\n')
    folder = pack / "exercises" / "51-e"
    for sub in ("starter", "solution"):
        (folder / sub).mkdir(parents=True)
        (folder / sub / "Dockerfile").write_text('FROM busybox:1.36\nCMD ["echo", "hi"]\n')
    (folder / "exercise.toml").write_text(
        'title = "E"\nlesson = "51-l"\ntask = "t"\n' + exercise_extra
        + '[[checks]]\nid = "says"\nkind = "command"\nexpectedOutput = ["hi"]\n'
    )
    (pack / "rules.toml").write_text(rules)
    return pack


PACK_RULE = """
[[rules]]
id = "labelled"
practice = "an image says where its source is"
lesson = "50-l"
why = "Without a source label nobody can tell which code an image holds."
applies_when = { solution_matches = '^CMD' }
check = { kind = "dockerfile.instruction", instruction = "LABEL" }
mutant = { replace = [['^LABEL .*\\n', '']] }
"""


def test_a_pack_declares_its_own_rule_and_its_exercises_keep_it(tmp_path: Path) -> None:
    curriculum = load_curriculum([_pack(tmp_path, PACK_RULE)])
    (exercise,) = curriculum.exercises
    spec = next(s for s in exercise.checks if s.id == "rule-labelled")
    check = compile_check(spec)
    assert check.lesson == "50-l" and "an image says where its source is" in check.display_title
    assert "Lesson 50" in check.display_hint and "Without a source label" in check.display_hint


def test_an_exercise_opts_out_of_a_rule_only_with_a_reason(tmp_path: Path) -> None:
    skipped = load_curriculum([_pack(tmp_path / "a", PACK_RULE, 'skip_rules = { labelled = "a demo of labels comes later" }\n')])
    assert "rule-labelled" not in {s.id for s in skipped.exercises[0].checks}
    with pytest.raises(ContentError, match="skip_rules"):
        load_curriculum([_pack(tmp_path / "b", PACK_RULE, 'skip_rules = { labelled = "" }\n')])
    with pytest.raises(ContentError, match="no house rule"):
        load_curriculum([_pack(tmp_path / "c", PACK_RULE, 'skip_rules = { unknown = "why" }\n')])


def test_a_broken_rule_is_named_by_file_and_field(tmp_path: Path) -> None:
    broken = PACK_RULE.replace('lesson = "50-l"', 'lesson = "49-gone"').replace("'^CMD'", "'^CMD('")
    with pytest.raises(ContentError) as caught:
        load_curriculum([_pack(tmp_path, broken)])
    assert "rules.toml: rules[0].lesson" in caught.value.message
    assert "rules.toml: rules[0].applies_when.solution_matches" in caught.value.message


def test_a_rule_that_needs_an_image_is_left_out_where_nothing_is_built() -> None:
    from tutor.engine.checks import KINDS
    from tutor.engine.grader import enforced

    for exercise in CURRICULUM.exercises:
        graded = enforced(exercise)
        builds = any(KINDS[s.kind].needs_engine for s in exercise.checks if not s.rule)
        dropped = [s.id for s in exercise.checks if s not in graded]
        assert all(s.rule for s in exercise.checks if s.id in dropped)
        assert builds or not any(KINDS[s.kind].needs_engine for s in graded), exercise.id
        assert not builds or not dropped, exercise.id
