"""Routes at fabric scale: summarisation keeps forwarding identical, paths are right, growth is linear.

The topologies are generated here with their own random seeds; the expected forwarding is worked
out here too (networkx distances, a longest-prefix match written for the test), never by the
engine code under test.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import pytest

from engine.compiler import Compilation, compile_site
from engine.device import DeviceModel
from engine.loader import load_site
from tests.bench.fabric import generate as generate_fabric


@dataclass
class Shape:
    """A generated topology: routers, links (a, b, cost), VLANs (subnet, gateway) and stub L2 switches."""

    routers: list[str]
    links: list[tuple[str, str, int]]
    vlans: list[tuple[str, str]]
    stubs: dict[str, str]  # L2 switch -> the gateway it hangs off (hosts of that gateway's first VLAN)


def _subnets(rng: random.Random, count: int) -> list[str]:
    """Non-overlapping subnets of mixed sizes, placed unaligned to each other in several ranges."""
    taken: list[ipaddress.IPv4Network] = []
    pools = [ipaddress.IPv4Network("10.0.0.0/12"), ipaddress.IPv4Network("172.16.0.0/16"),
             ipaddress.IPv4Network("192.168.0.0/20")]
    while len(taken) < count:
        pool = rng.choice(pools)
        prefixlen = rng.choice([22, 24, 25, 26, 27, 28, 28, 29, 29, 30, 30, 30])
        slots = 1 << (prefixlen - pool.prefixlen)
        network = ipaddress.IPv4Network((int(pool.network_address) + rng.randrange(slots) * (1 << (32 - prefixlen)),
                                         prefixlen))
        if not any(network.overlaps(other) for other in taken):
            taken.append(network)
    return [str(n) for n in taken]


def leaf_spine(rng: random.Random) -> Shape:
    spines = [f"s{i}" for i in range(rng.randint(1, 4))]
    leaves = [f"l{i}" for i in range(rng.randint(3, 14))]
    links = []
    for leaf in leaves:
        for spine in spines:
            links.append((leaf, spine, 1))
            if rng.random() < 0.15:
                links.append((leaf, spine, 1))  # parallel link: one more equal-cost next hop
            if rng.random() < 0.1:
                links[-1] = (leaf, spine, 2)  # an expensive uplink: a leaf with its own attachment
    gateways = [leaf for leaf in leaves if rng.random() < 0.85] or leaves[:1]
    return _with_vlans(rng, spines + leaves, links, gateways)


def random_mesh(rng: random.Random) -> Shape:
    routers = [f"r{i}" for i in range(rng.randint(4, 16))]
    links = [(routers[i], rng.choice(routers[:i]), rng.randint(1, 3)) for i in range(1, len(routers))]
    for _ in range(rng.randint(0, len(routers))):
        a, b = rng.sample(routers, 2)
        links.append((a, b, rng.randint(1, 3)))
    gateways = rng.sample(routers, rng.randint(2, len(routers)))
    return _with_vlans(rng, routers, links, gateways)


def ring_and_stubs(rng: random.Random) -> Shape:
    routers = [f"c{i}" for i in range(rng.randint(3, 9))]
    links = [(routers[i], routers[(i + 1) % len(routers)], 1) for i in range(len(routers))]
    gateways = list(routers)
    for i in range(rng.randint(2, 8)):  # two-homed edge routers, gateways of their own
        edge = f"e{i}"
        routers.append(edge)
        first, second = rng.sample(routers[: len(gateways)], 2)
        links += [(edge, first, 1), (edge, second, rng.choice([1, 1, 2]))]
        gateways.append(edge)
    return _with_vlans(rng, routers, links, gateways)


def _with_vlans(rng: random.Random, routers: list[str], links: list[tuple[str, str, int]],
                gateways: list[str]) -> Shape:
    owners = [gateway for gateway in gateways for _ in range(rng.choice([1, 1, 1, 2, 3]))]
    subnets = _subnets(rng, len(owners))
    stubs = {f"sw{i}": rng.choice(gateways) for i in range(rng.randint(0, 3))}
    return Shape(routers, links, list(zip(subnets, owners, strict=True)), stubs)


def write_site(root: Path, shape: Shape, routing: str) -> Path:
    ports: dict[str, int] = {}

    def port(device: str) -> str:
        ports[device] = ports.get(device, 0) + 1
        return f"{device}:eth{ports[device]}"

    lines = ["links:"]
    for a, b, cost in shape.links:
        lines.append(f"  - {{a: '{port(a)}', b: '{port(b)}', bandwidth: 10Gbps, cost: {cost}}}")
    stub_links = {stub: (port(gateway), port(stub)) for stub, gateway in shape.stubs.items()}
    for gateway_end, stub_end in stub_links.values():
        lines.append(f"  - {{a: '{gateway_end}', b: '{stub_end}', bandwidth: 1Gbps}}")
    (root / "topology.yaml").write_text("\n".join(lines) + "\n")
    hosts = [*shape.routers, *shape.stubs]
    (root / "inventory.yaml").write_text("all:\n  vars: {platform: linux}\n  hosts:\n" +
                                         "".join(f"    {h}: {{netns: {h}}}\n" for h in hosts))
    intents = []
    first_vlan: dict[str, int] = {}
    for index, (subnet, gateway) in enumerate(shape.vlans):
        vid = 10 + index
        first_vlan.setdefault(gateway, vid)
        access = [f"{gateway}:h{vid}"]
        access += [f"{stub}:h{vid}" for stub, owner in shape.stubs.items() if owner == gateway and first_vlan[gateway] == vid]
        intents.append(f"  - name: v{vid}\n    vlan: {{id: {vid}, subnet: {subnet}, gateway: {gateway}, "
                       f"access: [{', '.join(access)}]}}")
    (root / "site.yaml").write_text(f"site: gen\ninventory: inventory.yaml\ntopology: topology.yaml\n"
                                    f"defaults: {{routing: {routing}}}\nintents:\n" + "\n".join(intents) + "\n")
    return root / "site.yaml"


Entry = tuple[int, int, frozenset[tuple[str, str]]]  # network, prefixlen, next hops (address, interface)


def forwarding_table(model: DeviceModel) -> list[Entry]:
    """Static routes plus the connected subnets (SVIs, routed ports), longest prefix first."""
    entries: list[Entry] = []
    for route in model.routes:
        net = ipaddress.IPv4Network(route.prefix)
        entries.append((int(net.network_address), net.prefixlen,
                        frozenset((hop.address, hop.interface) for hop in route.next_hops)))
    for svi in model.svis:
        net = ipaddress.IPv4Network(f"{svi.address}/{svi.prefixlen}", strict=False)
        entries.append((int(net.network_address), net.prefixlen, frozenset({("connected", f"vlan{svi.vlan}")})))
    for port in model.ports:
        if port.address is not None and port.prefixlen is not None:
            net = ipaddress.IPv4Network(f"{port.address}/{port.prefixlen}", strict=False)
            entries.append((int(net.network_address), net.prefixlen, frozenset({("connected", port.name)})))
    return sorted(entries, key=lambda entry: -entry[1])


def lookup(table: list[Entry], address: int) -> frozenset[tuple[str, str]]:
    for network, prefixlen, hops in table:
        if address >> (32 - prefixlen) == network >> (32 - prefixlen):
            return hops
    return frozenset()  # no route


def host_addresses(subnet: str) -> range:
    net = ipaddress.IPv4Network(subnet)
    return range(int(net.network_address) + 1, int(net.broadcast_address))


SHAPES = [(maker, seed) for maker in (leaf_spine, random_mesh, ring_and_stubs) for seed in range(6)]


@pytest.mark.parametrize(("maker", "seed"), SHAPES, ids=[f"{m.__name__}-{s}" for m, s in SHAPES])
def test_summarised_routes_forward_every_vlan_host_exactly_as_explicit_routes(maker, seed: int, tmp_path: Path) -> None:
    shape = maker(random.Random(seed))
    compiled: dict[str, Compilation] = {}
    for routing in ("static-full", "summarised"):
        root = tmp_path / routing
        root.mkdir()
        compiled[routing] = compile_site(load_site(write_site(root, shape, routing)))
    explicit, summarised = compiled["static-full"].models, compiled["summarised"].models
    assert explicit.keys() == summarised.keys()
    checked = 0
    for name in sorted(explicit):
        full, small = forwarding_table(explicit[name]), forwarding_table(summarised[name])
        assert len(summarised[name].routes) <= len(explicit[name].routes)
        for subnet, _ in shape.vlans:
            for address in host_addresses(subnet):
                assert lookup(small, address) == lookup(full, address), \
                    f"{name}: {ipaddress.IPv4Address(address)} ({subnet}) forwards differently when summarised"
                checked += 1
    assert checked


@pytest.mark.parametrize(("maker", "seed"), SHAPES[::2], ids=[f"{m.__name__}-{s}" for m, s in SHAPES[::2]])
def test_explicit_routes_use_every_equal_cost_next_hop_of_every_shortest_path(maker, seed: int, tmp_path: Path) -> None:
    """The per-destination DAG against networkx: a device routes a VLAN iff it lies on a shortest path
    from another gateway to the VLAN's gateway, over exactly the links that start such a path."""
    shape = maker(random.Random(seed))
    models = compile_site(load_site(write_site(tmp_path, shape, "static-full"))).models
    graph = nx.Graph()
    for a, b, cost in shape.links:
        if not graph.has_edge(a, b) or graph[a][b]["cost"] > cost:
            graph.add_edge(a, b, cost=cost)
    dist = dict(nx.all_pairs_dijkstra_path_length(graph, weight="cost"))
    interfaces: dict[str, list[tuple[str, str, int]]] = {}  # device -> (local interface, neighbour, cost)
    ports: dict[str, int] = {}
    for a, b, cost in shape.links:
        for here, there in ((a, b), (b, a)):
            ports[here] = ports.get(here, 0) + 1
            interfaces.setdefault(here, []).append((f"eth{ports[here]}", there, cost))
    gateways = {gateway for _, gateway in shape.vlans}
    for name in shape.routers:
        routes = {route.prefix: {hop.interface for hop in route.next_hops} for route in models[name].routes}
        for subnet, gateway in shape.vlans:
            on_path = name != gateway and any(
                dist[s][name] + dist[name][gateway] == dist[s][gateway] for s in gateways - {gateway})
            if not on_path:
                assert str(ipaddress.IPv4Network(subnet)) not in routes, f"{name} routes {subnet} but is on no path"
                continue
            expected = {iface for iface, there, cost in interfaces[name]
                        if there in dist and dist[there][gateway] + cost == dist[name][gateway]}
            assert routes[str(ipaddress.IPv4Network(subnet))] == expected, f"{name} -> {subnet} via {gateway}"


def test_a_leaf_of_a_fabric_has_one_covering_route_and_the_plan_notes_unused_space(tmp_path: Path) -> None:
    site = load_site(generate_fabric(tmp_path, 24, guarantees=4))
    compilation = compile_site(site)
    leaf = compilation.models["leaf00001"]
    (route,) = leaf.routes
    assert route.prefix == "10.0.0.0/19"  # 20 /24s: 10.0.0.0 .. 10.0.19.0, the smallest prefix covering them
    assert sorted(hop.interface for hop in route.next_hops) == ["Ethernet1", "Ethernet2", "Ethernet3", "Ethernet4"]
    assert route.intent == "summary"
    assert any("route 10.0.0.0/19 summarises 20 VLAN subnets and also covers address space no VLAN uses "
               "(3,072 addresses)" in note for note in compilation.notes["leaf00001"])
    spine = compilation.models["spine1"]
    assert len(spine.routes) == 20  # one per leaf: each leaf's subnet straight down its own link


def test_static_full_keeps_one_explicit_route_per_remote_subnet(tmp_path: Path) -> None:
    compilation = compile_site(load_site(generate_fabric(tmp_path, 24, guarantees=4, routing="static-full")))
    leaf = compilation.models["leaf00001"]
    assert [route.prefix for route in leaf.routes] == [f"10.0.{i}.0/24" for i in range(1, 20)]
    assert {route.intent for route in leaf.routes} == {f"v{2 + i}" for i in range(1, 20)}
    assert not compilation.notes


def test_an_unknown_routing_mode_is_a_validation_error(tmp_path: Path) -> None:
    from engine.errors import ValidationError

    site = generate_fabric(tmp_path, 8, guarantees=1)
    site.write_text(site.read_text().replace("{reservable: 90%}", "{reservable: 90%, routing: ospf}"))
    with pytest.raises(ValidationError) as info:
        load_site(site)
    assert any("ospf" in line and "site.yaml:4:" in line for line in info.value.lines())


def _size(tmp_path: Path, leaves: int, routing: str = "summarised") -> tuple[int, int, int]:
    root = tmp_path / f"{routing}-{leaves}"
    compilation = compile_site(load_site(generate_fabric(root, leaves + 4, guarantees=leaves // 4, routing=routing)))
    lines = sum(config.text.count("\n") for config in compilation.configs.values())
    routes = sum(len(model.routes) for model in compilation.models.values())
    return lines, routes, compilation.path_computations


def test_fabric_compile_grows_linearly_with_the_number_of_leaves(tmp_path: Path) -> None:
    """Twice the leaves: at most a little over twice the config and routes, the same path computations."""
    small, large = _size(tmp_path, 40), _size(tmp_path, 80)
    assert large[0] <= 2.1 * small[0], f"config lines {small[0]} -> {large[0]}"
    assert large[1] <= 2.1 * small[1], f"routes {small[1]} -> {large[1]}"
    assert large[2] == small[2], f"path computations {small[2]} -> {large[2]}"
    full_small, full_large = _size(tmp_path, 40, "static-full"), _size(tmp_path, 80, "static-full")
    assert full_large[1] >= 3.5 * full_small[1]  # the explicit table is quadratic: what the summary avoids


def test_the_fast_prefix_key_orders_as_ipaddress_does() -> None:
    from engine.linux import _network_key

    rng = random.Random(7)
    samples = ["10.0.0.1/24", "0.0.0.0/0", "255.255.255.255/32", "10.1.2.3", "192.168.1.0/31", "fe80::1/64", "::/0"]
    samples += [f"{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}/{rng.randint(0, 32)}"
                for _ in range(500)]
    for prefix in samples:
        network = ipaddress.ip_network(prefix, strict=False)
        assert _network_key(prefix) == (int(network.network_address), network.prefixlen), prefix
    assert _network_key("1.2.3.4/024") == (int(ipaddress.IPv4Address("1.2.3.0")), 24)  # as ipaddress reads it
    for bad in ("010.0.0.1/24", "10.0.0.256/24", "10.0.0.1/33"):
        with pytest.raises(ValueError):
            _network_key(bad)


def test_the_fast_schema_check_never_passes_what_jsonschema_refuses() -> None:
    """jsonschema-rs answers "valid?" first (engine.loader); where it says yes, jsonschema finds nothing either."""
    import copy

    import jsonschema
    import jsonschema_rs
    import yaml

    from engine.loader import schema
    from intents import Registry

    root = Path(__file__).resolve().parent.parent / "examples" / "campus"
    documents = {"site": yaml.safe_load((root / "site.yaml").read_text()),
                 "topology": yaml.safe_load((root / "topology.yaml").read_text()),
                 "inventory": yaml.safe_load((root.parent.parent / "inventories" / "campus.yaml").read_text())}
    cases = [(schema(name), document) for name, document in documents.items()]
    bodies = [(kind.schema, item[kind.key]) for item in documents["site"]["intents"]
              for kind in Registry().ordered() if kind.key in item]
    cases += bodies
    rng = random.Random(3)
    oddities = ["", "x y", "é", "10.0.0.0/33", "a\n", "-1", -1, 0, 2**70, 1.5, True, None, [], {}, {"x": 1}, ["a"],
                "Ethernet1/1", "100Mbps", "150%", "aa:bb", "\u0661"]
    checked = 0
    for schema_doc, document in cases:
        slow, fast = jsonschema.Draft202012Validator(schema_doc), jsonschema_rs.Draft202012Validator(schema_doc)
        for _ in range(150):
            mutated = copy.deepcopy(document)
            for _ in range(rng.randint(1, 3)):
                _mutate(rng, mutated, oddities)
            if fast.is_valid(mutated):
                assert list(slow.iter_errors(mutated)) == [], mutated
            checked += 1
    assert checked > 1000


def _mutate(rng: random.Random, value: object, oddities: list[object]) -> None:
    """Replace, delete or add one value somewhere inside ``value`` (a dict or list)."""
    path = []
    node = value
    while isinstance(node, (dict, list)) and node and rng.random() < 0.75:
        key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
        path.append((node, key))
        node = node[key]
    if not path:
        return
    parent, key = path[-1]
    action = rng.random()
    if action < 0.6:
        parent[key] = rng.choice(oddities)
    elif action < 0.8 and isinstance(parent, dict):
        del parent[key]
    elif isinstance(parent, dict):
        parent[rng.choice(["extra", "name", "rate", "id", "vlan", "cost"])] = rng.choice(oddities)


def _random_trie(rng: random.Random):
    from engine.routing import PrefixTrie

    subnets = [ipaddress.IPv4Network(text) for text in _subnets(rng, rng.randint(1, 60))]
    return PrefixTrie([(int(net.network_address), net.prefixlen) for net in subnets])


def _reference_trie(subnets: list[ipaddress.IPv4Network]) -> list[tuple[str, int, int, int, int, int, int]]:
    """The Patricia trie of ``subnets`` worked out with ipaddress: each node in pre-order as (prefix, subnet
    index or -1, parent, left, right, subnets below, their addresses); a branch is the smallest supernet of
    its subnets, its children the subnets of each of its two halves."""
    nodes: list[tuple[str, int, int, int, int, int, int]] = []

    def build(group: list[int], parent: int) -> int:
        position = len(nodes)
        addresses = sum(subnets[i].num_addresses for i in group)
        if len(group) == 1:
            nodes.append((str(subnets[group[0]]), group[0], parent, -1, -1, 1, addresses))
            return position
        supernet = subnets[group[0]]
        while not all(subnets[i].subnet_of(supernet) for i in group):
            supernet = supernet.supernet()
        nodes.append((str(supernet), -1, parent, -1, -1, len(group), addresses))
        low, high = supernet.subnets()
        left = build([i for i in group if subnets[i].subnet_of(low)], position)
        right = build([i for i in group if subnets[i].subnet_of(high)], position)
        nodes[position] = (*nodes[position][:3], left, right, *nodes[position][5:])
        return position

    build(sorted(range(len(subnets)), key=lambda i: subnets[i]), -1)
    return nodes


def test_the_prefix_trie_is_the_one_ipaddress_works_out() -> None:
    """PrefixTrie finds each branch's children by bisecting the sorted networks: the same nodes, in the same
    pre-order, as the smallest supernets and halves ipaddress gives, on subnets of every size and spread."""
    from engine.routing import PrefixTrie

    rng = random.Random(23)
    for _ in range(300):
        subnets = [ipaddress.IPv4Network(text) for text in _subnets(rng, rng.randint(1, 40))]
        trie = PrefixTrie([(int(net.network_address), net.prefixlen) for net in subnets])
        found = [(node.prefix, node.leaf, trie.parent[i], node.left, node.right, node.subnets, node.addresses)
                 for i, node in enumerate(trie.nodes)]
        assert found == _reference_trie(subnets), subnets
        assert all(trie.nodes[trie.leaf_node[i]].leaf == i for i in range(len(subnets)))


def test_summarising_around_own_subnets_takes_the_routes_of_the_general_walk() -> None:
    """The fast path for a table that is one next-hop set except the device's own subnets (a leaf of a
    fabric) gives exactly the routes of the general ORTC walk, on tries of every shape."""
    from engine.routing import DONT_CARE

    rng = random.Random(11)
    for _ in range(400):
        trie = _random_trie(rng)
        count = len(trie.subnets)
        own = rng.sample(range(count), min(count, rng.choice([0, 1, 1, 2, rng.randint(1, count)])))
        exceptions = dict.fromkeys(own, DONT_CARE)
        default = tuple(sorted(rng.sample(range(8), rng.randint(1, 3))))
        assert trie.summarise(default, exceptions) == trie.ortc(default, exceptions), (trie.subnets, own)


@pytest.mark.parametrize(("maker", "seed"), SHAPES[1::2], ids=[f"{m.__name__}-{s}" for m, s in SHAPES[1::2]])
def test_a_summary_shared_by_tables_equal_but_for_their_next_hops_is_each_ones_own(
        maker, seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Build._summarise computes one summary for every device whose table is the same up to the names
    of its next hops; every device gets the routes that summarising its own table gives."""
    import engine.build
    from engine.compiler import build_site

    site = load_site(write_site(tmp_path, maker(random.Random(seed)), "summarised"))
    models = {}
    for threshold in (10**9, 1):  # never shared, shared whenever the tables match
        monkeypatch.setattr(engine.build, "SHARED_SUMMARY_FROM", threshold)
        build = build_site(site)
        models[threshold] = build.finish()
    assert models[1] == models[10**9]


def test_the_spines_of_a_fabric_share_one_summary(tmp_path: Path) -> None:
    from engine.compiler import build_site

    build = build_site(load_site(generate_fabric(tmp_path, 4 + 80, guarantees=0)))
    models = build.finish()
    assert len(build._summaries) == 1
    spines = [models[f"spine{i}"] for i in range(1, 5)]
    assert all(len(spine.routes) == 80 for spine in spines)
    assert len({hop for spine in spines for route in spine.routes for hop in route.next_hops}) == 4 * 80


@pytest.mark.parametrize(("maker", "seed"), SHAPES, ids=[f"{m.__name__}-{s}" for m, s in SHAPES])
def test_attachments_taken_whole_where_no_tree_hangs_off_are_the_filtered_ones(maker, seed: int, tmp_path: Path) -> None:
    """Network takes each device's neighbours whole when its core is every device; that must be what
    keeping the neighbours in the core says (the shapes here have hanging switches or none)."""
    from engine.network import Network

    network = Network(load_site(write_site(tmp_path, maker(random.Random(seed)), "summarised")))
    cheapest: dict[str, dict[str, int]] = {}
    for device, neighbours in network.adjacency.items():
        costs = cheapest[device] = {}
        for link, other in neighbours:
            costs[other] = min(link.cost, costs.get(other, link.cost))
    core = Network._core(cheapest)
    for device in network.adjacency:
        attached = tuple(sorted((n, c) for n, c in cheapest[device].items() if n in core))
        if device in core and attached:
            assert network.attachment(device) == attached
            assert network._seeds[attached] == attached
        else:
            assert network.attachment(device) == (("", 0), (device, 0))
