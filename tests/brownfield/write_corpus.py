"""Writes tests/brownfield/corpus/ and corpus.yaml: each config composed, by the hand-chosen
parameters of VARIANTS, from blocks written for this project in the forms each platform prints
(learned from public device dumps; nothing copied). Uses no engine code: the engine never grades
its own test data. Run by hand when the corpus changes; review the files like code."""
from pathlib import Path

import yaml

OUT = Path(__file__).parent / "corpus"

# ---------------------------------------------------------------- IOS / IOS-XE
def ios(p):
    L = []
    L += ["Building configuration...", "", f"Current configuration : {p['bytes']} bytes", "!",
          f"! Last configuration change at {p['when']} by netops", "!", f"version {p['ver']}",
          "service timestamps debug datetime msec", "service timestamps log datetime msec",
          "service password-encryption", "no platform punt-keepalive disable-kernel-core", "!",
          f"hostname {p['host']}", "!", "vrf definition Mgmt-vrf", " !", " address-family ipv4", " exit-address-family", " !",
          "!", "logging buffered 64000", "enable secret 9 $9$Zq1WxEr2Ty3Ui4$Op5As6Df7Gh8Jk9Lz0Xc1Vb2Nm3Qw4Er5Ty6Ui7Op8A", "!",
          "aaa new-model", "!", "aaa authentication login default local", "!", "ip domain name corp.example.net", "!",
          "spanning-tree mode rapid-pvst", "spanning-tree extend system-id", "!",
          "username netops privilege 15 secret 9 $9$Ab1Cd2Ef3Gh4$Ij5Kl6Mn7Op8Qr9St0Uv1Wx2Yz3Ab4Cd5Ef6Gh7Ij8K", "!"]
    for vid, name in p["vlans"]:
        L += [f"vlan {vid}", f" name {name}", "!"]
    if p.get("lag"):
        L += [f"interface Port-channel{p['lag_id']}", f" description {p['lag_desc']}", " switchport trunk allowed vlan 99,100",
              " switchport mode trunk", "!"]
    L += ["interface GigabitEthernet0/0", " vrf forwarding Mgmt-vrf", " ip address 192.0.2.250 255.255.255.0", " negotiation auto", "!"]
    for port in p["ports"]:
        L += [f"interface {port['name']}"] + [f" {c}" for c in port["lines"]] + ["!"]
    L += ["interface Vlan1", " no ip address", " shutdown", "!"]
    for svi in p.get("svis", []):
        L += [f"interface Vlan{svi[0]}", f" description {svi[1]}", f" ip address {svi[2]} 255.255.255.0", " no shutdown", "!"]
    L += ["ip forward-protocol nd", "ip http server", "ip http secure-server", "ip route vrf Mgmt-vrf 0.0.0.0 0.0.0.0 192.0.2.254", "!",
          "ip access-list standard MGMT", " 10 permit 192.0.2.0 0.0.0.255", "!",
          "snmp-server community n0tPubl1c RO MGMT", "snmp-server location bldg 4 floor 2", "!"]
    if p.get("banner"):
        L += ["banner motd ^C", "*********************************************", "* Authorised access only. Disconnect now if *",
              "! you are not an authorised user.            *", "*********************************************", "^C", "!"]
    L += ["line con 0", " exec-timeout 15 0", " stopbits 1", "line vty 0 4", " access-class MGMT in vrf-also",
          " transport input ssh", "line vty 5 15", " transport input ssh", "!", "ntp server 192.0.2.123", "!", "end", ""]
    return "\n".join(L)

# ---------------------------------------------------------------- Arista EOS
def eos(p):
    L = ["! Command: show running-config", f"! device: {p['host']} ({p['model']}, EOS-{p['ver']})", "!",
         "! boot system flash:/EOS.swi", "!", "no aaa root", "!",
         "username admin privilege 15 role network-admin secret sha512 $6$Xy12Ab34Cd56Ef78$GhIjKlMnOpQrStUvWxYz0123456789abcdefABCDEF.",
         "!", "transceiver qsfp default-mode 4x10G", "!", "service routing protocols model multi-agent", "!",
         f"hostname {p['host']}", "ip name-server vrf MGMT 192.0.2.53", "!", "spanning-tree mode mstp", "!"]
    for vid, name in p["vlans"]:
        L += [f"vlan {vid}", f"   name {name}", "!"]
    L += ["vrf instance MGMT", "!"]
    if p.get("lag"):
        L += [f"interface Port-Channel{p['lag_id']}", f"   description {p['lag_desc']}", "   switchport trunk allowed vlan 99",
              "   switchport mode trunk", "!"]
    for port in p["ports"]:
        L += [f"interface {port['name']}"] + [f"   {c}" for c in port["lines"]] + ["!"]
    L += ["interface Management1", "   vrf MGMT", "   ip address 192.0.2.21/24", "!"]
    for svi in p.get("svis", []):
        L += [f"interface Vlan{svi[0]}", f"   description {svi[1]}", f"   ip address {svi[2]}/24", "!"]
    L += ["ip routing", "no ip routing vrf MGMT", "!", "ip route vrf MGMT 0.0.0.0/0 192.0.2.254", "!"]
    if p.get("banner"):
        L += ["banner login", "Authorised access only.", "! This device is monitored.", "EOF", "!"]
    L += ["management api http-commands", "   no shutdown", "   !", "   vrf MGMT", "      no shutdown", "!",
          "management ssh", "   idle-timeout 15", "!", "end", ""]
    return "\n".join(L)

# ---------------------------------------------------------------- NX-OS
def nxos(p):
    L = ["!Command: show running-config", f"!Running configuration last done at: {p['when']}", f"!Time: {p['when']}", "",
         f"version {p['ver']} Bios:version 05.45", f"hostname {p['host']}", "vdc " + p['host'] + " id 1",
         "  limit-resource vlan minimum 16 maximum 4094", "  limit-resource vrf minimum 2 maximum 4096", "",
         "feature interface-vlan", "feature lacp", "feature lldp", "",
         "username admin password 5 $5$JHGFDS$aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789abcdEF  role network-admin",
         "ip domain-lookup", "copp profile strict",
         "snmp-server user admin network-admin auth md5 0x0123456789abcdef0123456789abcdef priv 0x0123456789abcdef0123456789abcdef localizedkey", "",
         "vlan " + ",".join(["1"] + [str(v) for v, _ in p["vlans"]])]
    for vid, name in p["vlans"]:
        L += [f"vlan {vid}", f"  name {name}"]
    L += ["", "vrf context management", "  ip route 0.0.0.0/0 192.0.2.254", ""]
    if p.get("lag"):
        L += [f"interface port-channel{p['lag_id']}", f"  description {p['lag_desc']}", "  switchport", "  switchport mode trunk",
              "  switchport trunk allowed vlan 99", ""]
    for svi in p.get("svis", []):
        L += [f"interface Vlan{svi[0]}", "  no shutdown", f"  description {svi[1]}", f"  ip address {svi[2]}/24", ""]
    for port in p["ports"]:
        L += [f"interface {port['name']}"] + [f"  {c}" for c in port["lines"]] + [""]
    L += ["interface mgmt0", "  vrf member management", "  ip address 192.0.2.31/24", "line console", "  exec-timeout 15",
          "line vty", "  exec-timeout 15", "boot nxos bootflash:/nxos." + p['ver'] + ".bin", ""]
    return "\n".join(L)

# ---------------------------------------------------------------- Junos
def junos_brace(p):
    L = [f"## Last commit: {p['commit']} by netops", f"version {p['ver']};", "system {", f"    host-name {p['host']};",
         "    root-authentication {", '        encrypted-password "$6$rT5yU7iO$AsDfGhJkLqWeRtYuIoPzXcVbNm0123456789abcdefGHIJKLmnop"; ## SECRET-DATA',
         "    }", "    login {", "        user netops {", "            uid 2001;", "            class super-user;", "            authentication {",
         '                encrypted-password "$6$Lk9Jh8Gf$QwErTyUiOpAsDfGhJkLzXcVbNm9876543210zyxwvuTSRQPonm"; ## SECRET-DATA', "            }",
         "        }", "    }", "    services {", "        ssh {", "            root-login deny;", "        }", "        netconf {", "            ssh;",
         "        }", "    }", "    syslog {", "        host 192.0.2.200 {", "            any notice;", "        }", "    }", "}"]
    if p.get("lag"):
        L += ["chassis {", "    aggregated-devices {", "        ethernet {", "            device-count 2;", "        }", "    }", "}"]
    L += ["interfaces {"]
    for port in p["ports"]:
        L += [f"    {port['name']} {{"] + [f"        {c}" for c in port["brace"]] + ["    }"]
    if p.get("lag"):
        L += ["    ae0 {", f'        description "{p["lag_desc"]}";', "        aggregated-ether-options {", "            lacp {",
              "                active;", "            }", "        }", "        unit 0 {", "            family ethernet-switching {",
              "                interface-mode trunk;", "                vlan {", "                    members mgmt;", "                }",
              "            }", "        }", "    }"]
    L += ["    em0 {", "        unit 0 {", "            family inet {", "                address 192.0.2.41/24;", "            }", "        }", "    }"]
    if p.get("svis"):
        L += ["    irb {"]
        for svi in p["svis"]:
            L += [f"        unit {svi[0]} {{", f'            description "{svi[1]}";', "            family inet {",
                  f"                address {svi[2]}/24;", "            }", "        }"]
        L += ["    }"]
    L += ["}", "snmp {", '    location "rack B3";', "    community n0tPubl1c {", "        authorization read-only;", "    }", "}",
          "routing-options {", "    static {", "        route 0.0.0.0/0 next-hop 192.0.2.254;", "    }", "}",
          "protocols {", "    lldp {", "        interface all;", "    }", "    rstp;", "}", "vlans {"]
    for vid, name in p["vlans"]:
        L += [f"    {name} {{", f"        vlan-id {vid};"] + ([f"        l3-interface irb.{vid};"] if any(s[0] == vid for s in p.get("svis", [])) else []) + ["    }"]
    L += ["}", ""]
    return "\n".join(L)

def junos_set(p):
    """The same device as junos_brace, as `show configuration | display set` prints it (written out, not converted)."""
    h = p["host"]
    L = [f"set version {p['ver']}", f"set system host-name {h}",
         'set system root-authentication encrypted-password "$6$rT5yU7iO$AsDfGhJkLqWeRtYuIoPzXcVbNm0123456789abcdefGHIJKLmnop"',
         "set system login user netops uid 2001", "set system login user netops class super-user",
         'set system login user netops authentication encrypted-password "$6$Lk9Jh8Gf$QwErTyUiOpAsDfGhJkLzXcVbNm9876543210zyxwvuTSRQPonm"',
         "set system services ssh root-login deny", "set system services netconf ssh", "set system syslog host 192.0.2.200 any notice"]
    if p.get("lag"):
        L += ["set chassis aggregated-devices ethernet device-count 2"]
    for port in p["ports"]:
        L += [f"set interfaces {port['name']} {line}" for line in port["set"]]
    if p.get("lag"):
        L += [f'set interfaces ae0 description "{p["lag_desc"]}"', "set interfaces ae0 aggregated-ether-options lacp active",
              "set interfaces ae0 unit 0 family ethernet-switching interface-mode trunk",
              "set interfaces ae0 unit 0 family ethernet-switching vlan members mgmt"]
    L += ["set interfaces em0 unit 0 family inet address 192.0.2.41/24"]
    for svi in p.get("svis", []):
        L += [f'set interfaces irb unit {svi[0]} description "{svi[1]}"', f"set interfaces irb unit {svi[0]} family inet address {svi[2]}/24"]
    L += ['set snmp location "rack B3"', "set snmp community n0tPubl1c authorization read-only",
          "set routing-options static route 0.0.0.0/0 next-hop 192.0.2.254", "set protocols lldp interface all", "set protocols rstp"]
    for vid, name in p["vlans"]:
        L += [f"set vlans {name} vlan-id {vid}"] + ([f"set vlans {name} l3-interface irb.{vid}"] if any(s[0] == vid for s in p.get("svis", [])) else [])
    return f"## Last commit: {p['commit']} by netops\n" + "\n".join(L) + "\n"


# ports ---------------------------------------------------------------------------
PLATFORM = {"ios": ios, "eos": eos, "nxos": nxos}

TRUNK_FORMS = {  # how the existing trunk's allowed list is printed (what devices really print varies)
    "plain": ["switchport trunk allowed vlan 99,100"],
    "spaces": ["switchport trunk allowed vlan 99, 100"],
    "ranges": ["switchport trunk allowed vlan 1-3,5,99-101"],
    "continued": ["switchport trunk allowed vlan 2-9,11-19,21-29,99,200-299,301,303,305,307,309,311,313,315",
                  "switchport trunk allowed vlan add 317,319,321,400-499,3000-3100"],
    "none": ["switchport trunk allowed vlan none"],
    "except": ["switchport trunk allowed vlan except 1002-1005"],
    "all": ["switchport trunk allowed vlan all"],
    "nolist": [],
    "remove": ["switchport trunk allowed vlan remove 1,5-9", "switchport trunk allowed vlan add 7"],
    "addonly": ["switchport trunk allowed vlan 99", "switchport trunk allowed vlan add 100-110"],
}

def cisco_ports(platform, names, trunk_form, traps, routed, lag):
    """names: dict role -> interface name."""
    nx = platform == "nxos"
    sw = ["switchport"] if nx else []
    up = ["no shutdown"] if nx or "noshut" in traps else []
    ports = []
    a = names["access_a"]
    lines_a = [f"description desk {a}"] + sw + (["switchport mode access", "switchport access vlan 5"] if "oldvlan" in traps else []) \
        + (["spanning-tree portfast"] if platform == "ios" else ["spanning-tree port type edge"]) + up
    ports.append({"name": a, "lines": lines_a})
    b = names["access_b"]
    lines_b = sw + (["shutdown"] if "adminshut" in traps else up) + (["storm-control broadcast level 1.00"] if platform != "eos" else ["storm-control broadcast level 1"])
    if "descb" in traps:
        lines_b = [f"description printer room 2.{b[-1]}"] + lines_b
    ports.append({"name": b, "lines": lines_b})
    t = names["trunk"]
    if platform == "ios" and "encap" in traps:
        lines_t = [f"description uplink to {names['peer']}", "switchport trunk encapsulation dot1q", "switchport trunk native vlan 99"]
    else:
        lines_t = [f"description uplink to {names['peer']}"] + sw + ["switchport trunk native vlan 99"]
    lines_t += TRUNK_FORMS[trunk_form] + ["switchport mode trunk"] + up
    if nx:  # NX-OS prints mode before the list
        lines_t = [f"description uplink to {names['peer']}"] + sw + ["switchport mode trunk", "switchport trunk native vlan 99"] + TRUNK_FORMS[trunk_form] + up
    ports.append({"name": t, "lines": lines_t})
    if routed:
        r = names["routed"]
        mask = "203.0.113.1/30" if platform != "ios" else "203.0.113.1 255.255.255.252"
        lines_r = ["description wan to isp circuit 4471"] + (["no switchport"] if platform != "nxos" else []) + [f"ip address {mask}"] + (["no ip redirects"] if platform == "ios" else []) + up
        if platform == "nxos":
            lines_r = ["description wan to isp circuit 4471", "no switchport", "mtu 9216", f"ip address {mask}", "no shutdown"]
        ports.append({"name": r, "lines": lines_r})
    if lag:
        m = names["lag_member"]
        lines_m = ["description server bond member"] + sw + (["switchport trunk allowed vlan 99,100", "switchport mode trunk"] if platform != "nxos" else ["switchport mode trunk", "switchport trunk allowed vlan 99"]) + [f"channel-group {names['lag_id']} mode active"] + up
        ports.append({"name": m, "lines": lines_m})
    for spare in names.get("spare", []):
        ports.append({"name": spare, "lines": (sw + ["shutdown"]) if nx else ["shutdown"]})
    return ports

def junos_ports(names, trunk_form, traps, routed, lag):
    ports = []
    a = names["access_a"]
    member = "staff" if "oldvlan" in traps else "default"
    ports.append({"name": a, "brace": [f'description "desk {a}";', "unit 0 {", "    family ethernet-switching {",
                  "        interface-mode access;", "        vlan {", f"            members {member};",
                  "        }", "    }", "}"],
                  "set": [f'description "desk {a}"', "unit 0 family ethernet-switching interface-mode access",
                          f"unit 0 family ethernet-switching vlan members {member}"]})
    b = names["access_b"]
    ports.append({"name": b, "brace": (["disable;"] if "adminshut" in traps else []) + ["unit 0 {", "    family ethernet-switching;", "}"],
                  "set": (["disable"] if "adminshut" in traps else []) + ["unit 0 family ethernet-switching"]})
    t = names["trunk"]
    members = {"plain": "[ mgmt voice ]", "spaces": "[ mgmt voice ]", "ranges": "[ mgmt 301-303 ]", "continued": "[ mgmt voice 301-303 ]",
               "none": "mgmt", "except": "[ mgmt voice ]", "all": "all", "nolist": "mgmt", "remove": "[ voice mgmt ]", "addonly": "[ mgmt voice ]"}[trunk_form]
    listed = members.strip("[] ").split()
    ports.append({"name": t, "brace": [f'description "uplink to {names["peer"]}";', "native-vlan-id 99;", "unit 0 {", "    family ethernet-switching {",
                  "        interface-mode trunk;", "        vlan {", f"            members {members};", "        }", "    }", "}"],
                  "set": [f'description "uplink to {names["peer"]}"', "native-vlan-id 99", "unit 0 family ethernet-switching interface-mode trunk"]
                  + [f"unit 0 family ethernet-switching vlan members {m}" for m in listed]})
    if routed:
        ports.append({"name": names["routed"], "brace": ['description "wan to isp circuit 4471";', "mtu 9192;", "unit 0 {",
                      "    family inet {", "        address 203.0.113.1/30;", "    }", "}"],
                      "set": ['description "wan to isp circuit 4471"', "mtu 9192", "unit 0 family inet address 203.0.113.1/30"]})
    if lag:
        ports.append({"name": names["lag_member"], "brace": ['description "server bond member";', "ether-options {", "    802.3ad ae0;", "}"],
                      "set": ['description "server bond member"', "ether-options 802.3ad ae0"]})
    for spare in names.get("spare", []):
        ports.append({"name": spare, "brace": ["disable;", "unit 0 {", "    family ethernet-switching;", "}"],
                      "set": ["disable", "unit 0 family ethernet-switching"]})
    return ports

def names_for(platform, i):
    if platform == "ios":
        mod = 1 + i % 2
        def n(k: int) -> str:
            return f"GigabitEthernet{mod}/0/{k}"
        d = {"access_a": n(5 + i), "access_b": n(20 + i), "trunk": f"TenGigabitEthernet{mod}/1/{1 + i % 4}", "routed": n(47),
             "lag_member": n(45), "lag_id": 1 + i, "peer": f"dist{i}-1", "spare": [n(30 + i)]}
    elif platform == "eos":
        d = {"access_a": f"Ethernet{3 + i}", "access_b": f"Ethernet{14 + i}", "trunk": f"Ethernet{49 + i % 4}/1", "routed": "Ethernet48",
             "lag_member": "Ethernet47", "lag_id": 10 + i, "peer": f"spine{1 + i % 2}", "spare": [f"Ethernet{30 + i}"]}
    elif platform == "nxos":
        d = {"access_a": f"Ethernet1/{3 + i}", "access_b": f"Ethernet1/{14 + i}", "trunk": f"Ethernet1/{49 + i % 4}", "routed": "Ethernet1/48",
             "lag_member": "Ethernet1/47", "lag_id": 100 + i, "peer": f"core{1 + i % 2}", "spare": [f"Ethernet1/{30 + i}"]}
    else:
        d = {"access_a": f"ge-0/0/{3 + i}", "access_b": f"ge-0/0/{14 + i}", "trunk": f"xe-0/1/{i % 4}", "routed": "ge-0/0/47",
             "lag_member": "ge-0/0/45", "lag_id": 0, "peer": f"core{1 + i % 2}", "spare": [f"ge-0/0/{30 + i}"]}
    return d

VARIANTS = [  # (trunk form, traps, routed, lag, vlan conflict, banner)
    ("plain", {"noshut", "descb"}, False, False, False, True),
    ("spaces", {"noshut", "adminshut"}, True, False, False, False),
    ("ranges", {"oldvlan", "encap"}, False, True, False, True),
    ("continued", {"noshut", "descb", "encap"}, True, True, False, False),
    ("none", {"adminshut"}, False, False, False, True),
    ("except", {"noshut", "oldvlan"}, True, False, False, False),
    ("all", {"descb"}, False, True, True, True),
    ("nolist", {"noshut"}, True, True, False, False),
    ("remove", {"adminshut", "oldvlan"}, False, False, False, True),
    ("addonly", {"noshut", "descb", "encap"}, True, False, False, False),
]
MODELS = {"ios": ("C9300-48P", "17.9"), "eos": ("DCS-7050SX3-48YC8", "4.28.3M"), "nxos": ("N9K-C93180YC-FX", "9.3(8)"), "junos": ("EX4300-48T", "21.4R3.15")}

manifest = {}
OUT.mkdir(parents=True, exist_ok=True)
for platform in ("ios", "eos", "nxos", "junos"):
    (OUT / platform).mkdir(exist_ok=True)
    for i, (form, traps, routed, lag, conflict, banner) in enumerate(VARIANTS):
        names = names_for(platform, i)
        host = {"ios": "acc", "eos": "leaf", "nxos": "n9k", "junos": "ex"}[platform] + f"{i + 1:02d}"
        vlans = [(5, "printers"), (99, "mgmt"), (100, "voice")] + ([(10, "staff")] if conflict else [(10, "users")] if i % 2 else [])
        if platform == "junos":
            vlans = [(5, "printers"), (99, "mgmt"), (100, "voice"), (10, "staff") if "oldvlan" in traps else (1, "default"), (301, "v301"), (302, "v302"), (303, "v303")]
        svis = [(99, "management svi", f"198.51.100.{10 + i}")]
        p = {"host": host, "ver": MODELS[platform][1], "model": MODELS[platform][0], "when": f"09:{10 + i}:07 UTC Mon Nov 16 2026", "commit": f"2026-11-16 09:{10 + i}:07 UTC",
             "bytes": 4000 + 37 * i, "vlans": vlans, "svis": svis, "banner": banner, "lag": lag, "lag_id": names["lag_id"],
             "lag_desc": "server bond"}
        if platform == "junos":
            p["ports"] = junos_ports(names, form, traps, routed, lag)
            text = junos_brace(p) if i % 2 == 0 else junos_set(p)
        else:
            p["ports"] = cisco_ports(platform, names, form, traps, routed, lag)
            text = PLATFORM[platform](p)
        name = f"{host}-{form}"
        (OUT / platform / f"{name}.cfg").write_text(text)
        roles = {"access_a": names["access_a"], "access_b": names["access_b"], "trunk": names["trunk"]}
        if routed:
            roles["routed"] = names["routed"]
        if lag:
            roles["lag_member"] = names["lag_member"]
        manifest[f"{platform}/{name}.cfg"] = {
            "roles": roles, "traps": sorted(traps | {f"trunk-{form}"} | ({"routed-port"} if routed else set()) | ({"port-channel-member"} if lag else set())
                                                     | ({"vlan-name-conflict"} if (conflict if platform != "junos" else "oldvlan" in traps) else set()) | ({"banner"} if banner else set())
                                                     | ({"junos-brace"} if platform == "junos" and i % 2 == 0 else set()))}
(OUT.parent / "corpus.yaml").write_text(yaml.safe_dump(manifest, sort_keys=True, width=140))
