"""engine.jsontext.dumps is json.dumps(indent=2) byte for byte, whichever encoder writes it."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path
from typing import Any

import pytest

from engine import jsontext
from engine.compiler import compile_site
from engine.loader import load_site
from engine.plan import RunningState, make_plan

ALPHABET = string.printable + "\x00\x1b\x7f\u00e9\u2028\U0001f600\"\\/"


def random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 4 else 5)
    if kind == 0:
        return "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(12)))
    if kind == 1:
        return rng.choice([0, -1, 7, 2**40, -(2**63), 2**64 + 3])
    if kind == 2:
        return rng.choice([True, False, None])
    if kind == 3:
        return rng.choice([0.5, 1e16, 1e-7, 3.0])
    if kind == 4:
        return "".join(rng.choice(string.ascii_letters) for _ in range(rng.randrange(6)))
    if kind in (5, 6):
        return {"".join(rng.choice(string.ascii_letters + "é") for _ in range(rng.randrange(1, 5))): random_value(rng, depth + 1)
                for _ in range(rng.randrange(4))}
    return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))] if kind == 7 else ()


@pytest.mark.parametrize("seed", range(300))
def test_random_values(seed: int) -> None:
    value = random_value(random.Random(seed))
    for sort_keys in (False, True):
        assert jsontext.dumps(value, sort_keys=sort_keys) == json.dumps(value, indent=2, sort_keys=sort_keys)
        assert jsontext.dumps_bytes(value, sort_keys=sort_keys) == json.dumps(value, indent=2, sort_keys=sort_keys).encode()
    assert jsontext.compact(value) == json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def test_non_string_keys_and_empty_containers() -> None:
    for value in ({1: "a", "b": [{}, [], ()]}, {"x": {"y": {}}}, [], {}, "é", 2**70):
        assert jsontext.dumps(value) == json.dumps(value, indent=2)
        if not isinstance(value, dict) or all(isinstance(key, str) for key in value):  # json cannot sort 1 and "b"
            assert jsontext.compact(value) == json.dumps(value, sort_keys=True, separators=(",", ":"),
                                                         ensure_ascii=True).encode()


def test_plans_of_every_golden_site(tmp_path: Path) -> None:
    sites = sorted((Path(__file__).parent / "golden").glob("*/*/site.yaml"))
    assert sites
    for path in sites:
        site = load_site(path)
        plan = make_plan(site, compile_site(site), RunningState(tmp_path))
        assert plan.to_json() == json.dumps(plan.as_dict(), indent=2) + "\n"
