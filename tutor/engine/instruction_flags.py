"""An instruction's flags (`--from=`, `--mount=`) read as Docker's Dockerfile parser reads them.

Both builders split the flags off an instruction with quotes and backslashes (`--"from"=x`,
`fr\\om=x` are `--from=x`), and BuildKit reads a `--mount` value as one CSV record whose keys
may be in any case: a policy that judged the text as written would miss what the builder sees.
"""

from __future__ import annotations

from dataclasses import dataclass

# A mount's keys (BuildKit's dockerfile frontend, each spelling) and its types.
_KEYS = {
    "type": "type", "from": "from", "source": "source", "src": "source",
    "target": "target", "dst": "target", "destination": "target",
    "readonly": "readonly", "ro": "readonly", "readwrite": "readwrite", "rw": "readwrite",
    "id": "id", "sharing": "sharing", "mode": "mode", "uid": "uid", "gid": "gid",
    "required": "required", "size": "size",
}
MOUNT_TYPES = ("bind", "cache", "tmpfs", "secret", "ssh")


class MountUnreadable(ValueError):
    """A `--mount` value the builder would not accept either; the message says what is wrong."""


def builder_flags(value: str, *, spaced: bool = False) -> tuple[list[tuple[str, str | None]], str]:
    """The leading `--name[=value]` flags of an instruction's arguments, and the rest.

    A port of the parser's extractBuilderFlags: a flag is a word starting with `--` (a bare `--`
    ends them), where quotes group and a backslash escapes the next character (inside quotes too).
    spaced: as newer parsers read flags, where a flag's value may follow it after a space
    (`--from stage`). Names are lowered: the builder refuses a name in another case, so judging
    it as its lower-case self is safe."""
    words: list[str] = []
    word: list[str] = []
    quote = ""
    in_word = blank_ok = parsing_arg = False
    need_arg = True
    pos = 0
    while pos <= len(value):
        char = value[pos] if pos < len(value) else ""
        if not in_word:
            if pos == len(value):
                break
            if char.isspace():
                pos += 1
                continue
            if not parsing_arg and not value.startswith("--", pos):
                return _named(words), value[pos:]
            in_word = True
        if pos == len(value):
            text = "".join(word)
            if parsing_arg:
                words[-1] += "=" + text  # Go leaves it a word of its own, which the flags then refuse
            elif text != "--" and (blank_ok or text):
                words.append(text)
            break
        if quote:
            if char == quote:
                quote = ""
            elif char == "\\":
                if pos + 1 == len(value):
                    quote = ""
                else:
                    pos += 1
                    word.append(value[pos])
            else:
                word.append(char)
        elif char.isspace():
            text = "".join(word)
            in_word = False
            if parsing_arg:
                words[-1] += "=" + text
                parsing_arg, need_arg = False, True
            else:
                if text == "--":
                    return _named(words), value[pos:].strip()
                if blank_ok or text:
                    parsing_arg = spaced and need_arg
                    words.append(text)
            word, blank_ok = [], False
        else:
            if char == "=" and need_arg:
                need_arg = False
            if char in "'\"":
                quote, blank_ok = char, True
            elif char == "\\":
                if pos + 1 < len(value):
                    pos += 1
                    word.append(value[pos])
            else:
                word.append(char)
        pos += 1
    return _named(words), ""


def _named(words: list[str]) -> list[tuple[str, str | None]]:
    flags: list[tuple[str, str | None]] = []
    for word in words:
        name, equals, flag_value = word[2:].partition("=")
        flags.append((name.lower(), flag_value if equals else None))
    return flags


@dataclass(frozen=True, slots=True)
class Mount:
    """One `RUN --mount`, its keys in their one spelling: type, from, source, target, id, sharing..."""

    fields: dict[str, str]

    @property
    def type(self) -> str:
        return self.fields.get("type", "bind").lower()


def parse_mount(value: str) -> Mount:
    """A `--mount` value as BuildKit reads it: one CSV record of key=value (or ro/rw) fields."""
    fields: dict[str, str] = {}
    for field in csv_record(value):
        key, equals, field_value = field.partition("=")
        key = key.lower()
        if not equals and key in ("readonly", "ro", "readwrite", "rw"):
            field_value = "true"
        elif not equals:
            raise MountUnreadable(f"{field!r} is not a key=value pair")
        if key not in _KEYS:
            raise MountUnreadable(f"{key!r} is not a mount option (type, from, source, target, id, sharing, mode, uid, gid, ro)")
        fields[_KEYS[key]] = field_value
    mount = Mount(fields)
    if mount.type not in MOUNT_TYPES:
        raise MountUnreadable(f"type={mount.type} is not a mount type ({', '.join(MOUNT_TYPES)})")
    return mount


def csv_record(text: str) -> list[str]:
    """One record of Go's encoding/csv (what BuildKit reads a mount with): commas separate fields,
    a field may be double-quoted ("" is a quote inside), a quote elsewhere is an error."""
    if not text:
        raise MountUnreadable("it is empty")
    fields: list[str] = []
    pos = 0
    while True:
        if text.startswith('"', pos):
            parts: list[str] = []
            pos += 1
            while True:
                end = text.find('"', pos)
                if end < 0:
                    raise MountUnreadable("a quote is not closed")
                parts.append(text[pos:end])
                pos = end + 1
                if not text.startswith('"', pos):
                    break
                parts.append('"')
                pos += 1
            if pos < len(text) and text[pos] != ",":
                raise MountUnreadable("a quoted field goes on after its closing quote")
            fields.append("".join(parts))
        else:
            end = text.find(",", pos)
            end = len(text) if end < 0 else end
            if '"' in text[pos:end]:
                raise MountUnreadable("a quote in the middle of a field")
            fields.append(text[pos:end])
            pos = end
        if pos >= len(text):
            return fields
        pos += 1  # the comma
