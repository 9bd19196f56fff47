"""Golden files: tests/golden/<platform>/<case>/ holds a site and the expected config and diff of
every device. Regenerate only with ``pytest --update-golden`` (``make golden``) and review the
change like code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.compiler import compile_site
from engine.loader import load_site
from engine.plan import RunningState, make_plan
from tests.brownfield import checker

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(path.parent for path in GOLDEN.glob("*/*/site.yaml"))


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_golden(case: Path, update_golden: bool, tmp_path: Path) -> None:
    running = case / "running" if (case / "running").is_dir() else tmp_path
    site = load_site(case / "site.yaml")
    plan = make_plan(site, compile_site(site), RunningState(running))
    expected_dir = case / "expected"
    produced: dict[str, str] = {}
    for name, device in sorted(plan.devices.items()):
        produced[f"{name}.config"] = device.config
        produced[f"{name}.diff"] = device.diff
        if device.platform != "linux":
            produced[f"{name}.commands"] = "\n".join(device.commands) + "\n"
    produced["reservations.json"] = json.dumps([r.as_dict() for r in plan.reservations], indent=2) + "\n"
    if update_golden:
        expected_dir.mkdir(exist_ok=True)
        for stale in expected_dir.iterdir():
            stale.unlink()
        for filename, text in produced.items():
            (expected_dir / filename).write_text(text)
        return
    assert expected_dir.is_dir(), f"no golden files for {case}: run `make golden` and review them"
    assert sorted(p.name for p in expected_dir.iterdir()) == sorted(produced)
    for filename, text in produced.items():
        assert (expected_dir / filename).read_text() == text, f"{case.relative_to(GOLDEN)}/expected/{filename} differs"


BROWNFIELD = [c for c in CASES if c.name == "brownfield" and c.parent.name != "linux"]


@pytest.mark.parametrize("case", BROWNFIELD, ids=[c.parent.name for c in BROWNFIELD])
def test_running_plus_commands_is_desired_and_rollback_restores_running(case: Path) -> None:
    """The circular property on every vendor platform's brownfield case, judged by tests/brownfield/checker."""
    site = load_site(case / "site.yaml")
    compilation = compile_site(site)
    plan = make_plan(site, compilation, RunningState(case / "running"))
    checked = 0
    for name, config in compilation.configs.items():
        path = case / "running" / f"{name}.cfg"
        if not path.exists():
            continue
        checker.check(config.platform, path.read_text(), config.text, plan.devices[name])
        checked += 1
    assert checked, f"{case} has no running configs"
