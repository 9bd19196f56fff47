"""The renderer's fast paths give exactly what the plain per-device path gives.

``renderer`` checks the tokens of every device at once (``_values_of``: each platform's strings read
class by class, in C) before rendering them; ``render`` checks and renders one device. Here both are
run over the golden sites and a generated fabric and must give the same configurations, the token
check's strings must be every string the full walk (``_strings``, the one refusals are worded from)
finds, and a refusal must be the one the per-device loop gives.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path
from typing import Any

import pytest

from engine import render
from engine.build import Build
from engine.compiler import build_site
from engine.device import DeviceModel, EgressPolicy, Match, NextHop, Port, PortMode, QosClass, Route, Vlan
from engine.errors import RenderError
from engine.loader import load_site
from tests.bench import fabric

GOLDEN = Path(__file__).parent / "golden"


def _models(tmp_path: Path) -> list[dict[str, DeviceModel]]:
    sites = sorted(GOLDEN.glob("*/*/site.yaml")) + [fabric.generate(tmp_path / "f", 30, guarantees=6)]
    built: list[Build] = [build_site(load_site(site_file)) for site_file in sites]
    return [build.finish() for build in built]


def _pairs(model: object) -> set[tuple[str, str]]:
    return {(role, value) for _, role, value in render._strings(model, "")}


def test_the_renderer_gives_what_render_gives_device_by_device(tmp_path: Path) -> None:
    sites = _models(tmp_path)
    assert {model.platform for models in sites for model in models.values()} == {"linux", "ios", "eos", "nxos", "junos"}
    for models in sites:
        render_one = render.renderer(models.values())
        assert render_one is render._render_checked
        together = {name: render_one(model) for name, model in models.items()}
        alone = {name: render.render(model) for name, model in models.items()}
        assert list(together) == list(alone)
        for name, config in together.items():
            assert config == alone[name]
            assert config.objects == alone[name].objects
        by_platform: dict[str, list[DeviceModel]] = {}
        for model in models.values():
            by_platform.setdefault(model.platform, []).append(model)
        for group in by_platform.values():
            seen = {(role, value) for role, values in render._values_of(group).items() for value in values}
            assert seen == set().union(*map(_pairs, group))


class Odd(str):
    """A string subclass (like PortMode): still a string, checked as one."""


@dataclasses.dataclass(frozen=True)
class Wider(Port):
    """A subclass of a model class, with one more string field."""

    extra: str = "x y"


def _odd_models() -> list[Any]:
    """Models holding values their fields' annotations do not describe, each of which the passes by class
    must notice (falling back to the full walk) rather than skip or mangle."""
    base = DeviceModel("sw1", "ios", "lab", vlans=(Vlan(10, "users", "10.10.0.0/24", "users"),),
                       ports=(Port("Gi1", PortMode.ACCESS, (10,)),))
    hop = NextHop("10.0.0.1", "Gi2")
    policy = EgressPolicy("Gi2", 10**9, (QosClass("v", "INTENT-v", 256, 1, 2, False, "fq_codel",
                                                  (Match("10.1.0.0/24", "10.2.0.0/24"),)),), 1, "INTENT-OUT-Gi2")
    return [
        base,
        dataclasses.replace(base, name=7),  # an int where a string is declared: not a string, not walked
        dataclasses.replace(base, site=["lab", "a\nb"]),  # a list (unhashable) where a string is declared
        dataclasses.replace(base, site=("lab", "a b")),  # a tuple (hashable) where a string is declared
        dataclasses.replace(base, site=hop),  # a dataclass where a string is declared
        dataclasses.replace(base, site=Odd("lab\n")),
        dataclasses.replace(base, intents="ab\ncd"),  # a string where a tuple of strings is declared
        dataclasses.replace(base, intents=("a", ("b", "c d"))),  # a tuple inside it
        dataclasses.replace(base, intents=["a", "b c"]),  # a list: walked as a tuple is
        dataclasses.replace(base, intents=("a", None, 3)),
        dataclasses.replace(base, vlans="users\n!"),  # a string where a tuple of dataclasses is declared
        dataclasses.replace(base, vlans=(Vlan(10, "users", "10.10.0.0/24", "users"), "x y")),
        dataclasses.replace(base, vlans=[Vlan(10, "u v", "10.10.0.0/24", "users")]),
        dataclasses.replace(base, vlans=(None,)),
        dataclasses.replace(base, ports=(Port("Gi1", PortMode.ACCESS), Wider("Gi2", PortMode.TRUNK))),
        dataclasses.replace(base, ports=(Port("Gi1", PortMode.ACCESS, address=("10.0.0.1", "x\ny")),)),
        dataclasses.replace(base, routes=(Route("10.2.0.0/24", (hop, NextHop("10.0.0.2", ["Gi3", "a b"])), "r"),)),
        dataclasses.replace(base, routes=(Route("10.2.0.0/24", hop, "r"),)),  # a dataclass where a tuple is declared
        dataclasses.replace(base, egress=(policy, dataclasses.replace(policy, classes=(policy.classes[0], policy)))),
        dataclasses.replace(base, egress=(dataclasses.replace(policy, shares={"a": "b c"}),)),  # a dict: not walked
        "a string root", 5, None, (base, "x y"),
    ]


@pytest.mark.parametrize("model", _odd_models(), ids=lambda model: repr(model)[:60])
def test_the_passes_by_class_see_every_string_of_odd_models(model: Any) -> None:
    assert {(role, value) for role, values in render._values(model).items() for value in values} == _pairs(model)
    together = {(role, value) for role, values in render._values_of([model, _odd_models()[0]]).items()
                for value in values}
    assert together == _pairs(model) | _pairs(_odd_models()[0])


@pytest.mark.parametrize("platform", ["ios", "eos", "nxos", "junos", "linux"])
def test_the_renderer_refuses_what_render_refuses_with_the_first_device_s_problem(platform: str) -> None:
    good = DeviceModel("sw1", platform, "lab", vlans=(Vlan(10, "users", "10.10.0.0/24", "users"),))
    bad = DeviceModel("sw3", platform, "lab", vlans=(Vlan(10, "users\n!", "10.10.0.0/24", "users"),))
    worse = DeviceModel("sw4", platform, "lab", ports=(Port("eth1 x", PortMode.ACCESS, (10,)),))
    with pytest.raises(RenderError) as alone:
        render.render(bad)
    models = [good, dataclasses.replace(good, name="sw2"), bad, worse]
    assert render.renderer(models) is render.render  # each device checked as it comes
    with pytest.raises(RenderError) as together:
        compile_models({model.name: model for model in models})
    assert str(together.value) == str(alone.value)
    assert "sw3" in str(together.value) and "refusing to render it" in str(together.value)
    assert render.renderer([good]) is render._render_checked
    assert render._render_checked(good) == render.render(good)


def compile_models(models: dict[str, DeviceModel]) -> dict[str, Any]:
    """The compiler's render loop (engine/compiler.py) over ``models``."""
    from engine import parallel

    render_one = render.renderer(models.values())
    return dict(zip(models, parallel.ordered_map(render_one, list(models.values())), strict=True))


# -- the token check's passes over all values of a role ---------------------------------------------

@pytest.mark.parametrize("platform", ["ios", "eos", "nxos", "junos", "linux"])
def test_the_token_check_over_all_values_at_once_says_what_it_says_of_each(platform: str) -> None:
    """``_all_plain_tokens`` runs one regular expression over a role's values one a line; for every set of
    values it must say what checking each value whole says (printable ASCII and the role's pattern)."""
    import random

    from engine import identifiers

    pieces = ["INTENT-g000", "Ethernet1/1", "10.0.0.0/24", "ge-0/0/1.0", "v10", "x" * 80, "x" * 81, "", "a b",
              "a\nb", "\n", "a\n", "\na", "\n\n", "caf\u00e9", "\u2028", "a;b", "a\tb", "a\rb", "\x0c", "\x85", "\x00",
              "{", "'q'", "eth1", "Eth-1", "e" * 15, "e" * 16]
    generator = random.Random(12)
    samples = [{piece} for piece in pieces] + [set(generator.sample(pieces, generator.randint(1, 6))) for _ in range(300)]
    for role, pattern in identifiers.platform_tokens(platform).items():
        assert render._line_pattern(pattern.pattern) is not None  # the platforms' patterns all take the fast pass
        for values in samples:
            each = all(value.isascii() and value.isprintable() and pattern.fullmatch(value) for value in values)
            assert render._all_plain_tokens(platform, role, values) == each, (role, values)
    assert render._all_plain_tokens(platform, "word", set())


@pytest.mark.parametrize("pattern", ["[^a]{1,3}", ".{1,3}", "[a\\n]+", "[a-z]+|\\n", "(?s:.)+", "[a-z]{1,3}x", "(?i)[a-z]+",
                                     "[\\s]+", "[a-z]\u2028"])
def test_a_pattern_that_could_match_a_line_break_is_not_run_over_lines(pattern: str) -> None:
    assert render._line_pattern(pattern) is None


# -- Jinja helpers and filters ----------------------------------------------------------------------

_MACROS = """{%- macro num(value) -%}
{%- if value % 1000000000 == 0 -%}{{ value // 1000000000 }}g
{%- elif value % 1000000 == 0 -%}{{ value // 1000000 }}m
{%- elif value % 1000 == 0 -%}{{ value // 1000 }}k
{%- else -%}{{ value }}{%- endif -%}
{%- endmacro -%}
{%- macro alloc(names, reserved, out, key, owner, base, sig) -%}
{%- set ns = namespace(name=none) -%}
{%- for n in range(1, 100) -%}
{%- set cand = base if n == 1 else base ~ "-" ~ n -%}
{%- if names.get(cand) == sig or (cand not in names and reserved.get(cand, owner) == owner) -%}
{%- set ns.name = cand -%}
{%- break -%}
{%- endif -%}
{%- endfor -%}
{%- set _ = names.update({ns.name: sig}) -%}
{%- set _ = out.update({key: ns.name}) -%}
{%- endmacro -%}
"""


def test_kmg_and_first_free_name_do_what_the_junos_macros_did() -> None:
    """The Junos template's number and name macros, now Python (engine/render.py), give the same text and
    leave the same names behind, over numbers of every suffix and name clashes up to the last free name."""
    env = render.environment()
    macros = env.from_string(_MACROS).module
    for number in [0, 1, 999, 1000, 1500, 3200, 20_000_000, 20_000_001, 94_981_000_000, 10**9, 10**12, 15000,
                   99_980_000_000 // 21, 7 * 10**6 + 3000]:
        assert render.kmg(number) == str(macros.num(number)), number  # type: ignore[attr-defined]
    reserved = {"INTENT-a": "a", "INTENT-b": "b", "INTENT-DEFAULT-2": "x"}
    calls = [("k1", "a", "INTENT-a", "s1"), ("k2", "a", "INTENT-a", "s2"), ("k3", "b", "INTENT-a", "s3"),
             ("k4", "", "INTENT-DEFAULT", "d1"), ("k5", "", "INTENT-DEFAULT", "d2"), ("k6", "", "INTENT-DEFAULT", "d1"),
             ("k7", "x", "INTENT-DEFAULT", "d3"), ("k8", "b", "INTENT-b", "s1")]
    calls += [(f"m{index}", "", "M", f"sig{index}") for index in range(102)]  # past base-99: None, as the macro
    ours: tuple[dict[Any, Any], dict[Any, Any]] = ({}, {})
    theirs: tuple[dict[Any, Any], dict[Any, Any]] = ({}, {})
    for key, owner, base, signature in calls:
        assert render.first_free_name(ours[0], reserved, ours[1], key, owner, base, signature) == ""
        assert str(macros.alloc(theirs[0], reserved, theirs[1], key, owner, base, signature)) == ""  # type: ignore[attr-defined]
    assert ours == theirs
    assert ours[1]["m101"] is None


def test_the_prefix_filters_say_what_ipaddress_says() -> None:
    import ipaddress

    for prefix in ["10.0.0.0/14", "10.2.49.0/24", "0.0.0.0/0", "10.255.1.240/31", "192.0.2.7/32", "10.0.0.0"]:
        for _ in range(2):  # the second time from the cache
            assert render._network(prefix) == str(ipaddress.IPv4Network(prefix).network_address)
            assert render._netmask(prefix) == str(ipaddress.IPv4Network(prefix).netmask)
            assert render._wildcard(prefix) == str(ipaddress.IPv4Network(prefix).hostmask)
    for bad in ["10.0.0.1/24", "10.0.0.0/33", "x"]:
        for _ in range(2):
            with pytest.raises(ValueError):
                render._network(bad)


# -- Linux documents ---------------------------------------------------------------------------------

def _outcome(function: Any, value: Any) -> Any:
    try:
        return function(value)
    except Exception as exc:  # noqa: BLE001 - the kind of failure is what is compared
        return type(exc)


@pytest.mark.parametrize("prefix", [
    "10.0.0.0/14", "10.2.49.7/24", "0.0.0.0/0", "255.255.255.255", "255.255.255.255/32", "1.2.3.4/33", "1.2.3.4/",
    "01.2.3.4", "1.2.3.04/24", "256.1.1.1", "1.2.3", "1.2.3.4.5", "1.2.3.4/024", "1.2.3.4/0032", "\u0661.2.3.4",
    "1.2.3.4/\u0663", "1.2.3.4/+8", "1.2.3.4/ 8", " 1.2.3.4", "1..3.4", "2001:db8::/32", "::1", "", "/", "x",
    "10.0.0.0/255.0.0.0", "1.2.3.4//8", "1.2.3.-4",
])
def test_network_keys_are_what_the_regular_expression_read(prefix: str) -> None:
    from engine import linux

    for _ in range(2):  # the second time from the cache
        assert _outcome(linux._network_key, prefix) == _outcome(linux._regex_network_key, prefix)


def _reference_canonical(document: dict[str, Any]) -> dict[str, Any]:
    """``linux.canonical`` as it was: addresses sorted by (device, network) whatever they are."""
    from engine import linux

    result = dict(document)
    result["links"] = sorted(document.get("links") or [], key=linux._link_order)
    result["addresses"] = sorted(document.get("addresses") or [], key=lambda a: (a["dev"], linux._regex_network_key(a["address"])))
    result["routes"] = sorted(document.get("routes") or [], key=lambda r: linux._regex_network_key(r["dst"]))
    if document.get("rules"):
        result["rules"] = sorted(document["rules"], key=linux._rule_order)
    if document.get("nftables"):
        result["nftables"] = sorted(document["nftables"], key=lambda table: table["table"])

    def tc_order(obj: dict[str, Any]) -> tuple[Any, ...]:
        handle = obj.get("classid") or obj.get("handle") or "0:"
        major, _, minor = handle.partition(":")
        return obj["dev"], 0 if obj["parent"] in ("root", "ingress") else 1, int(major or "0", 16), int(minor or "0", 16), \
            obj["parent"]

    result["qdiscs"] = sorted(document.get("qdiscs") or [], key=tc_order)
    result["classes"] = sorted(document.get("classes") or [], key=tc_order)
    result["filters"] = sorted(document.get("filters") or [], key=linux._filter_order)
    return result


def test_linux_documents_are_in_the_order_and_have_the_keys_they_had(tmp_path: Path) -> None:
    """Every Linux document of the golden sites and a fabric, shuffled: ``canonical`` puts it in the order
    the plain sorts give, ``desired_state`` made it in that order, and ``objects`` keys each object as
    ``key_of`` does; also over documents where a device has two addresses, and where devices are lists."""
    import random

    from engine import linux

    documents = [linux.desired_state(model, kernel) for models in _models(tmp_path) for model in models.values()
                 if model.platform == "linux" for kernel in (None, {"drr": True, "nftables": True})]
    assert len(documents) > 20
    generator = random.Random(5)
    for document in documents:
        assert linux.canonical(document) == _reference_canonical(document) == document
        shuffled = {name: generator.sample(value, len(value)) if isinstance(value, list) else value
                    for name, value in document.items()}
        shuffled["addresses"] = shuffled["addresses"] + [{"dev": "br10", "address": "10.9.0.1/24"},
                                                         {"dev": "br10", "address": "10.8.0.1/16"}]
        assert linux.canonical(shuffled) == _reference_canonical(shuffled)
        keys = [key for key, _ in linux.objects(document, ordered=True)]
        for section in ("links", "addresses", "routes", "rules", "nftables", "qdiscs", "classes", "filters"):
            for obj in document.get(section) or []:
                assert linux.key_of(section, obj) in keys
        assert len(keys) == len(set(keys))
    odd = {"addresses": [{"dev": ["b"], "address": "10.0.0.1/24"}, {"dev": ["a"], "address": "10.0.0.2/24"}]}
    assert linux.canonical(odd)["addresses"] == _reference_canonical(odd)["addresses"]


def _guarantees_merged_one_by_one(model: DeviceModel) -> list[QosClass]:
    """render.guarantees as it was written first: each repeat of a guarantee merged into it with replace()."""
    merged: dict[str, QosClass] = {}
    for policy in model.egress:
        for qos in policy.classes:
            known = merged.get(qos.intent)
            merged[qos.intent] = qos if known is None else \
                dataclasses.replace(known, matches=tuple(dict.fromkeys(known.matches + qos.matches)))
    return [merged[name] for name in sorted(merged)]


def test_guarantees_merge_each_guarantees_matches_as_replacing_one_by_one_does() -> None:
    """render.guarantees keeps one class per guarantee and its matches on every interface, in order, once
    each (taking the first class as it is where nothing is added): the classes merging one by one gives,
    on egress of shared, equal, overlapping, disjoint and repeated matches."""
    rng = random.Random(5)
    pool = [Match(f"10.0.{i}.0/24", f"10.1.{i % 3}.0/24", rng.choice([None, 46])) for i in range(6)]
    for _ in range(500):
        shared = tuple(rng.sample(pool, rng.randint(0, 3)))
        policies = []
        for number in range(rng.randint(0, 4)):
            classes = []
            for intent in rng.sample(["a", "b", "c"], rng.randint(0, 3)):
                kind = rng.random()
                matches = shared if kind < 0.4 else tuple(Match(m.src, m.dst, m.dscp) for m in shared) if kind < 0.6 \
                    else tuple(rng.choice(pool) for _ in range(rng.randint(0, 3)))
                classes.append(QosClass(intent, f"INTENT-{intent}", 0x100, 1000, 2000, rng.random() < 0.3, "q",
                                        matches))
            policies.append(EgressPolicy(f"eth{number}", 10**9, tuple(classes), 10**8, f"INTENT-OUT-eth{number}"))
        model = DeviceModel("r1", "linux", "s", egress=tuple(policies))
        assert render.guarantees(model) == _guarantees_merged_one_by_one(model), policies
