"""Junos configuration in brace form (``show configuration``) turned into ``display set`` form.

The engine reads and writes Junos as ``set`` lines. A device, a backup or NAPALM's ``get_config``
may give the hierarchical form instead; this converts it the way ``show configuration | display
set`` prints it: one line per leaf statement, one line per member of a ``[ a b ]`` list, quotes
kept, comments (``/* */``, ``#``, ``## SECRET-DATA``) dropped, ``inactive:`` statements followed by
their ``deactivate`` line, an empty stanza as one line of its own. Anything it cannot read raises
``ValueError`` naming the line: a config is never silently ignored.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{};\[\]]|[^\s{};\[\]"]+')


def is_brace_form(text: str) -> bool:
    """True when ``text`` is hierarchical Junos (statements ending in ``{``, ``}`` or ``;``), not set lines."""
    statements = [line.strip() for line in text.splitlines() if line.strip() and not _comment(line.strip())]
    if not statements or any(line.startswith(("set ", "delete ", "deactivate ")) for line in statements):
        return False
    return any(line.endswith(("{", "}", ";")) for line in statements)


def _comment(line: str) -> bool:
    return line.startswith(("#", "/*", "*", "*/"))


def _tokens(text: str) -> list[tuple[str, int]]:
    """(token, line number) for every token, comments removed."""
    found: list[tuple[str, int]] = []
    in_block_comment = False
    for number, line in enumerate(text.splitlines(), 1):
        rest = line
        while rest:
            if in_block_comment:
                end = rest.find("*/")
                if end < 0:
                    rest = ""
                    break
                rest, in_block_comment = rest[end + 2:], False
                continue
            start = rest.find("/*")
            head, tail = (rest, "") if start < 0 else (rest[:start], rest[start + 2:])
            hash_at = _unquoted_hash(head)
            if hash_at >= 0:
                head, tail, start = head[:hash_at], "", -1
            for match in _TOKEN.finditer(head):
                found.append((match.group(0), number))
            if start < 0:
                break
            rest, in_block_comment = tail, True
    return found


def _unquoted_hash(text: str) -> int:
    quoted = False
    for index, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif char == "#" and not quoted:
            return index
    return -1


def to_set(text: str) -> str:
    """The ``display set`` form of a brace-form configuration."""
    lines: list[str] = []
    path: list[tuple[list[str], bool, int]] = []  # (words of the stanza, inactive, lines emitted at open)
    words: list[str] = []
    inactive = False
    in_list: list[str] | None = None
    line_of_statement = 0

    def prefix() -> list[str]:
        return [word for stanza, _, _ in path for word in stanza]

    for token, number in _tokens(text):
        if in_list is not None:
            if token == "]":
                words_with_list = in_list
                in_list = None
                for member in words_with_list:
                    lines.append(" ".join(["set", *prefix(), *words, member]))
                words = [*words, "\0list"]
            elif token in "{};[":
                raise ValueError(f"line {number}: unexpected {token!r} inside a [ ] list")
            else:
                in_list.append(token)
            continue
        if not words:
            line_of_statement = number
        if token == "[":
            in_list = []
        elif token == "{":
            if not words:
                raise ValueError(f"line {number}: '{{' without a statement before it")
            path.append((words, inactive, len(lines)))
            words, inactive = [], False
        elif token == ";":
            if not words:
                continue
            if words[-1] != "\0list":
                statement = " ".join([*prefix(), *words])
                lines.append(f"set {statement}")
                if inactive:
                    lines.append(f"deactivate {statement}")
            words, inactive = [], False
        elif token == "}":
            if words:
                raise ValueError(f"line {line_of_statement}: statement {' '.join(words)!r} has no ';'")
            if not path:
                raise ValueError(f"line {number}: '}}' closes nothing")
            stanza, was_inactive, emitted = path.pop()
            statement = " ".join([*prefix(), *stanza])
            if len(lines) == emitted:
                lines.append(f"set {statement}")  # an empty stanza is a statement of its own
            if was_inactive:
                lines.append(f"deactivate {statement}")
        elif token in ("inactive:", "protect:") and not words:
            inactive = inactive or token == "inactive:"
        else:
            words.append(token)
    if in_list is not None:
        raise ValueError("the configuration ends inside a [ ] list")
    if words:
        raise ValueError(f"line {line_of_statement}: statement {' '.join(words)!r} has no ';'")
    if path:
        raise ValueError(f"the configuration ends inside {' '.join(path[-1][0])!r}: a '}}' is missing")
    return "\n".join(lines) + ("\n" if lines else "")
