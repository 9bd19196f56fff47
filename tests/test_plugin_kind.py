"""A plugin kind is as capable as a built-in one: tests/plugin_kind is a distribution of its own
(``acme-intents``), pip-installed into a temporary directory and found only through its
``intent_engine.kinds`` entry point. It is validated against its own schema, compiles through the
builder into every platform's configuration, describes itself in the plan, and its verify step is
run and judged with real traffic in the lab."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import SiteDir, fake_distribution, run_intent

HERE = Path(__file__).resolve().parent

SITE = """\
site: acme
inventory: inventory.yaml
topology: topology.yaml
intents:
  - name: users
    vlan: {id: 10, subnet: 10.10.0.0/24, gateway: core1, access: [acc1:eth3]}
  - name: guest
    vlan: {id: 30, subnet: 10.30.0.0/24, gateway: core1, access: [core1:eth3]}
  - name: guest-cap
    acme_cap: {vlan: 30, share: 10%}
"""
INVENTORY = """\
all:
  vars: {platform: linux}
  hosts:
    core1: {netns: NS-core1}
    acc1: {netns: NS-acc1}
"""
TOPOLOGY = "links:\n  - {a: core1:eth1, b: acc1:eth0, bandwidth: 100Mbps}\n"


@pytest.fixture(scope="module")
def plugin(install_distribution: Callable[[str, str], Path]) -> Path:
    """The plugin installed into a directory of its own (tests/conftest.py)."""
    return install_distribution("plugin_kind", "acme_intents")


def _env(plugin: Path) -> dict[str, str]:
    return {"PYTHONPATH": os.pathsep.join([str(plugin), str(HERE.parent)])}


def site(tmp_path: Path, prefix: str = "acme") -> SiteDir:
    built = SiteDir(tmp_path)
    built.write("inventory.yaml", INVENTORY.replace("NS-", f"{prefix}-"))
    built.write("topology.yaml", TOPOLOGY)
    built.write("site.yaml", SITE)
    return built


def test_without_the_plugin_the_kind_is_unknown(tmp_path: Path) -> None:
    result = run_intent("validate", str(site(tmp_path).site))
    assert result.returncode == 1 and "acme_cap" in result.stderr


def test_the_plugin_kind_validates_compiles_and_plans_like_a_built_in(plugin: Path, tmp_path: Path) -> None:
    built = site(tmp_path)
    (tmp_path / "running").mkdir()
    result = run_intent("validate", str(built.site), env=_env(plugin))
    assert result.returncode == 0, result.stderr
    result = run_intent("plan", str(built.site), "--running", str(tmp_path / "running"), "--format", "json",
                        env=_env(plugin))
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    summary = {i["name"]: i for i in plan["intents"]}["guest-cap"]
    assert summary["kind"] == "acme_cap" and summary["devices"] == ["core1"]
    assert summary["summary"] == "acme: VLAN 30 held to 10% (10Mbps) of its gateway's slowest link"
    core1 = plan["devices"]["core1"]["diff"]
    assert "+ip link add ifb30 type ifb" in core1  # the builder's cap, rendered for Linux: VLAN 30 shaped
    assert "+tc class replace dev ifb30 parent 1: classid 1:1 htb rate 10mbit ceil 10mbit" in core1
    assert "ifb30" not in plan["devices"]["acc1"]["diff"]


def test_the_plugin_kind_schema_is_enforced_with_file_and_line(plugin: Path, tmp_path: Path) -> None:
    built = site(tmp_path)
    built.write("site.yaml", SITE.replace("share: 10%", "share: lots"))
    result = run_intent("validate", str(built.site), env=_env(plugin))
    assert result.returncode == 1
    assert f"{built.site}:10:" in result.stderr and "share" in result.stderr
    built.write("site.yaml", SITE.replace("acme_cap: {vlan: 30", "acme_cap: {vlan: 40"))
    result = run_intent("validate", str(built.site), env=_env(plugin))
    assert result.returncode == 1 and "acme_cap: VLAN 40 is not defined" in result.stderr
    schema = json.loads(run_intent("schema", "site", env=_env(plugin)).stdout)
    assert "acme_cap" in json.dumps(schema)


def test_the_plugin_kind_contributes_its_verify_step(plugin: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(plugin))
    from engine.checks import Check
    from engine.compiler import compile_site
    from engine.labspec import lab_spec
    from engine.loader import load_site
    from engine.verify import plan_checks

    loaded = load_site(site(tmp_path).site)
    compilation = compile_site(loaded)
    steps = [s for s in plan_checks(loaded, compilation, lab_spec(loaded)) if s.intent == "guest-cap"]
    assert [(s.direction, s.expected_bps, s.at_most) for s in steps if isinstance(s, Check)] == [
        ("acme: upload from VLAN 30", 10_000_000, True)]
    assert steps[0].measured.source.netns == "h-core1-eth3" and steps[0].measured.destination.netns == "h-acc1-eth3"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespaces and traffic")
@pytest.mark.measures
def test_intent_verify_measures_the_plugin_kind_with_real_traffic(plugin: Path, tmp_path: Path) -> None:
    import uuid

    built = site(tmp_path, prefix=f"p{uuid.uuid4().hex[:6]}")
    env = {**_env(plugin), "INTENT_STATE_DIR": str(tmp_path / "state")}
    try:
        for command in (("lab", "up"), ("apply", "--yes")):
            result = run_intent(*command, str(built.site), env=env)
            assert result.returncode == 0, result.stdout + result.stderr
        result = run_intent("verify", str(built.site), "--format", "json", "--seconds", "3", env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        report = {i["name"]: i for i in json.loads(result.stdout)["intents"]}
        cap = report["guest-cap"]
        assert cap["kind"] == "acme_cap" and cap["ok"] and cap["expected_bps"] == 10_000_000
        assert 5_000_000 < cap["measured_bps"] <= 11_000_000
        assert [d["direction"] for d in cap["directions"]] == ["acme: upload from VLAN 30"]
    finally:
        run_intent("lab", "down", str(built.site), env=env)


def test_a_plugin_kind_that_claims_a_taken_name_is_refused(plugin: Path, tmp_path: Path) -> None:
    """A distribution whose kind entry point is called ``vlan`` (a built-in), or a second one called
    ``acme_cap``: refused at once with both sources named, never silently shadowed by the first."""
    for name, first in (("vlan", "intents.vlan (built in)"), ("acme_cap", "acme_intents:KIND (acme-intents)")):
        other = tmp_path / name
        fake_distribution(other, "acme-rival", entry_points_txt=f"[intent_engine.kinds]\n{name} = acme_rival:KIND\n")
        env = _env(plugin)
        env["PYTHONPATH"] = os.pathsep.join([str(other), env["PYTHONPATH"]])
        result = run_intent("validate", str(site(tmp_path / f"site-{name}").site), env=env)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert f"two intent kinds are named {name!r}: " in result.stderr, result.stderr
        assert first in result.stderr and "acme_rival:KIND (acme-rival)" in result.stderr  # both, in either order


def test_a_plugin_kind_that_cannot_be_imported_is_named(tmp_path: Path) -> None:
    other = tmp_path / "broken"
    fake_distribution(other, "acme-broken", entry_points_txt="[intent_engine.kinds]\nacme_gone = acme_gone:KIND\n")
    result = run_intent("validate", str(site(tmp_path / "site").site), env={"PYTHONPATH": str(other)})
    assert result.returncode == 1 and "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert "the intent kind 'acme_gone' (acme_gone:KIND (acme-broken)) cannot be loaded: ModuleNotFoundError" \
        in result.stderr, result.stderr
