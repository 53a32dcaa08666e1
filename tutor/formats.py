"""A Report as text for a terminal, JSON for tools, or JUnit XML for CI and classrooms."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from tutor.engine.builders.choice import BUILDER_NAMES
from tutor.engine.report import Report

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"


def as_text(report: Report) -> str:
    lines = [f"{report.exercise_id}: {'passed' if report.passed else 'not yet'} ({report.seconds:.1f} s)"]
    build = report.build
    if build.skipped:
        lines.append(f"  build  {build.hint}")
    elif build.reused:
        lines.append("  build  unchanged since the last check: nothing was rebuilt")
    elif build.ok:
        cached = f", {build.steps_cached}/{build.steps_total} steps from cache" if build.steps_total else ""
        lines.append(f"  build  ok in {build.seconds:.1f} s{cached}, image {build.image_size / 1e6:.1f} MB")
    else:
        lines.append(f"  build  FAILED: {build.error}")
    if build.builder and not build.reused:
        lines.append(f"         built with {BUILDER_NAMES.get(build.builder, build.builder)}: {build.builder_why}")
    if not build.ok and not build.skipped:
        if build.log_tail:
            lines += ["         | " + line for line in build.log_tail[-8:]]
        if build.hint:
            lines.append(f"         hint: {build.hint}")
    for check in report.checks:
        mark = SKIP if check.skipped else PASS if check.passed else FAIL
        lines.append(f"  {mark}   {check.title} [{check.id}]")
        if not check.passed:
            lines += ["         " + line for line in check.message.splitlines()]
            if check.hint:
                lines.append(f"         hint: {check.hint}")
            if check.lesson and not check.skipped and check.lesson not in check.hint:
                lines.append(f"         taught in lesson {check.lesson}: read it again in docker-tutor")
    return "\n".join(lines)


def as_json(report: Report) -> str:
    """The report as `grade --format json` gives each learner's: the build log's tail is a list of lines."""
    return json.dumps(report.to_dict(), indent=2)


def as_junit(reports: list[Report], scores: list[tuple[int, int]] | None = None) -> str:
    """One suite per report; a test case per check, named by its title (its id in classname)."""
    suites = ET.Element("testsuites", name="docker-tutor")
    for index, report in enumerate(reports):
        cases = [("build", "build", report.build.ok, report.build.error, report.build.hint, report.build.seconds, False)]
        cases += [(c.title or c.id, c.id, c.passed, c.message, c.hint, c.seconds, c.skipped) for c in report.checks]
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=report.exercise_id,
            tests=str(len(cases)),
            failures=str(sum(1 for c in cases if not c[2] and not c[6])),
            skipped=str(sum(1 for c in cases if c[6])),
            time=f"{report.seconds:.3f}",
        )
        if scores is not None:
            properties = ET.SubElement(suite, "properties")
            ET.SubElement(properties, "property", name="score", value=str(scores[index][0]))
            ET.SubElement(properties, "property", name="max_score", value=str(scores[index][1]))
        for title, check_id, ok, message, hint, seconds, skipped in cases:
            case = ET.SubElement(suite, "testcase", classname=f"{report.exercise_id}.{check_id}", name=title, time=f"{seconds:.3f}")
            if skipped:
                ET.SubElement(case, "skipped", message=message)
            elif not ok:
                failure = ET.SubElement(case, "failure", message=message.splitlines()[0] if message else "failed")
                failure.text = message + (f"\nhint: {hint}" if hint else "")
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode")
