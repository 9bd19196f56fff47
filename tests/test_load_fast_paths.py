"""The loader's fast paths say exactly what the straightforward checks say.

Where loading a site takes a shortcut for the common case (an integer of plain digits read without the
safe constructor's dispatch, a VLAN's subnet read once when it has no host bits set), the outcome is compared here with the checks written out in full, on inputs made by
hypothesis and on the forms a user is likely to get wrong.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine import inventory
from engine.errors import Location, ValidationError
from engine.model import Device
from engine.yamlsrc import C_LOADER, PY_LOADER, Unsafe, Vaulted, load_text
from intents.base import ParseContext
from intents.vlan import KIND as VLAN
from intents.vlan import VlanIntent

PATH = ("intents", 0, "vlan")


def _subnet_reference(text: str) -> tuple[ipaddress.IPv4Network | None, list[str]]:
    """A VLAN subnet checked in full: parsed loosely, then compared with the address as written."""
    try:
        subnet = ipaddress.IPv4Network(text, strict=False)
    except ValueError:
        return None, [f"invalid subnet {text!r}: write an IPv4 prefix such as 10.10.0.0/24"]
    problems = []
    if ipaddress.IPv4Interface(text).ip != subnet.network_address:
        problems.append(f"subnet {text} has host bits set; did you mean {subnet}?")
    if subnet.prefixlen > 30:
        problems.append(f"subnet {subnet} is too small for a gateway and hosts (use /30 or larger)")
    return subnet, problems


def _parsed(text: str) -> tuple[ipaddress.IPv4Network | None, list[str]]:
    gateway = Device("gw", "linux", "linux")
    ctx = ParseContext({"gw": gateway}, (), lambda path: Location("site.yaml", 1, 1, tuple(path)))
    intent = VLAN.parse("v", {"id": 10, "subnet": text, "gateway": "gw"}, PATH, ctx)
    messages = [message for where, message in ctx.problems if where.json_path == (*PATH, "subnet")]
    assert len(messages) == len(ctx.problems)  # nothing else is wrong with the body
    return (intent.subnet if isinstance(intent, VlanIntent) else None), messages


_octet = st.integers(0, 300).map(str) | st.sampled_from(["00", "010", "-1", "", "1e2", " 1", "0x10"])
_prefixes = st.builds(lambda octets, length: ".".join(octets) + length,
                      st.lists(_octet, min_size=3, max_size=5),
                      st.sampled_from(["", "/"]) | st.integers(-1, 40).map(lambda n: f"/{n}")
                      | st.sampled_from(["/255.255.255.0", "/0.0.0.255", "/255.0.255.0", "/24 ", "/024"]))


@settings(max_examples=400, deadline=None)
@given(_prefixes | st.text(max_size=24))
def test_a_vlan_subnet_read_once_is_the_subnet_checked_in_full(text: str) -> None:
    subnet, messages = _parsed(text)
    expected_subnet, expected = _subnet_reference(text)
    assert messages == expected
    assert subnet == (expected_subnet if not expected else None)


def test_the_subnets_users_get_wrong_are_still_refused_as_before() -> None:
    for text in ("10.0.0.1/24", "10.0.0.0/31", "10.0.0.0/33", "10.0.0/24", "10.0.0.0", "10.0.0.0/255.255.255.0",
                 "10.0.0.5/255.255.255.0", "300.0.0.0/8", "10.0.0.0/24/1"):
        assert _parsed(text)[1] == _subnet_reference(text)[1], text
    assert _parsed("10.0.0.1/24")[1] == ["subnet 10.0.0.1/24 has host bits set; did you mean 10.0.0.0/24?"]


_digits = st.text(st.sampled_from("0123456789_+-xob:"), min_size=1, max_size=24) | st.integers().map(str) \
    | st.text(min_size=1, max_size=6)


@settings(max_examples=400, deadline=None)
@given(_digits, st.sampled_from(["{}", "!!int {}", "!!int '{}'", "[{}]", "{{n: {}}}"]))
@example("010", "{}")  # YAML 1.1 octal: 8
@example("0", "{}")
@example("1_000", "{}")
@example("99999999999999999999999", "{}")
@example("\u0663", "!!int '{}'")  # an Arabic-Indic digit: int() reads it, the resolver does not
def test_integers_read_without_the_constructor_are_what_it_constructs(text: str, form: str) -> None:
    document = "v: " + form.format(text) + "\n"
    for ours, theirs in ((C_LOADER, yaml.CSafeLoader), (PY_LOADER, yaml.SafeLoader)):  # libyaml's, and Python's
        try:
            expected = yaml.load(document, Loader=theirs)  # noqa: S506 - the safe loaders themselves
        except Exception:  # noqa: BLE001 - what the safe loader refuses (or fails on: "!!int _") is not compared
            continue
        try:
            data = load_text(document, "site.yaml", loader_class=ours).data
        except (ValidationError, IndexError):  # IndexError: the constructor's own, as above
            continue
        assert data == expected and type(data["v"]) is type(expected["v"]), document


_variable_values = st.one_of(st.text(max_size=12), st.integers(), st.booleans(), st.none(),
                             st.lists(st.text(max_size=4), max_size=2), st.text(max_size=6).map(Vaulted),
                             st.text(max_size=6).map(Unsafe), st.sampled_from(["{x}", "{ {x} }", "}}{{", "{{", "{{ a }}", "x{{ b }}y", "{{ undefined }}"]))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["host", "port", "platform", "a", "b", "x"]), _variable_values, max_size=6))
def test_variables_without_a_reference_are_what_resolving_them_gives(variables: dict[str, Any]) -> None:
    """resolve() returns variables without a ``{{`` in any value as they are: what its walk gives."""
    merged = {key: (("all", "vars", key), value) for key, value in variables.items()}
    fast, missing = inventory.resolve("sw1", merged)
    walked, walked_missing = inventory._resolved("sw1", merged)
    assert fast == walked and missing == walked_missing
    assert [type(value) for _, value in fast.values()] == [type(value) for _, value in walked.values()]


def _sequences(data: Any, path: tuple[str | int, ...] = ()) -> list[tuple[tuple[str | int, ...], int]]:
    """Every list in ``data`` with its JSON path and length."""
    found: list[tuple[tuple[str | int, ...], int]] = []
    if isinstance(data, list):
        found.append((path, len(data)))
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        found += _sequences(value, (*path, key))
    return found


_ALIASED = """\
base: &base {ports: [a, b]}
intents:
  - {name: one, <<: *base}
  - &two {name: two, list: [1, 2, 3]}
  - *two
  - [x, [y, z]]
"""


def test_item_locations_are_each_items_location() -> None:
    """One walk to a list locates its items as ``at`` locates each: every list of the YAML files under
    tests/ (golden sites, the hostile corpus, inventories) and of a document with aliases and merge keys."""
    from pathlib import Path

    from engine.yamlsrc import load_yaml

    documents = [load_text(_ALIASED, "aliased.yaml")]
    for path in sorted(Path(__file__).parent.rglob("*.yaml")):
        try:
            documents.append(load_yaml(path))
        except ValidationError:
            continue
    compared = 0
    for doc in documents:
        for json_path, count in _sequences(doc.data):
            assert doc.item_locations(json_path, count) == [str(doc.at((*json_path, i))) for i in range(count)]
            compared += count
    assert compared > 1000


_networks = st.builds(lambda address, length: ipaddress.IPv4Network((address, length), strict=False),
                      st.integers(0, 2**32 - 1) | st.sampled_from([0, 2**32 - 1, 10 << 24, (10 << 24) | (255 << 16)]),
                      st.integers(0, 32))


@settings(max_examples=500, deadline=None)
@given(_networks, _networks)
def test_a_subnet_meets_the_transit_pool_where_the_networks_overlap(pool: ipaddress.IPv4Network,
                                                                     subnet: ipaddress.IPv4Network) -> None:
    from intents.vlan import _meets

    assert _meets(int(pool.network_address), int(pool.broadcast_address), subnet) == pool.overlaps(subnet)
