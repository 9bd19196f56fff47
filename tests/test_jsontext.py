"""engine.jsontext.dumps is json.dumps(indent=2) byte for byte, whichever encoder writes it."""

from __future__ import annotations

import json
import random
import string
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import jsontext
from engine.build import Reservation
from engine.compiler import compile_site
from engine.errors import IntentError, ValidationError
from engine.loader import load_site
from engine.plan import Plan, RunningState, make_plan, read_plan_file, seal
from tests.brownfield import test_corpus

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


def _corpus_plans(root: Path) -> list[Plan]:
    """Plans of the golden sites (against their running state, where they have one) and of the brownfield
    corpus taken over: every kind of device plan the engine makes, fresh and brownfield."""
    plans = []
    for path in sorted((Path(__file__).parent / "golden").glob("*/*/site.yaml")):
        running = path.parent / "running"
        site = load_site(path)
        try:
            plans.append(make_plan(site, compile_site(site), RunningState(running if running.is_dir() else root)))
        except ValidationError:
            continue  # a golden case that is refused has no plan
    for name in test_corpus.CASES:
        entry = test_corpus.MANIFEST[name]
        where = root / name.replace("/", "-")
        site_file = test_corpus.write_site(where, name.split("/")[0], (test_corpus.HERE / "corpus" / name).read_text(),
                                           entry["roles"], True)
        site = load_site(site_file)
        plans.append(make_plan(site, compile_site(site), RunningState(where / "running")))
    return plans


def test_a_device_plan_is_text_flags_and_lines_so_json_form_skips_it(tmp_path: Path) -> None:
    """Plan.json_form looks for floats outside the devices' plans only: what they hold must be exactly
    strings, booleans and lists of strings, and the answer that of the walk over all of it."""
    plans = _corpus_plans(tmp_path)
    assert len(plans) > 40
    for plan in plans:
        for device in plan.devices.values():
            for value in device.as_dict().values():
                assert type(value) in (str, bool) or (type(value) is list and all(type(v) is str for v in value))
        assert plan.json_form().floats is jsontext.has_float(plan.as_dict()) is False
    numbered = replace(plans[0], reservations=(Reservation("d", "eth0", 10**9, 9 * 10**8, 0.5, ("x",)),))
    assert numbered.json_form().floats is jsontext.has_float(numbered.as_dict()) is True


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(["platform", "changed", "diff", "config", "fresh", "commands", "rollback", "notes"]),
       number=st.floats(), listed=st.booleans())
def test_a_plan_file_whose_device_plan_holds_a_number_is_refused(tmp_path: Path, key: str, number: float,
                                                                  listed: bool) -> None:
    """A plan read from a file has devices of the same types (json_form relies on it): a sealed file with a
    number in a device's plan is malformed, whatever the number."""
    site_file = sorted((Path(__file__).parent / "golden").glob("*/*/site.yaml"))[0]
    site = load_site(site_file)
    compilation = compile_site(site)
    document = json.loads(make_plan(site, compilation, RunningState(tmp_path)).plan_file(str(site_file),
                                                                                         compilation.configs, site))
    device = sorted(document["devices"])[0]
    document["devices"][device][key] = [number] if listed else number
    path = tmp_path / "plan.json"
    path.write_bytes(seal(document))
    with pytest.raises(IntentError, match="malformed plan file"):
        read_plan_file(path)
