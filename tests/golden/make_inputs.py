"""Write the input site of every golden case (run by hand when the scenario changes; inputs are reviewed like code).

Every platform gets the same scenario with its own interface names: r1 routes VLANs 10, 20 and
30 (capped), r2 routes VLAN 40 over two equal-cost routed links, s1 reaches r1 over a trunk
(VLANs 10, 30), s2 over a one-VLAN link; guarantees with DSCP/port narrowing and a priority one;
VLAN 30 isolated from 40 (two gateways, DNS and ICMP allowed), VLANs 10 and 20 sharing 3:1.

The ``transit`` case: VLANs 10 (gateway r1) and 20 (gateway r2) isolated with two routers between
them, t1 and t2 in a chain, which route neither VLAN: each gets the transit filter on the routed
ports the pair's traffic arrives on; a guarantee between VLANs 10 and 30 crosses the same routers.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent
NAMES = {
    "linux": lambda n: f"eth{n}",
    "ios": lambda n: f"GigabitEthernet1/0/{n}",
    "eos": lambda n: f"Ethernet{n}",
    "nxos": lambda n: f"Ethernet1/{n}",
    "junos": lambda n: f"ge-0/0/{n}",
}

SITE = """\
site: golden
inventory: inventory.yaml
topology: topology.yaml
defaults: {{reservable: 90%}}
intents:
  - name: users
    vlan: {{id: 10, subnet: 10.10.0.0/24, gateway: r1, access: [s1:{a1}]}}
  - name: video
    vlan: {{id: 20, subnet: 10.20.0.0/24, gateway: r1, access: [s2:{a1}]}}
  - name: guest
    vlan: {{id: 30, subnet: 10.30.0.0/24, gateway: r1, access: [s1:{a2}]}}
  - name: servers
    vlan: {{id: 40, subnet: 10.40.0.0/24, gateway: r2, access: [r2:{a1}]}}
  - name: video-10-20
    qos_guarantee:
      between: [{{vlan: 10}}, {{vlan: 20}}]
      rate: 100Mbps
      ceil: 400Mbps
      match: {{protocol: udp, ports: 5004-5010, dscp: af41}}
  - name: voice
    qos_guarantee:
      between: [{{vlan: 10}}, {{vlan: 40}}]
      rate: 5%
      priority: true
      match: {{dscp: ef}}
      queue: pfifo
  - name: bulk-20-40
    qos_guarantee:
      between: [{{vlan: 20}}, {{vlan: 40}}]
      rate: 50Mbps
  - name: cap-guest
    qos_limit: {{vlan: 30, rate: 20Mbps}}
  - name: guests-off-servers
    isolate:
      between: [{{vlan: 30}}, {{vlan: 40}}]
      allow: [{{protocol: udp, ports: 53}}, {{protocol: icmp}}]
  - name: fair
    qos_share:
      weights: [{{vlan: 10, weight: 3}}, {{vlan: 20, weight: 1}}]
"""

TOPOLOGY = """\
links:
  - {{a: r1:{p1}, b: s1:{p1}, bandwidth: 1Gbps}}
  - {{a: r1:{p2}, b: s2:{p1}, bandwidth: 1Gbps}}
  - {{a: r1:{p3}, b: r2:{p3}, bandwidth: 10Gbps}}
  - {{a: r1:{p4}, b: r2:{p4}, bandwidth: 10Gbps}}
"""

INVENTORY = """\
all:
  vars: {{platform: {platform}, password_env: GOLDEN_PASSWORD}}
  hosts:
    r1: {{host: 192.0.2.1{extra}}}
    r2: {{host: 192.0.2.2{extra}}}
    s1: {{host: 192.0.2.3{extra}}}
    s2: {{host: 192.0.2.4{extra}}}
"""


TRANSIT_SITE = """\
site: transit
inventory: inventory.yaml
topology: topology.yaml
intents:
  - name: users
    vlan: {{id: 10, subnet: 10.10.0.0/24, gateway: r1, access: [r1:{a1}]}}
  - name: lab
    vlan: {{id: 20, subnet: 10.20.0.0/24, gateway: r2, access: [r2:{a1}]}}
  - name: printers
    vlan: {{id: 30, subnet: 10.30.0.0/24, gateway: r2, access: [r2:{a2}]}}
  - name: lab-apart
    isolate:
      between: [{{vlan: 10}}, {{vlan: 20}}]
      allow: [{{protocol: tcp, ports: 8000-8010}}, {{protocol: icmp}}]
  - name: printing
    qos_guarantee:
      between: [{{vlan: 10}}, {{vlan: 30}}]
      rate: 10Mbps
"""

TRANSIT_TOPOLOGY = """\
links:
  - {{a: r1:{p1}, b: t1:{p1}, bandwidth: 1Gbps}}
  - {{a: t1:{p2}, b: t2:{p2}, bandwidth: 1Gbps}}
  - {{a: t2:{p3}, b: r2:{p3}, bandwidth: 1Gbps}}
"""

TRANSIT_INVENTORY = """\
all:
  vars: {{platform: {platform}, password_env: GOLDEN_PASSWORD}}
  hosts:
    r1: {{host: 192.0.2.1}}
    t1: {{host: 192.0.2.5}}
    t2: {{host: 192.0.2.6}}
    r2: {{host: 192.0.2.2}}
"""


def main() -> None:
    for platform, name in NAMES.items():
        ports = {f"p{n}": name(n) for n in range(1, 5)} | {"a1": name(11), "a2": name(12)}
        for case in ("fresh", "brownfield"):
            case_dir = HERE / platform / case
            case_dir.mkdir(parents=True, exist_ok=True)
            (case_dir / "site.yaml").write_text(SITE.format(**ports))
            (case_dir / "topology.yaml").write_text(TOPOLOGY.format(**ports))
            (case_dir / "inventory.yaml").write_text(INVENTORY.format(platform=platform, extra=""))
            if case == "brownfield":
                (case_dir / "running").mkdir(exist_ok=True)  # running state written by hand, per platform
        transit = HERE / platform / "transit"
        transit.mkdir(parents=True, exist_ok=True)
        (transit / "site.yaml").write_text(TRANSIT_SITE.format(**ports))
        (transit / "topology.yaml").write_text(TRANSIT_TOPOLOGY.format(**ports))
        (transit / "inventory.yaml").write_text(TRANSIT_INVENTORY.format(platform=platform))


if __name__ == "__main__":
    main()
