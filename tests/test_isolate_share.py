"""isolate and qos_share: where they compile, how Linux renders them on each kernel, what validation
refuses, the order the driver builds them in, and plans that show them (no root needed)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from drivers.linux.ops import plan_ops
from engine import linux, remediate
from engine.compiler import compile_site
from engine.errors import ValidationError
from engine.loader import load_site
from engine.plan import RunningState, make_plan
from engine.render import render
from tests.brownfield import checker
from tests.conftest import SiteDir, lab_inventory, lab_site, lab_topology, run_intent
from tests.test_compile import ECMP_INVENTORY, ECMP_TOPOLOGY

LAB_INVENTORY = lab_inventory()
LAB_TOPOLOGY = lab_topology("100Mbps", "100Mbps")
VLANS = lab_site(None, guest=True)
BOTH = VLANS + """\
  - name: keep-guests-out
    isolate:
      between: [{vlan: 30}, {vlan: 10}]
      allow: [{protocol: tcp, ports: 8000-8010}, {protocol: udp, ports: 53}]
  - name: fair
    qos_share:
      weights: [{vlan: 10, weight: 3}, {vlan: 30, weight: 1}]
"""


@pytest.fixture
def lab(site_dir: SiteDir) -> SiteDir:
    site_dir.write("inventory.yaml", LAB_INVENTORY)
    site_dir.write("topology.yaml", LAB_TOPOLOGY)
    site_dir.write("site.yaml", BOTH)
    return site_dir


def test_isolate_is_enforced_on_both_gateways_and_every_router_between(site_dir: SiteDir) -> None:
    site_dir.write("inventory.yaml", ECMP_INVENTORY)
    site_dir.write("topology.yaml", ECMP_TOPOLOGY)
    site_dir.write("site.yaml", """\
        site: ecmp
        inventory: inventory.yaml
        topology: topology.yaml
        intents:
          - name: users
            vlan: {id: 10, subnet: 10.10.0.0/24, gateway: r1, access: [s1:eth3]}
          - name: video
            vlan: {id: 20, subnet: 10.20.0.0/24, gateway: r2, access: [s2:eth3]}
          - name: apart
            isolate: {between: [{vlan: 10}, {vlan: 20}]}
        """)
    compilation = compile_site(load_site(site_dir.site))
    where = {name: [(i.subnet, i.peer_subnet) for i in model.isolations] for name, model in compilation.models.items()}
    both_ways = [("10.10.0.0/24", "10.20.0.0/24"), ("10.20.0.0/24", "10.10.0.0/24")]
    # r1 and r2 route the VLANs; a and b are the two equal-cost routers between them; s1/s2 only switch.
    assert where == {"r1": both_ways, "a": both_ways, "b": both_ways, "r2": both_ways, "s1": [], "s2": []}
    rules = compilation.configs["a"].document["rules"]  # type: ignore[index]
    assert [(r["src"], r["dst"], r["action"]) for r in rules] == [
        ("10.10.0.0/24", "10.20.0.0/24", "prohibit"), ("10.20.0.0/24", "10.10.0.0/24", "prohibit")]
    # Where each direction arrives on the routers between (vendor platforms filter those ports; Linux
    # filters device-wide): 10 -> 20 comes in from r1's side, 20 -> 10 from r2's; the gateways have none.
    arrive = {name: [(i.vlan, i.transit) for i in model.isolations] for name, model in compilation.models.items()
              if model.isolations}
    assert arrive == {"r1": [(10, ()), (20, ())], "a": [(10, ("eth0",)), (20, ("eth1",))],
                      "b": [(10, ("eth0",)), (20, ("eth1",))], "r2": [(10, ()), (20, ())]}


def test_a_vendor_router_between_the_gateways_filters_the_ports_the_pair_arrives_on() -> None:
    """The golden transit case (r1 - t1 - t2 - r2, VLAN 10 at r1 isolated from VLAN 20 at r2): both transit
    routers get the transit filter inbound on both routed ports, on every vendor platform; the gateways
    keep theirs on the SVI / irb unit only."""
    golden = Path(__file__).parent / "golden"
    applied = {"ios": " ip access-group INTENT-ISOLATE-TRANSIT in", "eos": " ip access-group INTENT-ISOLATE-TRANSIT in",
               "nxos": " ip access-group INTENT-ISOLATE-TRANSIT in",
               "junos": "family inet filter input-list INTENT-ISOLATE-TRANSIT"}
    for platform, line in applied.items():
        site = load_site(golden / platform / "transit" / "site.yaml")
        configs = compile_site(site).configs
        for router in ("t1", "t2"):
            text = configs[router].text
            assert text.count(line) == 2, (platform, router)
            assert "10.10.0.0" in text and "10.20.0.0" in text  # both directions in the one filter
        for gateway in ("r1", "r2"):
            assert "INTENT-ISOLATE-TRANSIT" not in configs[gateway].text, (platform, gateway)


def test_exceptions_pass_forward_and_reply_packets_before_the_prohibit(lab: SiteDir) -> None:
    text = compile_site(load_site(lab.site)).configs["core1"].text
    rules = [line for line in text.splitlines() if line.startswith("ip rule")]
    allow = [r for r in rules if r.endswith("lookup main")]
    prohibit = [r for r in rules if r.endswith("prohibit")]
    assert len(allow) == 8 and len(prohibit) == 2 and rules == allow + prohibit
    assert " from 10.30.0.0/24 to 10.10.0.0/24 ipproto udp dport 53 lookup main" in text
    assert " from 10.10.0.0/24 to 10.30.0.0/24 ipproto udp sport 53 lookup main" in text  # the reply to a DNS query
    assert " from 10.10.0.0/24 to 10.30.0.0/24 ipproto tcp dport 8000-8010 lookup main" in text
    allow_pref = int(allow[0].split()[4])
    assert all(int(r.split()[4]) < int(p.split()[4]) for r in allow for p in prohibit)
    assert all(int(r.split()[4]) == allow_pref for r in allow)


def test_shares_go_only_where_two_listed_vlans_meet(lab: SiteDir) -> None:
    lab.write("site.yaml", BOTH.split("  - name: keep-guests-out")[0] + """\
  - name: fair
    qos_share:
      weights: [{vlan: 10, weight: 3}, {vlan: 30, weight: 1}]
""")
    models = compile_site(load_site(lab.site)).models
    shared = {(name, p.interface): [(s.vlan, s.weight) for s in p.shares]
              for name, model in models.items() for p in model.egress if p.shares}
    # eth2 (to VLAN 20's hosts) carries what VLAN 10 and VLAN 30 send to VLAN 20; eth1 carries only
    # VLAN 30's and 20's traffic to VLAN 10 (one listed VLAN), the access switches one VLAN each.
    assert shared == {("core1", "eth2"): [(10, 3), (30, 1)]}
    share = models["core1"].egress[0].shares[0]
    assert share.destinations == ("10.20.0.0/24",)


def test_an_isolated_pair_is_left_out_of_the_shares(lab: SiteDir) -> None:
    lab.write("site.yaml", VLANS + """\
  - name: no-video-for-users
    isolate: {between: [{vlan: 10}, {vlan: 20}]}
  - name: fair
    qos_share:
      weights: [{vlan: 10, weight: 3}, {vlan: 30, weight: 1}]
""")
    models = compile_site(load_site(lab.site)).models
    assert not [p for model in models.values() for p in model.egress if p.shares]  # 10 no longer sends to 20


def _tree(document: dict, dev: str) -> tuple[list[dict], list[dict], list[dict]]:
    def mine(objs: list[dict]) -> list[dict]:
        return [o for o in objs if o["dev"] == dev and (o.get("classid", o.get("handle", "")).startswith("2:")
                                                        or o["parent"].startswith("2:"))]
    return mine(document["qdiscs"]), mine(document["classes"]), mine(document["filters"])


def test_drr_where_the_kernel_has_it_htb_with_proportional_rates_otherwise(lab: SiteDir) -> None:
    model = compile_site(load_site(lab.site)).models["core1"]
    qdiscs, classes, filters = _tree(render(model, {"drr": True}).document or {}, "eth2")
    assert qdiscs == [{"dev": "eth2", "parent": "1:2", "handle": "2:", "kind": "drr"}]  # the default class's leaf
    assert {c["classid"]: c["quantum"] for c in classes} == {"2:2": 1514, "2:400a": 3 * 1514, "2:401e": 1514}
    assert {f["flowid"]: f["match"] for f in filters} == {
        "2:400a": [["src", "10.10.0.0/24"]], "2:401e": [["src", "10.30.0.0/24"]],
        "2:2": [["u32", "0", "0"]]}  # DRR drops what no filter classifies: a catch-all for the rest
    catch_all = next(f for f in filters if f["flowid"] == "2:2")
    assert catch_all["protocol"] == "all" and catch_all["pref"] == 0xFFFF

    document = render(model).document or {}
    assert _tree(document, "eth2") == ([], [], [])  # no drr: HTB classes beside the default class
    classes = {c["classid"]: c for c in document["classes"] if c["dev"] == "eth2"}
    assert classes["1:2"]["rate"] == 8_000  # the default class keeps a minimum; the shares split the rest
    assert (classes["1:400a"]["rate"], classes["1:401e"]["rate"]) == (74_994_000, 24_998_000)  # 3:1
    assert classes["1:400a"]["ceil"] == classes["1:401e"]["ceil"] == 100_000_000
    shares = [f for f in document["filters"] if f["dev"] == "eth2"]
    assert [(f["match"], f["flowid"]) for f in shares] == [([["src", "10.10.0.0/24"]], "1:400a"),
                                                            ([["src", "10.30.0.0/24"]], "1:401e")]


def test_a_guarantee_leaves_less_to_share_and_classifies_first(lab: SiteDir) -> None:
    lab.write("site.yaml", BOTH + """\
  - name: video-10-20
    qos_guarantee: {between: [{vlan: 10}, {vlan: 20}], rate: 40Mbps}
""")
    document = render(compile_site(load_site(lab.site)).models["core1"]).document or {}
    rates = {c["classid"]: c["rate"] for c in document["classes"] if c["dev"] == "eth2"}
    assert (rates["1:400a"], rates["1:401e"]) == (44_994_000, 14_998_000)  # 60 Mbit/s left, 3:1
    filters = [f for f in document["filters"] if f["dev"] == "eth2"]
    guarantee = [f["pref"] for f in filters if f["flowid"] not in ("1:400a", "1:401e")]
    share = [f["pref"] for f in filters if f["flowid"] in ("1:400a", "1:401e")]
    assert guarantee and share and max(guarantee) < min(share)  # VLAN 10's guaranteed traffic stays guaranteed
    drr = render(compile_site(load_site(lab.site)).models["core1"], {"drr": True}).document or {}
    default = next(c for c in drr["classes"] if c["dev"] == "eth2" and c["classid"] == "1:2")
    assert default["rate"] == 60_000_000  # with DRR the default class holds the whole leftover


@pytest.mark.parametrize(("body", "message"), [
    ("isolate: {between: [{vlan: 10}, {vlan: 10}]}", "both ends are VLAN 10"),
    ("isolate: {between: [{vlan: 10}, {vlan: 99}]}", "VLAN 99 is not defined by any vlan intent"),
    ("isolate: {between: [{vlan: 10}, {vlan: 20}], allow: [{protocol: icmp, ports: 53}]}", "ports need a protocol with ports"),
    ("isolate: {between: [{vlan: 10}, {vlan: 20}], allow: [{protocol: bogus}]}", "unknown protocol 'bogus'"),
    ("isolate: {between: [{vlan: 10}, {vlan: 20}], allow: [{ports: 53}]}", "missing required key 'protocol'"),
    # an ip rule without ipproto (0 is falsy) would have let every protocol through the prohibit form
    ("isolate: {between: [{vlan: 10}, {vlan: 20}], allow: [{protocol: 0}]}", "protocol 0 cannot be an exception"),
    ("qos_share: {weights: [{vlan: 10, weight: 3}, {vlan: 10, weight: 1}]}", "VLAN 10 is listed twice"),
    ("qos_share: {weights: [{vlan: 10, weight: 0}, {vlan: 20, weight: 1}]}", "weights.0.weight: 0 is out of range (minimum 1)"),
    ("qos_share: {weights: [{vlan: 10, weight: 101}, {vlan: 20, weight: 1}]}", "weights.0.weight: 101 is out of range (maximum 100)"),
    ("qos_share: {weights: [{vlan: 10, weight: 3}]}", "weights: 1 entry, at least 2 needed"),
    ("isolate: {between: [{vlan: 10}]}", "between: 1 entry, exactly 2 needed"),
    ("isolate: {between: [{vlan: 10}, {vlan: 20}, {vlan: 30}]}", "between: 3 entries, exactly 2 needed"),
    ("qos_share: {weights: [{vlan: 10, weight: 2.5}, {vlan: 20, weight: 1}]}", "weights.0.weight: expected integer, got float 2.5"),
    # JSON Schema counts 3.0 as an integer; the engine would have rendered it as "3.0"
    ("qos_share: {weights: [{vlan: 10, weight: 3.0}, {vlan: 20, weight: 1}]}", "weights.0.weight: expected integer, got float 3.0"),
    ("qos_share: {weights: [{vlan: 10, weight: '3'}, {vlan: 20, weight: 1}]}", "weights.0.weight: expected integer, got '3'"),
    ("isolate: {between: [{vlan: 10.0}, {vlan: 30}]}", "between.0.vlan: expected integer, got float 10.0"),
    ("qos_share: {weights: [{vlan: 10, weight: 3}, {vlan: 77, weight: 1}]}", "VLAN 77 is not defined"),
])
def test_bad_input_is_an_error_at_its_place(lab: SiteDir, body: str, message: str) -> None:
    lab.write("site.yaml", VLANS + f"  - name: bad\n    {body}\n")
    result = run_intent("validate", str(lab.site))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert message in result.stdout + result.stderr
    assert f"{lab.site}:" in result.stdout + result.stderr  # FILE:LINE:COL


def test_a_guarantee_between_isolated_vlans_is_refused_naming_both(lab: SiteDir) -> None:
    lab.write("site.yaml", BOTH + """\
  - name: guest-video
    qos_guarantee: {between: [{vlan: 10}, {vlan: 30}], rate: 10Mbps}
""")
    with pytest.raises(ValidationError) as caught:
        load_site(lab.site)
    text = str(caught.value)
    assert "qos_guarantee 'guest-video'" in text and "isolate 'keep-guests-out'" in text
    assert f"{lab.site}:19:30: qos_guarantee" in text  # at the guarantee's `between`


def test_two_weights_for_one_vlan_and_two_isolations_of_one_pair_are_refused(lab: SiteDir) -> None:
    lab.write("site.yaml", BOTH + """\
  - name: again
    isolate: {between: [{vlan: 10}, {vlan: 30}]}
  - name: unfair
    qos_share: {weights: [{vlan: 30, weight: 5}, {vlan: 20, weight: 1}]}
""")
    with pytest.raises(ValidationError) as caught:
        load_site(lab.site)
    text = str(caught.value)
    assert "already isolated by intent 'keep-guests-out'" in text
    assert "VLAN 30 already has a weight in qos_share 'fair'" in text


def test_the_driver_builds_a_share_tree_parents_first_and_removes_it_whole(lab: SiteDir) -> None:
    site = load_site(lab.site)
    desired = linux.canonical(render(compile_site(site).models["core1"], {"drr": True}).document or {})
    phases = plan_ops({}, desired)
    adds = [(op.verb, op.obj.get("handle") or op.obj.get("classid") or op.obj.get("parent")) for op in phases.tc_additions
            if op.obj["dev"] == "eth2"]
    tree = adds.index(("add-qdisc", "2:"))
    assert adds.index(("add-class", "1:2")) < tree  # the leaf's parent class first
    assert all(i > tree for i, (verb, what) in enumerate(adds) if verb == "add-class" and what.startswith("2:"))
    assert all(i > tree for i, (verb, what) in enumerate(adds) if verb == "add-filter" and what == "2:")
    assert [op.verb for op in phases.ip_changes].count("rule-add") == 10
    # Removing the qos_share: the share tree's qdisc goes, and its classes and filters with it.
    without = linux.canonical(desired | {"qdiscs": [q for q in desired["qdiscs"] if q["handle"] != "2:"],
                                         "classes": [c for c in desired["classes"] if not c["classid"].startswith("2:")],
                                         "filters": [f for f in desired["filters"] if f["parent"] != "2:"]})
    running = desired | {"owned": [key for key, _ in linux.objects(desired)]}
    removal = plan_ops(running, without)
    assert [(op.verb, op.obj.get("handle")) for op in removal.tc_removals] == [("del-qdisc", "2:")]
    assert not removal.tc_additions and not removal.ip_changes
    # The kernel changes to or from drr (a probe, a new kernel): the default class's leaf is replaced.
    htb = linux.canonical(render(compile_site(site).models["core1"]).document or {})
    switch = plan_ops(running, htb)
    assert ("del-qdisc", "2:") in [(op.verb, op.obj.get("handle")) for op in switch.tc_removals]
    assert {"1:400a", "1:401e"} <= {op.obj.get("classid") for op in switch.tc_additions}


def test_the_plan_renders_for_the_probed_kernel_and_says_which(lab: SiteDir, tmp_path: Path) -> None:
    running = tmp_path / "running"
    running.mkdir()
    (running / "core1.json").write_text(json.dumps({"device": "core1", "platform": "linux", "kernel": {"drr": True}}))
    plan = json.loads(run_intent("plan", str(lab.site), "--running", str(running), "--format", "json").stdout)
    core1 = plan["devices"]["core1"]
    assert "tc qdisc replace dev eth2 parent 1:2 handle 2: drr" in core1["config"]
    assert "tc class replace dev eth2 parent 2: classid 2:400a drr quantum 4542" in core1["config"]
    assert any(n.startswith("qos_share on eth2: DRR classes") for n in core1["notes"])
    assert any(n.startswith("isolate: 2 policy-routing prohibit rules, 8 exception rules") for n in core1["notes"])
    (running / "core1.json").write_text(json.dumps({"device": "core1", "platform": "linux", "kernel": {"drr": False}}))
    plan = json.loads(run_intent("plan", str(lab.site), "--running", str(running), "--format", "json").stdout)
    core1 = plan["devices"]["core1"]
    assert "tc class replace dev eth2 parent 1:1 classid 1:400a htb rate 74994kbit ceil 100mbit prio 7" in core1["config"]
    assert "qos_share on eth2: HTB classes, rates in proportion to the weights, ceil = the link (the kernel has no drr)" \
        in core1["notes"]


def test_a_plan_with_both_kinds_is_deterministic_and_its_review_shows_them(lab: SiteDir, tmp_path: Path) -> None:
    outputs = {
        run_intent("plan", str(lab.site), "--running", str(tmp_path), "--format", fmt,
                   env={"PYTHONHASHSEED": seed}).stdout
        for seed in ("0", "7", "4242") for fmt in ("markdown",)
    }
    assert len(outputs) == 1
    review = outputs.pop()
    assert "| `keep-guests-out` | isolate | no routed traffic between VLAN 30 and VLAN 10, either way, except tcp " \
           "8000-8010, udp 53; enforced on 1 device |" in review
    assert "| `fair` | qos_share | VLAN 10, VLAN 30 share what guarantees leave 3:1 on 1 egress interface |" in review
    assert "+ip rule add pref" in review and "prohibit" in review and "+tc class replace dev eth2 parent 1:1 classid 1:400a" in review


# What nft 1.0.6 printed in the full-kernel guest (`nft list table inet intent_isolate`) for a table
# intent applied there: the form the driver reads back, copied from the device, not from the renderer.
NFT_LISTED = """\
table inet intent_isolate {
\tchain forward {
\t\ttype filter hook forward priority filter; policy accept;
\t\tip saddr 10.30.0.0/24 ip daddr 10.10.0.0/24 tcp dport 8000-8010 accept
\t\tip saddr 10.30.0.0/24 ip daddr 10.10.0.0/24 tcp sport 8000-8010 accept
\t\tip saddr 10.30.0.0/24 ip daddr 10.10.0.0/24 udp dport 53 accept
\t\tip saddr 10.30.0.0/24 ip daddr 10.10.0.0/24 ip protocol icmp accept
\t\tip saddr 10.30.0.0/24 ip daddr 10.10.0.0/24 reject with icmp admin-prohibited
\t}
}
"""


def test_nftables_where_the_kernel_has_it_prohibit_rules_otherwise(lab: SiteDir) -> None:
    model = compile_site(load_site(lab.site)).models["core1"]
    nft = render(model, {"drr": True, "nftables": True}).document or {}
    assert "rules" not in nft  # no policy routing: the table carries the isolation
    [table] = nft["nftables"]
    assert (table["table"], table["chain"], table["hook"]) == \
        ("inet intent_isolate", "forward", "type filter hook forward priority filter; policy accept;")
    rules = table["rules"]
    assert len(rules) == 10 and [r for r in rules if "reject" in r] == [
        "ip saddr 10.10.0.0/24 ip daddr 10.30.0.0/24 reject with icmp admin-prohibited",
        "ip saddr 10.30.0.0/24 ip daddr 10.10.0.0/24 reject with icmp admin-prohibited"]
    # Each direction's exceptions (forward: destination port; replies: source port) before its reject.
    guests = [r for r in rules if r.startswith("ip saddr 10.30.0.0/24")]
    assert guests == ["ip saddr 10.30.0.0/24 ip daddr 10.10.0.0/24 tcp dport 8000-8010 accept",
                      "ip saddr 10.30.0.0/24 ip daddr 10.10.0.0/24 tcp sport 8000-8010 accept",
                      "ip saddr 10.30.0.0/24 ip daddr 10.10.0.0/24 udp dport 53 accept",
                      "ip saddr 10.30.0.0/24 ip daddr 10.10.0.0/24 udp sport 53 accept",
                      "ip saddr 10.30.0.0/24 ip daddr 10.10.0.0/24 reject with icmp admin-prohibited"]
    without = render(model, {"drr": True, "nftables": False}).document or {}
    assert "nftables" not in without and [r["action"] for r in without["rules"]].count("prohibit") == 2
    assert "nftables" not in (render(model).document or {})  # not probed: what every kernel has


def test_what_nft_lists_reads_back_as_the_table_intent_renders() -> None:
    [table] = linux.parse_nft_table(NFT_LISTED)
    assert table == {"table": "inet intent_isolate", "chain": "forward",
                     "hook": "type filter hook forward priority filter; policy accept;",
                     "rules": [line.strip() for line in NFT_LISTED.splitlines()[3:8]]}
    assert linux.parse_nft_table("") == []  # no table (or no nft): nothing read
    assert linux.parse_nft_table("Error: No such file or directory\n") == []
    # A hand-made extra chain stays visible as lines of its own, so the table no longer compares equal.
    edited = NFT_LISTED.replace("\t}\n}", "\t}\n\tchain mine {\n\t\tcounter\n\t}\n}")
    assert linux.parse_nft_table(edited)[0]["rules"][-2:] == ["chain mine {", "counter"]


def test_the_driver_replaces_the_table_whole_in_one_transaction_and_removes_it(lab: SiteDir) -> None:
    model = compile_site(load_site(lab.site)).models["core1"]
    desired = linux.canonical(render(model, {"drr": True, "nftables": True}).document or {})
    [made] = [op for op in plan_ops({}, desired).ip_changes if op.verb.startswith("nft")]
    assert made.args == ("inet intent_isolate", desired["nftables"][0])
    script = made.line()
    # Created if absent, deleted and made anew in the same `nft -f` transaction: never half a rule set.
    assert script.startswith("nft add table inet intent_isolate\ndelete table inet intent_isolate\n"
                             "table inet intent_isolate {\n  chain forward {\n"
                             "    type filter hook forward priority filter; policy accept;\n")
    assert script.count("reject with icmp admin-prohibited") == 2 and script.endswith("  }\n}\n")
    running = desired | {"owned": [key for key, _ in linux.objects(desired)]}
    assert not plan_ops(running, desired).ip_changes  # applied: nothing to do
    one_rule_edited = running | {"nftables": [desired["nftables"][0] | {"rules": desired["nftables"][0]["rules"][1:]}]}
    assert [op.args[1] for op in plan_ops(one_rule_edited, desired).ip_changes] == [desired["nftables"][0]]
    without = {k: v for k, v in desired.items() if k != "nftables"}
    [removed] = plan_ops(running, without).ip_changes
    assert removed.args == ("inet intent_isolate", None)
    assert removed.line() == "nft add table inet intent_isolate\ndelete table inet intent_isolate\n"
    # A table intent does not own (another tool's, never recorded in owned.json) is out of scope.
    foreign = without | {"nftables": desired["nftables"]}
    assert not plan_ops(foreign, without).ip_changes


def test_the_plan_says_nftables_where_probed_and_why_not_elsewhere(lab: SiteDir, tmp_path: Path) -> None:
    running = tmp_path / "running"
    running.mkdir()
    probed = {"device": "core1", "platform": "linux", "kernel": {"drr": True, "nftables": True}}
    (running / "core1.json").write_text(json.dumps(probed))
    core1 = json.loads(run_intent("plan", str(lab.site), "--running", str(running), "--format", "json").stdout)[
        "devices"]["core1"]
    assert "+nft add rule inet intent_isolate forward ip saddr 10.30.0.0/24 ip daddr 10.10.0.0/24 udp dport 53 accept" \
        in core1["diff"]
    assert "isolate: nftables table inet intent_isolate (the kernel has nftables), chain forward: 2 reject rules, " \
           "8 stateless exception rules before them (forwarded traffic only; the sender gets ICMP administratively " \
           "prohibited)" in core1["notes"]
    assert "ip rule add" not in core1["config"]
    (running / "core1.json").write_text(json.dumps(probed | {"kernel": {"drr": True, "nftables": False}}))
    core1 = json.loads(run_intent("plan", str(lab.site), "--running", str(running), "--format", "json").stdout)[
        "devices"]["core1"]
    assert any(n.startswith("isolate: 2 policy-routing prohibit rules") and n.endswith("; the kernel has no nftables)")
               for n in core1["notes"]), core1["notes"]
    assert "nft " not in core1["config"]


@pytest.mark.parametrize("platform", ["ios", "eos", "nxos", "junos"])
def test_removing_an_isolate_unbinds_the_transit_filter_from_the_routed_ports(platform: str, tmp_path: Path) -> None:
    """The transit routers of the golden transit case run what it rendered; the isolate is then removed:
    the filter goes, and so does its binding on every routed port (an ACL or input-list left naming a
    filter that is gone), checked on the running config after the plan's commands."""
    case = Path(__file__).parent / "golden" / platform / "transit"
    running = tmp_path / "running"
    running.mkdir()
    for device in ("r1", "r2", "t1", "t2"):
        (running / f"{device}.cfg").write_text((case / "expected" / f"{device}.config").read_text())
    for name in ("inventory.yaml", "topology.yaml"):
        (tmp_path / name).write_text((case / name).read_text())
    text = (case / "site.yaml").read_text()
    start = text.index("  - name: lab-apart\n")
    end = text.index("  - name: printing\n")
    (tmp_path / "site.yaml").write_text(text[:start] + text[end:])
    site = load_site(tmp_path / "site.yaml")
    plan = make_plan(site, compile_site(site), RunningState(running))
    for device in ("t1", "t2"):
        before = (running / f"{device}.cfg").read_text()
        commands = plan.devices[device].commands
        if platform == "junos":
            after = "\n".join(checker.junos_apply(checker.junos_lines(before), commands))
        else:
            after = "\n".join(remediate.apply_commands(platform, before, commands).lines())
        assert "ISOLATE" not in after, (device, [line for line in after.splitlines() if "ISOLATE" in line])


def _junos_filters(text: str) -> tuple[dict[str, list[list[str]]], dict[str, list[str]]]:
    """(filter -> its input lists' members by unit, filter name -> terms as lists of from/then lines) of a
    rendered Junos config: just enough to follow a packet through an input-list."""
    filters: dict[str, dict[str, list[str]]] = {}
    lists: dict[str, list[str]] = {}
    for line in text.splitlines():
        words = line.split()
        if line.startswith("set firewall family inet filter ") and words[6] == "term":
            filters.setdefault(words[5], {}).setdefault(words[7], []).append(" ".join(words[8:]))
        elif " family inet filter input-list " in line:
            lists.setdefault(" ".join(words[2:5]), []).append(words[-1])
    return {name: list(terms.values()) for name, terms in filters.items()}, lists  # type: ignore[return-value]


def _through_list(filters: dict[str, list[list[str]]], names: list[str], packet: dict[str, str]) -> tuple[str, list[str]]:
    """What a Junos input-list does with ``packet``: the first term that matches in the first filter that has
    one decides (a terminating action, or the implicit accept of a term with none, ends the list); what no
    term of a filter matches goes to the next filter; past the last, the implicit discard."""
    import ipaddress

    def matches(condition: str) -> bool:
        key, _, value = condition.partition(" ")
        if key in ("source-address", "destination-address"):
            return ipaddress.ip_address(packet[key.split("-")[0]]) in ipaddress.ip_network(value)
        if key == "protocol":
            return packet.get("protocol") == value
        if key in ("destination-port", "source-port"):
            port = packet.get(key.split("-")[0] + "-port")
            low, _, high = value.partition("-")
            return port is not None and int(low) <= int(port) <= int(high or low)
        raise AssertionError(f"no model of the match condition {condition!r}")

    for name in names:
        for term in filters[name]:
            conditions = [line[5:] for line in term if line.startswith("from ")]
            actions = [line[5:] for line in term if line.startswith("then ")]
            if all(matches(c) for c in conditions):
                final = [a for a in actions if a in ("accept", "discard", "reject")]
                return (final[0] if final else "accept"), [a for a in actions if a not in final]
    return "discard", []


def test_a_junos_input_list_runs_the_isolation_and_then_the_filter_after_it() -> None:
    """The isolation filter first in an input-list discards the pair and passes its exceptions; everything
    else must reach the second filter: the transit unit's classification, the capped irb unit's policer.
    (An accept that ends the first filter ends the whole list, so the catch-all accept of a filter used
    alone must not be in one that comes first in a list.)"""
    golden = Path(__file__).parent / "golden" / "junos"
    transit = compile_site(load_site(golden / "transit" / "site.yaml")).configs["t1"].text
    filters, lists = _junos_filters(transit)
    chain = lists["ge-0/0/1 unit 0"]
    assert chain == ["INTENT-ISOLATE-TRANSIT", "INTENT-CLASSIFY"]
    printing = {"source": "10.30.0.9", "destination": "10.10.0.9", "protocol": "udp", "destination-port": "9"}
    assert _through_list(filters, chain, printing) == ("accept", ["forwarding-class INTENT-printing"])
    cut = {"source": "10.10.0.9", "destination": "10.20.0.9", "protocol": "tcp", "destination-port": "22"}
    assert _through_list(filters, chain, cut)[0] == "discard"
    allowed = {**cut, "destination-port": "8005"}
    assert _through_list(filters, chain, allowed)[0] == "accept"

    fresh = compile_site(load_site(golden / "fresh" / "site.yaml")).configs["r1"].text
    filters, lists = _junos_filters(fresh)
    chain = lists["irb unit 30"]
    assert chain == ["INTENT-ISOLATE-30", "INTENT-LIMIT-cap-guest"]
    guest_out = {"source": "10.30.0.9", "destination": "10.10.0.9", "protocol": "tcp", "destination-port": "443"}
    assert _through_list(filters, chain, guest_out) == ("accept", ["policer INTENT-LIMIT-cap-guest"])
    to_servers = {**guest_out, "destination": "10.40.0.9"}
    assert _through_list(filters, chain, to_servers)[0] == "discard"


def test_an_exception_may_list_ports(lab: SiteDir) -> None:
    """``ports`` takes one port, a range, "80,443" or a YAML list of them: one exception each, both ways."""
    lab.write("site.yaml", VLANS + """\
  - name: keep-guests-out
    isolate:
      between: [{vlan: 30}, {vlan: 10}]
      allow: [{protocol: tcp, ports: [80, 8000-8010]}, {protocol: udp, ports: "53, 123"}]
""")
    site = load_site(lab.site)
    intent = next(i for i in site.intents if i.name == "keep-guests-out")
    assert [(a.protocol, a.ports) for a in intent.allow] == [  # type: ignore[attr-defined]
        (6, (80, 80)), (6, (8000, 8010)), (17, (53, 53)), (17, (123, 123))]
    text = compile_site(site).configs["core1"].text
    for wanted in ("ipproto tcp dport 80 ", "ipproto tcp dport 8000-8010 ", "ipproto udp dport 53 ", "ipproto udp dport 123 ",
                   "ipproto udp sport 123 "):
        assert wanted in text, wanted
    for allow, message in (("{protocol: tcp, ports: []}", "allow.0.ports: 0 entries, at least 1 needed"),
                           ("{protocol: udp, ports: [53, 0]}", "invalid ports 0: ports are 1-65535")):
        lab.write("site.yaml", VLANS + f"""\
  - name: keep-guests-out
    isolate: {{between: [{{vlan: 30}}, {{vlan: 10}}], allow: [{allow}]}}
""")
        with pytest.raises(ValidationError, match=re.escape(message)):
            load_site(lab.site)


def test_a_probe_names_the_kind_that_asked_for_it() -> None:
    """The engine's probe step names no kind of its own: a plugin kind's probe reports under its kind."""
    from engine.checks import NOWHERE, Probe

    with pytest.raises(TypeError):
        Probe(intent="fence", direction="VLAN 1 -> VLAN 2", source=NOWHERE, destination=NOWHERE,  # type: ignore[call-arg]
              protocol="icmp", port=0, expect=False)
    probe = Probe("fence", "acme_fence", "VLAN 1 -> VLAN 2", NOWHERE, NOWHERE, "icmp", 0, False)
    assert probe.kind == "acme_fence"


def test_protocols_without_a_name_of_ours_read_back_as_rendered() -> None:
    """nft prints a protocol by its /etc/protocols name (115 as ``l2tp``), which intent never wrote: the
    driver lists numerically, and the numbers read back as intent renders them (names for its own six)."""
    listed = NFT_LISTED.replace("ip protocol icmp", "ip protocol 1").replace(
        "\t\tip saddr 10.30.0.0/24 ip daddr 10.10.0.0/24 reject", "\t\tip saddr 10.30.0.0/24 ip daddr 10.10.0.0/24 "
        "ip protocol 115 accept\n\t\tip saddr 10.30.0.0/24 ip daddr 10.10.0.0/24 reject")
    rules = linux.parse_nft_table(listed)[0]["rules"]
    assert "ip saddr 10.30.0.0/24 ip daddr 10.10.0.0/24 ip protocol icmp accept" in rules
    assert "ip saddr 10.30.0.0/24 ip daddr 10.10.0.0/24 ip protocol 115 accept" in rules


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("nft") is None, reason="needs root and the nft tool")
def test_a_table_the_kernel_holds_reads_back_equal_whatever_the_protocols(tmp_path: Path) -> None:
    """Through the real nft in a scratch namespace: every protocol an exception may name (a number nft has a
    name for, one it has none for) reads back exactly as rendered, so a second plan has nothing to change."""
    from drivers.linux.agent import nft_apply, nft_list
    from engine.device import Allowed, Isolation

    allow = (Allowed(1), Allowed(17, (53, 53)), Allowed(6, (8000, 8010)), Allowed(132, (9000, 9000)), Allowed(47),
             Allowed(115), Allowed(2), Allowed(0), Allowed(253))
    isolation = Isolation("apart", 10, "10.10.0.0/24", 20, "10.20.0.0/24", allow, 0x100, ())
    model = type("Model", (), {"isolations": [isolation]})()
    [table] = linux._isolation_table(model)  # type: ignore[arg-type]
    scratch = f"nftread-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", scratch], check=True)
    try:
        if nft_apply("add table inet probe\ndelete table inet probe\n", scratch):
            pytest.skip("this kernel has no nf_tables")
        assert nft_apply(linux.nft_script(table), scratch) == ""
        assert linux.parse_nft_table(nft_list(linux.NFT_TABLE, scratch)) == [table]
    finally:
        subprocess.run(["ip", "netns", "del", scratch], check=True)


def test_a_share_that_applies_nowhere_says_why(lab: SiteDir) -> None:
    """qos_share across two isolated VLANs and nothing else: legal, but it shapes nothing, and the plan's
    intent table says so and names the isolation."""
    from intents.qos_share import KIND as QOS_SHARE

    lab.write("site.yaml", lab_site(None) + """\
  - name: apart
    isolate: {between: [{vlan: 20}, {vlan: 10}]}
  - name: fair
    qos_share: {weights: [{vlan: 20, weight: 3}, {vlan: 10, weight: 1}]}
""")
    site = load_site(lab.site)
    fair = next(i for i in site.intents if i.name == "fair")
    assert QOS_SHARE.describe(fair, compile_site(site)).endswith(
        "on 0 egress interfaces: no egress interface carries the routed traffic of two of them "
        "(isolate 'apart' cuts VLAN 10 from VLAN 20)")


OPERATOR_BINDINGS = {  # platform -> (the transit port's section, the gateway SVI's section, the operator's binding line)
    "ios": ("interface GigabitEthernet1/0/1", "interface Vlan10", " ip access-group EDGE-IN in"),
    "eos": ("interface Ethernet1", "interface Vlan10", " ip access-group EDGE-IN in"),
    "nxos": ("interface Ethernet1/1", "interface Vlan10", " ip access-group EDGE-IN in"),
    "junos": ("ge-0/0/1 unit 0", "irb unit 10", "family inet filter input EDGE-IN"),
}


@pytest.mark.parametrize("platform", sorted(OPERATOR_BINDINGS))
@pytest.mark.parametrize("where", ["transit port", "gateway SVI"])
def test_an_operators_inbound_filter_where_isolate_binds_its_own_is_refused(platform: str, where: str,
                                                                             tmp_path: Path) -> None:
    """An interface takes one inbound ACL (filter): binding the isolation's would silently unbind the one an
    operator put there, on a transit router's routed port and on the gateway's own (engine-made) SVI alike.
    The plan refuses, naming the line, unless the VLAN intent says takeover: true; then the note says so."""
    case = Path(__file__).parent / "golden" / platform / "transit"
    port, svi, binding = OPERATOR_BINDINGS[platform]
    device, section = ("t1", port) if where == "transit port" else ("r1", svi)
    running = tmp_path / "running"
    running.mkdir()
    for name in ("r1", "r2", "t1", "t2"):
        text = (case / "expected" / f"{name}.config").read_text()
        text = "\n".join(line for line in text.splitlines() if "INTENT-ISOLATE" not in line) + "\n"  # before the isolate
        if name == device:
            if platform == "junos":
                text += f"set interfaces {section} {binding}\n"
            else:
                head = text.index(section + "\n") + len(section) + 1
                text = text[:head] + binding + "\n" + text[head:]
        (running / f"{name}.cfg").write_text(text)
    for name in ("inventory.yaml", "topology.yaml", "site.yaml"):
        (tmp_path / name).write_text((case / name).read_text())
    result = run_intent("plan", str(tmp_path / "site.yaml"), "--running", str(running),
                        env={"GOLDEN_PASSWORD": "x"})
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stdout + result.stderr
    assert binding.strip() in result.stderr and "add takeover: true to intent" in result.stderr, result.stderr


def test_verify_proves_a_cut_even_when_icmp_and_tcp_are_exceptions(lab: SiteDir) -> None:
    """An isolation that lets ICMP and every TCP port through is still proved to cut something (UDP); one
    that lets ICMP, TCP and UDP through cannot be, and the verify step says so instead of passing."""
    from engine.checks import Host, LabView, Probe
    from engine.network import Network
    from intents.isolate import KIND as ISOLATE

    def cut_probes(allow: str) -> list[Probe]:
        lab.write("site.yaml", VLANS + f"  - name: apart\n    isolate: {{between: [{{vlan: 10}}, {{vlan: 30}}], allow: {allow}}}\n")
        site = load_site(lab.site)
        hosts = (Host("h-acc1-eth3", "acc1", "eth3", "10.10.0.2/24", "10.10.0.1", 10),
                 Host("h-core1-eth3", "core1", "eth3", "10.30.0.2/24", "10.30.0.1", 30))
        view = LabView(site, compile_site(site), hosts, Network(site))
        steps = ISOLATE.verify([i for i in site.intents if i.name == "apart"], view)
        return [s for s in steps if isinstance(s, Probe) and not s.expect]

    cut = cut_probes("[{protocol: icmp}, {protocol: tcp}]")
    assert [(p.direction, p.what, p.skipped) for p in cut] == [
        ("VLAN 10 -> VLAN 30", "udp 5999", ""), ("VLAN 30 -> VLAN 10", "udp 5999", "")]
    cut = cut_probes("[{protocol: icmp}, {protocol: tcp}, {protocol: udp}]")
    assert len(cut) == 2 and all("no probe can show what is cut" in p.skipped for p in cut)
    assert [p.what for p in cut_probes("[{protocol: udp, ports: 53}]")] == ["icmp", "tcp 5999"] * 2
