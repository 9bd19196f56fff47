"""Junos configuration in brace form (``show configuration``) turned into ``display set`` form.

The engine reads and writes Junos as ``set`` lines. A device, a backup or NAPALM's ``get_config``
may give the hierarchical form instead; this converts it the way ``show configuration | display
set`` prints it: one line per leaf statement, one line per member of a ``[ a b ]`` list, quotes
kept, comments (``/* */``, ``#``, ``## SECRET-DATA``) dropped, ``inactive:`` statements followed by
their ``deactivate`` line, ``protect:`` ones by their ``protect`` line, an empty stanza as one line of its
own. Anything it cannot read raises ``ValueError`` naming the line: a config is never silently ignored.

Protected hierarchies (``protect:`` in brace form, ``protect <path>`` in set form) cannot be changed
on the device until somebody unprotects them: ``protected_changes`` finds the commands of a plan that
would, so the plan is refused naming the hierarchy instead of failing at commit.
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
    lines = [line for line, _ in _set_lines(text)]
    return "\n".join(lines) + ("\n" if lines else "")


def _set_lines(text: str) -> list[tuple[str, int]]:
    """Each ``display set`` line of a brace-form configuration with the line of the text it comes from."""
    lines: list[str] = []
    origin: dict[int, int] = {}  # index in lines -> line number of the text (kept for protect lines)
    # (words of the stanza, inactive, lines emitted at open, line of its protect:, 0 when not protected)
    path: list[tuple[list[str], bool, int, int]] = []
    words: list[str] = []
    inactive = False
    protected = 0
    in_list: list[str] | None = None
    line_of_statement = 0

    def prefix() -> list[str]:
        return [word for stanza, _, _, _ in path for word in stanza]

    for token, number in _tokens(text):
        if in_list is not None:
            if token == "]":
                words_with_list = in_list
                in_list = None
                for member in words_with_list:
                    lines.append(" ".join(["set", *prefix(), *words, member]))
                if protected:  # the list's statement, all its members
                    origin[len(lines)] = protected
                    lines.append(" ".join(["protect", *prefix(), *words]))
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
            path.append((words, inactive, len(lines), protected))
            words, inactive, protected = [], False, 0
        elif token == ";":
            if not words:
                continue
            if words[-1] != "\0list":
                statement = " ".join([*prefix(), *words])
                lines.append(f"set {statement}")
                if inactive:
                    lines.append(f"deactivate {statement}")
                if protected:  # a leaf: its statement (``host-name``), not the value it has now
                    origin[len(lines)] = protected
                    lines.append(" ".join(["protect", *prefix(), *(words[:-1] if len(words) > 1 else words)]))
            words, inactive, protected = [], False, 0
        elif token == "}":
            if words:
                raise ValueError(f"line {line_of_statement}: statement {' '.join(words)!r} has no ';'")
            if not path:
                raise ValueError(f"line {number}: '}}' closes nothing")
            stanza, was_inactive, emitted, was_protected = path.pop()
            statement = " ".join([*prefix(), *stanza])
            if len(lines) == emitted:
                lines.append(f"set {statement}")  # an empty stanza is a statement of its own
            if was_inactive:
                lines.append(f"deactivate {statement}")
            if was_protected:
                origin[len(lines)] = was_protected
                lines.append(f"protect {statement}")
        elif token in ("inactive:", "protect:") and not words:
            inactive = inactive or token == "inactive:"
            protected = protected or (number if token == "protect:" else 0)
        else:
            words.append(token)
    if in_list is not None:
        raise ValueError("the configuration ends inside a [ ] list")
    if words:
        raise ValueError(f"line {line_of_statement}: statement {' '.join(words)!r} has no ';'")
    if path:
        raise ValueError(f"the configuration ends inside {' '.join(path[-1][0])!r}: a '}}' is missing")
    return [(line, origin.get(index, 0)) for index, line in enumerate(lines)]


def protected_paths(text: str) -> list[tuple[int, tuple[str, ...]]]:
    """(line number, words of the hierarchy) of every ``protect`` statement, in either form."""
    if is_brace_form(text):
        return [(number, tuple(_words(line)[1:])) for line, number in _set_lines(text) if line.startswith("protect ")]
    return [(number, tuple(_words(line.strip())[1:])) for number, line in enumerate(text.splitlines(), 1)
            if line.strip().startswith("protect ")]


def _words(line: str) -> list[str]:
    return [match.group(0) for match in _TOKEN.finditer(line)]


def protected_changes(text: str, commands: tuple[str, ...] | list[str]) -> list[tuple[int, str, list[str]]]:
    """(line, hierarchy, the commands that change it) for every protected hierarchy of the running
    config ``text`` that ``commands`` would change: a ``set`` or ``delete`` inside it, or a ``delete``
    of a hierarchy that holds it."""
    found = []
    for number, path in protected_paths(text):
        touching = []
        for command in commands:
            verb, *words = _words(command)
            if verb not in ("set", "delete", "deactivate", "activate", "rename", "insert", "annotate"):
                continue
            inside = tuple(words[:len(path)]) == path
            holds = verb == "delete" and tuple(path[:len(words)]) == tuple(words)
            if inside or holds:
                touching.append(command)
        if touching:
            found.append((number, " ".join(path), touching))
    return found
