"""Who becomes PID 1 of a JSON-array command: the program itself, or a shell told to run a
command line (["sh", "-c", "..."]), which is shell form in effect: signals stop at the shell."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass

SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "yash"})
# Shell options that take the next word as their argument (sh -o errexit -c ..., bash --rcfile f -c ...).
_OPTIONS_WITH_ARGUMENT = frozenset({"-o", "+o", "-O", "+O", "--rcfile", "--init-file"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclass(frozen=True, slots=True)
class ShellRunner:
    shell: str  # the shell as written, e.g. "/bin/bash"
    flag: str  # the option word that holds -c, e.g. "-c" or "-lc"
    script: str | None  # the command line the shell is given; None: none is (a CMD would give it)


def shell_runner(argv: Sequence[str]) -> ShellRunner | None:
    """The shell and its command line when argv starts a shell with -c (directly, through env
    or busybox), else None."""
    words = list(argv)
    words = _after_env(words)
    if words and posixpath.basename(words[0]) == "busybox" and len(words) > 1:
        words = words[1:]  # busybox sh -c ...: the applet is the program
    if not words or posixpath.basename(words[0]) not in SHELLS:
        return None
    shell, rest = words[0], words[1:]
    flag = ""
    index = 0
    while index < len(rest):
        word = rest[index]
        if word == "--" or word in ("-", "+"):
            index += 1
            break
        if not word.startswith(("-", "+")):
            break
        if word in _OPTIONS_WITH_ARGUMENT:
            index += 2
            continue
        if word.startswith("-") and not word.startswith("--") and "c" in word[1:]:
            flag = word
        index += 1
    if not flag:
        return None  # a shell running a script file: the script decides (it may end with exec)
    return ShellRunner(shell, flag, rest[index] if index < len(rest) else None)


def _after_env(words: list[str]) -> list[str]:
    """The command env runs (env -i A=1 sh -c ...): its options and assignments skipped."""
    while words and posixpath.basename(words[0]) == "env":
        index = 1
        while index < len(words):
            word = words[index]
            if word == "--":
                index += 1
                break
            if word in ("-u", "--unset", "-C", "--chdir"):
                index += 2
            elif word.startswith("-") or _ASSIGNMENT.match(word):
                index += 1
            else:
                break
        words = words[index:]
    return words


def last_command(script: str) -> str:
    """The last command of a shell command line at its top level (after the last unquoted ;, &&,
    ||, & or newline), with `|` and a trailing `&` kept in it so a pipeline or a background job
    can be told apart; '' if there is none."""
    commands: list[str] = []
    current: list[str] = []
    quote = ""
    depth = 0  # inside $(...), (...) or `...`: separators there belong to a subshell
    index = 0
    while index < len(script):
        char = script[index]
        index += 1
        if quote:
            current.append(char)
            if char == "\\" and quote == '"' and index < len(script):
                current.append(script[index])
                index += 1
            elif char == quote:
                quote = ""
            continue
        if char == "\\" and index < len(script):
            current += [char, script[index]]
            index += 1
            continue
        if char in "'\"`":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif depth == 0 and (char in ";\n" or char == "&" and not _redirection(script, index - 1) or script.startswith("||", index - 1)):
            if char == "|" or char == "&" and script[index : index + 1] == "&":
                index += 1
            elif char == "&":
                current.append(" &")  # run in the background: kept, so it is not taken for the last word
            commands.append("".join(current))
            current = []
            continue
        current.append(char)
    commands.append("".join(current))
    return next((c.strip() for c in reversed(commands) if c.strip()), "")


def _redirection(script: str, at: int) -> bool:
    """The & at this index belongs to a redirection (2>&1, &>log, <&3), not a separator."""
    return at > 0 and script[at - 1] in "<>" or script[at + 1 : at + 2] == ">"


def ends_with_exec(script: str) -> bool:
    """True when the shell's last command is `exec PROGRAM ...`: the program then replaces the
    shell as PID 1 and receives signals itself, as the entrypoint scripts lessons teach do."""
    command = last_command(script)
    if _has_unquoted(command, "|") or command.endswith("&"):
        return False  # exec in a pipeline or in the background runs in a subshell: the shell stays PID 1
    words = command.split()
    while words and _ASSIGNMENT.match(words[0]):
        words = words[1:]
    # `exec` alone (or with redirections only) keeps the shell; it needs a program after it.
    return len(words) >= 2 and words[0] == "exec" and not re.match(r"^\d*[<>]", words[1])


def _has_unquoted(text: str, char: str) -> bool:
    quote = ""
    for item in text:
        if quote:
            quote = "" if item == quote else quote
        elif item in "'\"":
            quote = item
        elif item == char:
            return True
    return False
