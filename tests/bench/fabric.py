"""Generated L3 leaf-spine sites (for the benchmark and the scale tests): every leaf a gateway.

``spines`` Linux spines (they meet every guarantee, more than a vendor's four queues), leaves
cycling through EOS, NX-OS, Junos, IOS and Linux, each cabled to every spine and the gateway of
its own VLAN with two host ports. VLAN IDs are 12 bits, so a site has at most 4,094 VLANs: past
``max_gateways`` leaves, the other devices are L2 server switches under the leaves (carrying
their leaf's VLAN to host ports of their own). Guarantees join VLAN pairs across the fabric.
"""

from __future__ import annotations

from pathlib import Path

LEAF_PLATFORMS = [("eos", "Ethernet{}"), ("nxos", "Ethernet1/{}"), ("junos", "xe-0/0/{}"),
                  ("ios", "TenGigabitEthernet1/0/{}"), ("linux", "eth{}")]
MAX_GATEWAYS = 3_996  # VLAN IDs 2..3997


def generate(root: Path, devices: int, guarantees: int = 100, spines: int = 4, routing: str | None = None,
             max_gateways: int = MAX_GATEWAYS) -> Path:
    """Write site.yaml, inventory.yaml, topology.yaml and an empty running/ under ``root``."""
    spine_names = [f"spine{i}" for i in range(1, spines + 1)]
    leaf_count = min(devices - spines, max_gateways)
    leaves = [f"leaf{i:05d}" for i in range(1, leaf_count + 1)]
    servers = [f"srv{i:05d}" for i in range(1, devices - spines - leaf_count + 1)]
    platform = {name: ("linux", "eth{}") for name in spine_names}
    platform.update({leaf: LEAF_PLATFORMS[i % len(LEAF_PLATFORMS)] for i, leaf in enumerate(leaves)})
    platform.update({server: ("linux", "eth{}") for server in servers})
    next_port = dict.fromkeys(platform, 1)

    def port(device: str) -> str:
        number = next_port[device]
        next_port[device] += 1
        return platform[device][1].format(number)

    links = [f"  - {{a: '{leaf}:{port(leaf)}', b: '{spine}:{port(spine)}', bandwidth: 100Gbps}}"
             for leaf in leaves for spine in spine_names]
    below: dict[str, list[str]] = {leaf: [] for leaf in leaves}
    for i, server in enumerate(servers):
        leaf = leaves[i % leaf_count]
        below[leaf].append(server)
        links.append(f"  - {{a: '{leaf}:{port(leaf)}', b: '{server}:{port(server)}', bandwidth: 25Gbps}}")
    intents = []
    for i, leaf in enumerate(leaves):
        vid = 2 + i
        hosts = [f"'{leaf}:{platform[leaf][1].format(90)}'", f"'{leaf}:{platform[leaf][1].format(91)}'"]
        hosts += [f"'{server}:eth9'" for server in below[leaf]]
        intents.append(f"  - name: v{vid}\n    vlan: {{id: {vid}, subnet: 10.{i // 256}.{i % 256}.0/24, "
                       f"gateway: {leaf}, access: [{', '.join(hosts)}]}}")
    for g in range(min(guarantees, leaf_count // 2)):
        a, b = (2 * g) % leaf_count, (2 * g + 1 + leaf_count // 2) % leaf_count
        extra = ", priority: true, match: {dscp: ef}" if g % 5 == 0 else ""
        intents.append(f"  - name: g{g:03d}\n    qos_guarantee: {{between: [{{vlan: {2 + a}}}, {{vlan: {2 + b}}}], "
                       f"rate: 20Mbps{extra}}}")
    root.mkdir(parents=True, exist_ok=True)
    inventory = ["all:", "  vars: {password_env: BENCH_PASSWORD}", "  hosts:"]
    inventory += [f"    {name}: {{platform: {platform[name][0]}, host: 192.0.2.1}}" for name in sorted(platform)]
    (root / "inventory.yaml").write_text("\n".join(inventory) + "\n")
    (root / "topology.yaml").write_text("links:\n" + "\n".join(links) + "\n")
    defaults = "{reservable: 90%" + (f", routing: {routing}" if routing else "") + "}"
    (root / "site.yaml").write_text(f"site: fabric\ninventory: inventory.yaml\ntopology: topology.yaml\n"
                                    f"defaults: {defaults}\nintents:\n" + "\n".join(intents) + "\n")
    (root / "running").mkdir(exist_ok=True)
    return root / "site.yaml"
