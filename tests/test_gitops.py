"""GitOps: plan files applied exactly (stale ones refused), the site lock, the PR comment (golden),
the example CI workflows' own commands, and rollback to an older snapshot."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from engine.loader import load_site
from engine.state import StateDir
from tests.conftest import ROOT, run_intent
from tests.labs import Lab, running_lab
from tests.test_linux_lab import SITE

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespaces")


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    with running_lab(tmp_path, SITE) as built:
        yield built


@root_only
def test_a_plan_file_is_applied_exactly_and_refused_once_stale(lab: Lab) -> None:
    plan = lab.root / "plan.json"
    lab.intent("plan", "--out", str(plan))
    document = json.loads(plan.read_text())
    assert document["format"] == "intent-plan/3" and set(document["running_sha256"]) == {"acc1", "acc2", "core1"}
    lab.write("site.yaml", SITE.replace("rate: 30Mbps", "rate: 40Mbps"))  # the site moves on after the review
    result = run_intent("apply", str(plan), "--yes", env={"INTENT_STATE_DIR": str(lab.root / "state")})
    assert result.returncode == 0, result.stderr
    assert "rate 30Mbit" in lab.sh("core1", "tc", "class", "show", "dev", "eth2")  # the plan, not the new site
    history = json.loads((lab.root / "state" / "lab" / "applies.jsonl").read_text().splitlines()[-1])
    assert history["plan_hash"] == document["plan_hash"]
    again = run_intent("apply", str(plan), "--yes", env={"INTENT_STATE_DIR": str(lab.root / "state")})
    assert again.returncode == 1
    assert f"{plan} is stale: acc1, acc2, core1 changed since it was planned; plan again" in again.stderr


@root_only
def test_a_second_apply_is_refused_while_the_site_is_locked(lab: Lab) -> None:
    state = StateDir.for_site(load_site(lab.site), lab.root / "state")
    with state.lock("apply"):  # this test process holds it: alive
        result = lab.intent("apply", "--yes", check=1)
        assert re.search(r"site is locked by \S+ \(apply, pid \d+ on \S+\) since \d{4}-", result.stderr)
        refused = lab.intent("unlock", check=1)
        assert "it is still running (use --force" in refused.stderr
    (state.root / "lock").write_text(json.dumps({"user": "bob", "pid": 2**22 + 7, "host": os.uname().nodename,
                                                 "action": "apply", "since": "2026-11-21T06:00:00Z"}))
    stale = lab.intent("apply", "--yes", check=1)
    assert "that process is gone: remove the stale lock with `intent unlock`" in stale.stderr
    assert "removed the lock of bob" in lab.intent("unlock").stdout
    lab.intent("apply", "--yes")


@root_only
def test_rollback_to_an_older_snapshot_restores_it_exactly(lab: Lab) -> None:
    lab.intent("apply", "--yes")
    first = json.loads((lab.root / "state" / "lab" / "applies.jsonl").read_text().splitlines()[-1])
    older = first["snapshots"]["core1"]["after"]
    lab.write("site.yaml", SITE.replace("rate: 30Mbps", "rate: 40Mbps"))
    lab.intent("apply", "--yes")
    assert lab.dump("core1") != run_intent("show", older, "--state-dir", str(lab.root / "state")).stdout
    result = lab.intent("rollback", "--to", older[:10])
    assert f"rollback to snapshot {older[:12]}: ok" in result.stdout
    import hashlib

    assert hashlib.sha256(lab.dump("core1").encode()).hexdigest() == older  # bit for bit


def test_markdown_plan_is_the_pr_comment(update_golden: bool) -> None:
    result = run_intent("plan", "examples/campus/site.yaml", "--running", "examples/campus/running", "--format",
                        "markdown", cwd=ROOT)
    golden = ROOT / "tests" / "golden" / "markdown" / "campus.md"
    if update_golden:
        golden.write_text(result.stdout)
    assert result.stdout == golden.read_text()
    assert "| device | interface | capacity | reservable | reserved | headroom | intents |" in result.stdout
    assert "<details>" in result.stdout and "<masked>" in result.stdout and "n3tw0rkRO" not in result.stdout


def _intent_lines(script: str) -> list[str]:
    return [line.strip() for line in script.splitlines() if line.strip().startswith("intent ")]


@root_only
@pytest.mark.parametrize("workflow", ["github-actions.yml", "gitlab-ci.yml"])
def test_the_example_workflows_commands_run(workflow: str, lab: Lab) -> None:
    document = yaml.safe_load((ROOT / "examples" / "ci" / workflow).read_text())
    if workflow.startswith("github"):
        steps = {name: [s.get("run", "") for s in job["steps"]] for name, job in document["jobs"].items()}
        plan_lines = [line for run in steps["plan"] for line in _intent_lines(run)]
        apply_lines = [line for run in steps["apply"] for line in _intent_lines(run)]
        triggers = document.get("on", document.get(True))  # YAML 1.1 reads the key `on` as true
        assert "pull_request" in triggers and triggers["push"]["branches"] == ["main"]
    else:
        plan_lines = [line for item in document["plan"]["script"] for line in _intent_lines(item)]
        apply_lines = [line for item in document["apply"]["script"] for line in _intent_lines(item)]
    assert plan_lines == ['intent validate "$SITE"',
                          'intent plan "$SITE" --format markdown --out plan.json > plan.md']
    assert apply_lines == ["intent apply plan.json --yes"]
    env = {**os.environ, "SITE": str(lab.site), "INTENT_STATE_DIR": str(lab.root / "state"),
           "PATH": f"{Path(__import__('sys').executable).parent}:{os.environ['PATH']}"}
    for line in plan_lines + apply_lines:  # the plan job on the pull request, then the apply job on merge
        done = subprocess.run(line, shell=True, cwd=lab.root, env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"{line}: {done.stderr}"
    comment = (lab.root / "plan.md").read_text()
    assert comment.startswith("### intent plan: site `lab`")
    assert "rate 30Mbit" in lab.sh("core1", "tc", "class", "show", "dev", "eth2")
