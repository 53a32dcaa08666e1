"""The check vocabulary: one module per family, every kind registered by name in KINDS."""

from tutor.engine.checks import build_context, command, compose, docker_run, dockerfile_facts, files, given_input, image, lint, runtime
from tutor.engine.checks.base import KINDS, Check, CheckContext, Verdict, compile_check

__all__ = ["KINDS", "Check", "CheckContext", "Verdict", "compile_check"]
# Imported for their registrations.
del build_context, command, compose, docker_run, dockerfile_facts, files, given_input, image, lint, runtime
