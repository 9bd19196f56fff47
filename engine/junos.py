"""Junos configuration in brace form (``show configuration``) turned into ``display set`` form.

The engine reads and writes Junos as ``set`` lines. A device, a backup or NAPALM's ``get_config``
may give the hierarchical form instead; this converts it the way ``show configuration | display
set`` prints it: one line per leaf statement, one line per member of a ``[ a b ]`` list, quotes
kept, comments (``/* */``, ``#`` starting a word, ``## SECRET-DATA``) and ``replace:`` tags dropped,
``inactive:`` statements followed by their ``deactivate`` line, ``protect:`` ones by their ``protect``
line, an empty stanza as one line of its own. Anything it cannot read raises ``ValueError`` naming the
line (a ``delete:`` tag too): a config is never silently ignored.

Protected hierarchies (``protect:`` in brace form, ``protect <path>`` in set form) cannot be changed
on the device until somebody unprotects them: ``protected_changes`` finds the commands of a plan that
would, so the plan is refused naming the hierarchy instead of failing at commit.
"""

from __future__ import annotations

import fnmatch
import re

# A quoted string, a group's <wildcard> name (its [0-9] classes included), a brace, or a word.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|<[^\s<>{};"]*>|[{};\[\]]|[^\s{};\[\]"]+')


def is_brace_form(text: str) -> bool:
    """True when ``text`` is hierarchical Junos (statements ending in ``{``, ``}`` or ``;``), not set lines.
    A set-form text is told at its first set line (every Junos config the engine renders is one)."""
    braces = False
    for line in text.splitlines():
        statement = line.strip()
        if not statement or _comment(statement):
            continue
        if statement.startswith(("set ", "delete ", "deactivate ")):
            return False
        braces = braces or statement.endswith(("{", "}", ";"))
    return braces


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
            start = _unquoted(rest, "/*")  # a "<ge-0/0/*>" group name is no comment
            head, tail = (rest, "") if start < 0 else (rest[:start], rest[start + 2:])
            hash_at = _unquoted(head, "#", word_start=True)  # `host-name sw#1;` holds no comment
            if hash_at >= 0:
                head, tail, start = head[:hash_at], "", -1
            for match in _TOKEN.finditer(head):
                found.append((match.group(0), number))
            if start < 0:
                break
            rest, in_block_comment = tail, True
    return found


def _unquoted(text: str, mark: str, word_start: bool = False) -> int:
    """Where ``mark`` first stands in ``text`` outside a quoted string (``word_start``: and not inside
    a word), -1 if nowhere."""
    quoted = False
    for index, char in enumerate(text):
        if char == '"' and (index == 0 or text[index - 1] != "\\"):
            quoted = not quoted
        elif not quoted and text.startswith(mark, index) and (
                not word_start or index == 0 or text[index - 1].isspace() or text[index - 1] in "{};"):
            return index
    return -1


def to_set(text: str) -> str:
    """The ``display set`` form of a brace-form configuration."""
    lines = [line for line, _ in _set_lines(text)]
    return "\n".join(lines) + ("\n" if lines else "")


def _set_lines(text: str) -> list[tuple[str, int]]:
    """Each ``display set`` line of a brace-form configuration with the line of the text it comes from."""
    lines: list[str] = []
    origin: dict[int, int] = {}  # index in lines -> line number of the text
    # (words of the stanza, inactive, lines emitted at open, line of its protect: (0: none), line it starts at)
    path: list[tuple[list[str], bool, int, int, int]] = []
    words: list[str] = []
    inactive = False
    protected = 0
    in_list: list[str] | None = None
    line_of_statement = 0

    def prefix() -> list[str]:
        return [word for stanza, *_ in path for word in stanza]

    for token, number in _tokens(text):
        if in_list is not None:
            if token == "]":
                words_with_list = in_list
                in_list = None
                for member in words_with_list:
                    origin[len(lines)] = line_of_statement
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
            path.append((words, inactive, len(lines), protected, line_of_statement))
            words, inactive, protected = [], False, 0
        elif token == ";":
            if not words:
                continue
            if words[-1] != "\0list":
                statement = " ".join([*prefix(), *words])
                origin[len(lines)] = line_of_statement
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
            stanza, was_inactive, emitted, was_protected, opened = path.pop()
            statement = " ".join([*prefix(), *stanza])
            if len(lines) == emitted:
                origin[len(lines)] = opened
                lines.append(f"set {statement}")  # an empty stanza is a statement of its own
            if was_inactive:
                lines.append(f"deactivate {statement}")
            if was_protected:
                origin[len(lines)] = was_protected
                lines.append(f"protect {statement}")
        elif token in ("replace:", "active:") and not words:
            continue  # load-file tags (`load replace`): how to load the statement, not part of it
        elif token in ("delete:", "unprotect:") and not words:
            raise ValueError(f"line {number}: {token!r} is a load-file instruction, not configuration as a device "
                             "shows it (give `show configuration` or `display set` output)")
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


def line_numbers(text: str) -> dict[str, int]:
    """Where each ``set`` line of a configuration in brace form comes from (its first occurrence)."""
    numbers: dict[str, int] = {}
    for line, number in _set_lines(text):
        numbers.setdefault(line, number)
    return numbers


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


# Configuration groups (``groups { NAME { ... } }`` applied by ``apply-groups``): what the device runs
# is the *effective* configuration, the local statements plus what they inherit. The subset modelled
# is what ownership needs: groups applied at the top or at any level below (``interfaces ge-0/0/5
# apply-groups ACCESS``), wildcard names in a group (``<ge-*>``, ``"<ge-0/0/[0-9]>"``, ``<*>``; shell
# globs that match only objects the configuration has), ``apply-groups-except`` below the level a group
# is applied at, and precedence: a local statement wins, then the group applied at the deeper level,
# then the group listed first, then (within a group) a literal name before a wildcard and wildcards in
# the order the group lists them. Only settings that take one value (``SINGLE_VALUED``) are overridden;
# every other statement adds to what is there (members, addresses), as Junos merges sets.
SINGLE_VALUED = frozenset({"description", "mtu", "interface-mode", "port-mode", "native-vlan-id", "vlan-id",
                           "l3-interface", "speed", "link-mode", "802.3ad", "encapsulation", "host-name",
                           "location", "contact", "scheduler-map", "forwarding-class"})
_APPLY = ("apply-groups", "apply-groups-except")


def _unquote(word: str) -> str:
    return word[1:-1] if len(word) > 1 and word[0] == word[-1] == '"' else word


def _wildcard(word: str) -> str | None:
    """The glob of a ``<pattern>`` group name (quoted or not), None for a literal word."""
    bare = _unquote(word)
    return bare[1:-1] if len(bare) > 2 and bare[0] == "<" and bare[-1] == ">" else None


def _setting(words: tuple[str, ...]) -> tuple[str, ...] | None:
    """The setting a single-valued statement sets (its words but the value), None for any other."""
    return words[:-1] if len(words) >= 2 and words[-2] in SINGLE_VALUED else None


def _statements(set_text: str) -> list[tuple[str, ...]]:
    """The words after ``set`` of each set line, a trailing ``[ a b ]`` list (as typed, ``set apply-groups
    [ A B ]``; ``display set`` prints one line per member) as one statement per member."""
    found: list[tuple[str, ...]] = []
    for line in set_text.splitlines():
        words = tuple(_words(line.strip()))
        if words[:1] != ("set",) or len(words) < 2:
            continue
        if "[" in words and words[-1] == "]":
            at = words.index("[")
            found += [(*words[1:at], member) for member in words[at + 1:-1]]
        else:
            found.append(words[1:])
    return found


def _names(word: str, name: str) -> bool:
    """True when a group's ``word`` (a literal or a ``<glob>``) names the configuration's ``name``."""
    pattern = _wildcard(word)
    return _unquote(word) == _unquote(name) if pattern is None else fnmatch.fnmatchcase(_unquote(name), pattern)


# Interface ranges (``interfaces interface-range DESKS { member-range ge-0/0/10 to ge-0/0/19; member
# ge-1/0/3; unit 0 { ... } }``): every member port runs the range's statements as if they were its own,
# under its own local ones (a local single value wins), before anything a group gives. They are
# inherited lines like a group's, named ``interface-range DESKS``: the plan never edits a range.
RANGE = "interface-range"
_PORT = re.compile(r"^(?P<kind>[a-z]+-)(?P<fpc>[0-9]+)/(?P<pic>[0-9]+)/(?P<port>[0-9]+)$")
_PORTS_PER_PIC = 48  # ``*`` in a member: 0 through 47, whatever the hardware has (Junos' own rule)


def _member_names(pattern: str) -> list[str]:
    """The ports a ``member`` names: a name, or one with ``*`` (0-47) or ``[a-b]`` at a position."""
    parts = re.split(r"(\*|\[[0-9]+-[0-9]+\])", _unquote(pattern))
    names = [""]
    for part in parts:
        if part == "*":
            choices = [str(n) for n in range(_PORTS_PER_PIC)]
        elif part.startswith("[") and part.endswith("]"):
            low, high = (int(n) for n in part[1:-1].split("-"))
            choices = [str(n) for n in range(low, high + 1)]
        else:
            choices = [part]
        names = [name + choice for name in names for choice in choices]
        if len(names) > 4096:
            return []  # a pattern over whole chassis: not expanded (README)
    return names


def _member_range(first: str, last: str) -> list[str]:
    """The ports of ``member-range first to last``: same kind, in lexical (fpc, pic, port) order, 48 a PIC."""
    a, b = _PORT.match(_unquote(first)), _PORT.match(_unquote(last))
    if a is None or b is None or a["kind"] != b["kind"]:
        return [name for name in (_unquote(first), _unquote(last))]
    start = (int(a["fpc"]), int(a["pic"]), int(a["port"]))
    end = (int(b["fpc"]), int(b["pic"]), int(b["port"]))
    names = []
    for fpc in range(start[0], end[0] + 1):
        for pic in range(0 if fpc > start[0] else start[1], (end[1] if fpc == end[0] else 3) + 1):
            for port in range(max(_PORTS_PER_PIC, end[2] + 1)):
                if start <= (fpc, pic, port) <= end:
                    names.append(f"{a['kind']}{fpc}/{pic}/{port}")
    return names


def _ranges(statements: list[tuple[str, ...]]) -> list[tuple[str, list[str], list[tuple[str, ...]]]]:
    """(name, member ports, statements below the range) of every ``interfaces interface-range``."""
    found: dict[str, tuple[list[str], list[tuple[str, ...]]]] = {}
    for words in statements:
        if len(words) < 4 or words[:2] != ("interfaces", RANGE):
            continue
        members, below = found.setdefault(words[2], ([], []))
        rest = words[3:]
        if rest[0] == "member" and len(rest) == 2:
            members += _member_names(rest[1])
        elif rest[0] == "member-range" and len(rest) == 4 and rest[2] == "to":
            members += _member_range(rest[1], rest[3])
        elif rest[0] not in _APPLY:
            below.append(rest)
    return [(name, list(dict.fromkeys(members)), below) for name, (members, below) in found.items()]


def inherited(text: str) -> list[tuple[str, str, str]]:
    """(effective ``set`` line, group name, the group statement it comes from) for every statement the
    configuration ``text`` (either form) inherits from its interface ranges (group ``interface-range
    NAME``) and its groups, and does not have itself."""
    set_text = to_set(text) if is_brace_form(text) else text
    groups: dict[str, list[tuple[str, ...]]] = {}
    local: list[tuple[str, ...]] = []
    applies: list[tuple[tuple[str, ...], str]] = []
    excepts: list[tuple[tuple[str, ...], str]] = []
    statements = _statements(set_text)
    ranges = _ranges(statements) if RANGE in set_text else []
    for words in statements:
        if words[0] == "groups" and len(words) > 2:
            if words[-2] not in _APPLY:  # apply-groups inside a group: not modelled (README)
                groups.setdefault(_unquote(words[1]), []).append(words[2:])
            continue
        if len(words) >= 2 and words[-2] == "apply-groups":
            applies.append((words[:-2], _unquote(words[-1])))
        elif len(words) >= 2 and words[-2] == "apply-groups-except":
            excepts.append((words[:-2], _unquote(words[-1])))
        else:
            local.append(words)
    if not ranges and (not applies or not groups):
        return []
    have = set(local)
    settings = {s for s in map(_setting, local) if s is not None}
    found: list[tuple[str, str, str]] = []
    for name, members, below in ranges:  # the range's statements, under each member's own
        for port in members:
            for statement in below:
                words = ("interfaces", port, *statement)
                setting = _setting(words)
                if words in have or setting is not None and setting in settings:
                    continue
                have.add(words)
                local.append(words)
                if setting is not None:
                    settings.add(setting)
                found.append(("set " + " ".join(words), f"{RANGE} {name}",
                              "set " + " ".join(("interfaces", RANGE, name, *statement))))
    if not applies or not groups:
        return found
    existing = local + [where for where, _ in (*applies, *excepts)]  # a port with only apply-groups exists too

    def expand(prefix: tuple[str, ...], rest: tuple[str, ...]) -> list[tuple[str, ...]]:
        if not rest:
            return [prefix]
        pattern = _wildcard(rest[0])
        if pattern is None:
            return expand((*prefix, rest[0]), rest[1:])
        names = dict.fromkeys(w[len(prefix)] for w in existing if w[:len(prefix)] == prefix and len(w) > len(prefix))
        return [found for name in names if _names(rest[0], name) for found in expand((*prefix, name), rest[1:])]

    ordered = sorted(enumerate(applies), key=lambda item: (-len(item[1][0]), item[0]))  # deeper first, then listed
    for _, (point, group) in ordered:
        statements = groups.get(group, [])
        literal_first = sorted(statements, key=lambda s: any(_wildcard(w) is not None for w in s))
        for statement in literal_first:
            if len(statement) <= len(point) or not all(map(_names, statement[:len(point)], point)):
                continue  # not below the level the group is applied at
            for words in expand(point, statement[len(point):]):
                if words in have or any(words[:len(where)] == where and name == group and len(where) >= len(point)
                                        for where, name in excepts):
                    continue
                setting = _setting(words)
                if setting is not None and setting in settings:
                    continue  # a local statement or a group before this one set it
                have.add(words)
                existing.append(words)
                if setting is not None:
                    settings.add(setting)
                found.append(("set " + " ".join(words), group, "set groups " + " ".join((group, *statement))))
    return found


def setting_of(command: str) -> tuple[str, ...] | None:
    """The single-valued setting a ``set``/``delete`` command sets or deletes (None for any other)."""
    return _setting(tuple(_words(command))[1:])
