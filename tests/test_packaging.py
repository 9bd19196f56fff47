"""Our top-level import names (engine, drivers, intents, templates, intent_engine) are generic, and
other distributions on PyPI use them too. Two distributions installing one name overwrite each
other's files, so the install is guarded: the README says pipx or a dedicated venv, and this fails
when anything else in the test venv claims one of our names."""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from tests.conftest import fake_distribution

OURS = "intent-engine"
TOP_LEVEL = ("engine", "drivers", "intents", "templates", "intent_engine")


def clashes(claims: Mapping[str, list[str]]) -> list[str]:
    """Each of our names that a distribution other than ours provides, with who provides it."""
    return [f"{name}: also provided by {', '.join(sorted(set(claims[name]) - {OURS}))}"
            for name in TOP_LEVEL if set(claims.get(name, ())) - {OURS}]


def test_no_other_installed_distribution_claims_our_top_level_names() -> None:
    claims = packages_distributions()
    assert all(OURS in claims.get(name, ()) for name in TOP_LEVEL), "intent-engine is not installed here"
    found = clashes(claims)
    assert found == [], "install intent-engine with pipx or in a venv of its own:\n" + "\n".join(found)


def test_a_distribution_claiming_engine_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_distribution(tmp_path, "enginekit", top_level_txt="engine\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert clashes(packages_distributions()) == ["engine: also provided by enginekit"]
