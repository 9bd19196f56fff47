"""Where a value was written: SourceDoc.at/at_key find it along the node tree, on demand (engine.yamlsrc).

Expected positions are counted by hand from the text below (1-based line and column)."""

from __future__ import annotations

import pytest

from engine.yamlsrc import C_LOADER, PY_LOADER, load_text

TEXT = """\
base: &b {x: 1, y: [1, 2]}
m:
  <<: *b
  w: two
seq:
  - a
  - {k: v}
"1": one
deep: {a: {b: [x, {c: d}]}}
"""

LOADERS = [PY_LOADER] + ([C_LOADER] if C_LOADER is not None else [])


@pytest.mark.parametrize("loader", LOADERS, ids=lambda loader: loader.__name__)
def test_positions_along_the_path(loader: type) -> None:
    doc = load_text(TEXT, "site.yaml", loader_class=loader)
    assert doc.data["m"] == {"x": 1, "y": [1, 2], "w": "two"}

    def at(*path: str | int) -> tuple[int, int]:
        where = doc.at(path)
        assert where.file == "site.yaml" and where.json_path == path
        return where.line, where.col

    def at_key(*path: str | int) -> tuple[int, int]:
        where = doc.at_key(path)
        return where.line, where.col

    assert at() == (1, 1)
    assert at("m", "w") == (4, 6)
    assert at_key("m", "w") == (4, 3)
    assert at("m", "x") == (1, 14)  # a merged key is where the merged mapping wrote it
    assert at("m", "y", 1) == (1, 24)
    assert at("seq", 1, "k") == (7, 9)
    assert at_key("seq", 1, "k") == (7, 6)
    assert at("seq", 0) == (6, 5)
    assert at_key("seq", 0) == (6, 5)  # a list item has no key: its own position
    assert at("1") == (8, 6)
    assert at("deep", "a", "b", 1, "c") == (9, 23)
    # nearest written ancestor for what is not there
    assert at("seq", 7) == at("seq") == (6, 3)
    assert at("m", "nope", "deeper") == at("m") == (3, 3)
    assert at("nothing") == (1, 1)
    assert at_key("m", "nope") == (3, 3)
    assert at("seq", "0") == (6, 3)  # a list is indexed by numbers, not strings
    assert at("1", 0) == (8, 6)


def test_an_empty_document_is_at_the_start() -> None:
    doc = load_text("", "empty.yaml")
    assert (doc.at(("x",)).line, doc.at(("x",)).col) == (1, 1)


REPEATS = """\
a: [yes, "yes", 'yes', 1, "1", 1.5, "1.5", ~, "~", null, 2001-01-01, "2001-01-01", 0x1f, "0x1f"]
b: {yes: yes, "no": no, "1": 1, x: "x", "<<": merge}
c: [yes, 1, 1.5, ~, 2001-01-01, 0x1f, !!str 1, !!str yes]
"""


@pytest.mark.parametrize("loader", LOADERS, ids=lambda loader: loader.__name__)
def test_each_text_resolved_once_gives_safe_loads_types(loader: type) -> None:
    import yaml

    # the same text plain and quoted, again and again: a plain text's tag is remembered per document
    doc = load_text(REPEATS.replace("yes: yes", "'yes': yes"), "site.yaml", loader_class=loader)
    assert doc.data == yaml.safe_load(REPEATS.replace("yes: yes", "'yes': yes"))
    assert [type(v).__name__ for v in doc.data["c"]] == ["bool", "int", "float", "NoneType", "date", "int", "str", "str"]
