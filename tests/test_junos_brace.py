"""Junos running configs in brace form are read as the set lines `display set` would print."""

from __future__ import annotations

import pytest

from engine import cliconfig, junos
from engine.render import platform_spec

JUNOS = platform_spec("junos").syntax
assert JUNOS is not None

BRACE = """\
## Last commit: 2026-11-17 10:02:11 UTC by netops
version 21.4R3.15;
system {
    host-name ex1;
    login {
        user netops {
            uid 2001;
            class super-user;
            authentication {
                encrypted-password "$6$Qx$abc"; ## SECRET-DATA
            }
        }
    }
}
interfaces {
    /* uplink to the core */
    ge-0/0/0 {
        description "to core1 ge-0/0/1";
        unit 0 {
            family ethernet-switching {
                interface-mode trunk;
                vlan {
                    members [ users mgmt ];
                }
            }
        }
    }
    inactive: ge-0/0/5 {
        disable;
    }
    ge-0/0/6 {
        unit 0 {
            family ethernet-switching;
        }
    }
}
"""

SET = """\
set version 21.4R3.15
set system host-name ex1
set system login user netops uid 2001
set system login user netops class super-user
set system login user netops authentication encrypted-password "$6$Qx$abc"
set interfaces ge-0/0/0 description "to core1 ge-0/0/1"
set interfaces ge-0/0/0 unit 0 family ethernet-switching interface-mode trunk
set interfaces ge-0/0/0 unit 0 family ethernet-switching vlan members users
set interfaces ge-0/0/0 unit 0 family ethernet-switching vlan members mgmt
set interfaces ge-0/0/5 disable
deactivate interfaces ge-0/0/5
set interfaces ge-0/0/6 unit 0 family ethernet-switching
"""


def test_brace_form_becomes_display_set() -> None:
    assert junos.is_brace_form(BRACE) and not junos.is_brace_form(SET)
    assert junos.to_set(BRACE) == SET


def test_the_engine_reads_both_forms_alike() -> None:
    def lines(text: str) -> list[list[str]]:
        return [n.lines(0, "set", trivia=False) for n in cliconfig.parse(text, JUNOS) if n.text]

    assert lines(BRACE) == lines(SET)
    assert any("vlan members mgmt" in line for group in lines(BRACE) for line in group)


@pytest.mark.parametrize(("text", "message"), [
    ("interfaces {\n    ge-0/0/1 {\n        disable;\n", "a '}' is missing"),
    ("interfaces {\n    ge-0/0/1 {\n        description x\n    }\n}\n", "has no ';'"),
    ("interfaces {\n    }\n}\n", "closes nothing"),
])
def test_a_broken_brace_config_is_an_error_naming_the_line(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        junos.to_set(text)


def test_a_config_in_neither_form_is_never_silently_ignored() -> None:
    with pytest.raises(ValueError, match="line 2: 'hostname ex1' is neither a set line nor a comment"):
        cliconfig.parse("set system host-name ex1\nhostname ex1\n", JUNOS)


PROTECTED_BRACE = """\
protect: system {
    host-name ex9;
    name-server {
        192.0.2.53;
    }
}
interfaces {
    protect: ge-0/0/7 {
        description "core link, hands off";
        unit 0 {
            family inet {
                address 203.0.113.9/31;
            }
        }
    }
    ge-0/0/8 {
        protect: description "printer";
        unit 0 {
            family ethernet-switching {
                protect: vlan {
                    members [ printers mgmt ];
                }
            }
        }
    }
}
"""

# Written by hand, in the order `display set` prints a statement and then what marks it.
PROTECTED_SET = """\
set system host-name ex9
set system name-server 192.0.2.53
protect system
set interfaces ge-0/0/7 description "core link, hands off"
set interfaces ge-0/0/7 unit 0 family inet address 203.0.113.9/31
protect interfaces ge-0/0/7
set interfaces ge-0/0/8 description "printer"
protect interfaces ge-0/0/8 description
set interfaces ge-0/0/8 unit 0 family ethernet-switching vlan members printers
set interfaces ge-0/0/8 unit 0 family ethernet-switching vlan members mgmt
protect interfaces ge-0/0/8 unit 0 family ethernet-switching vlan
"""


def test_protect_is_kept_by_the_conversion_and_found_in_both_forms() -> None:
    assert junos.to_set(PROTECTED_BRACE) == PROTECTED_SET
    hierarchies = [("system",), ("interfaces", "ge-0/0/7"), ("interfaces", "ge-0/0/8", "description"),
                   ("interfaces", "ge-0/0/8", "unit", "0", "family", "ethernet-switching", "vlan")]
    assert [path for _, path in junos.protected_paths(PROTECTED_BRACE)] == hierarchies
    assert [line for line, _ in junos.protected_paths(PROTECTED_BRACE)] == [1, 8, 17, 20]  # where each protect: is
    assert [path for _, path in junos.protected_paths(PROTECTED_SET)] == hierarchies
    assert [line for line, _ in junos.protected_paths(PROTECTED_SET)] == [3, 6, 8, 11]
    # The engine's round trip keeps the protect lines (they are no configuration statements to diff).
    assert cliconfig.render(cliconfig.parse(PROTECTED_SET, JUNOS), JUNOS) == PROTECTED_SET


def test_commands_inside_or_above_a_protected_hierarchy_are_found() -> None:
    commands = ["set interfaces ge-0/0/7 unit 0 family ethernet-switching interface-mode access",  # inside
                "delete interfaces ge-0/0/8",                                                     # above: holds it
                "set interfaces ge-0/0/8 unit 0 family ethernet-switching vlan members users",    # inside the vlan
                "set interfaces ge-0/0/8 unit 0 family ethernet-switching interface-mode access",  # beside: allowed
                "set interfaces ge-0/0/9 description x",
                "set system syslog host 192.0.2.1 any any"]                                       # inside system
    found = {path: touching for _, path, touching in junos.protected_changes(PROTECTED_SET, commands)}
    assert found == {
        "system": ["set system syslog host 192.0.2.1 any any"],
        "interfaces ge-0/0/7": [commands[0]],
        "interfaces ge-0/0/8 description": ["delete interfaces ge-0/0/8"],
        "interfaces ge-0/0/8 unit 0 family ethernet-switching vlan": ["delete interfaces ge-0/0/8", commands[2]],
    }


GROUPS = """\
set version 21.4R3.15
set groups ACCESS interfaces "<ge-0/0/[0-9]*>" mtu 9216
set groups ACCESS interfaces "<ge-0/0/[0-9]*>" unit 0 family ethernet-switching interface-mode access
set groups ACCESS interfaces ge-0/0/9 description "from the group"
set groups ACCESS interfaces "<ge-*>" description "any ge port"
set groups WAN interfaces <*> mtu 1500
set groups WAN interfaces <*> unit 0 family inet address 203.0.113.9/31
set groups SECOND interfaces <*> mtu 4000
set groups SECOND interfaces <*> unit 0 family inet address 203.0.113.11/31
set apply-groups ACCESS
set interfaces ge-0/0/3 description "desk"
set interfaces ge-0/0/3 unit 0 family ethernet-switching vlan members default
set interfaces ge-0/0/4 mtu 1514
set interfaces ge-0/0/4 unit 0 family ethernet-switching interface-mode trunk
set interfaces ge-0/0/5 apply-groups-except ACCESS
set interfaces ge-0/0/5 unit 0 family ethernet-switching
set interfaces ge-0/0/47 apply-groups WAN
set interfaces ge-0/0/47 apply-groups SECOND
set interfaces xe-0/1/0 unit 0 family ethernet-switching interface-mode trunk
"""


def test_what_a_configuration_inherits_from_its_groups() -> None:
    found = {line: group for line, group, _ in junos.inherited(GROUPS)}
    # Worked out by hand from the Junos rules (local values win; the group applied deeper, then the one
    # listed first; a literal name before a wildcard; wildcards match existing names only; sets merge).
    assert found == {
        "set interfaces ge-0/0/47 mtu 1500": "WAN",                                  # WAN listed before SECOND
        "set interfaces ge-0/0/47 unit 0 family inet address 203.0.113.9/31": "WAN",
        "set interfaces ge-0/0/47 unit 0 family inet address 203.0.113.11/31": "SECOND",  # addresses add up
        "set interfaces ge-0/0/47 description \"any ge port\"": "ACCESS",
        "set interfaces ge-0/0/47 unit 0 family ethernet-switching interface-mode access": "ACCESS",
        "set interfaces ge-0/0/9 description \"from the group\"": "ACCESS",          # literal: creates the port
        "set interfaces ge-0/0/9 mtu 9216": "ACCESS",
        "set interfaces ge-0/0/9 unit 0 family ethernet-switching interface-mode access": "ACCESS",
        "set interfaces ge-0/0/3 mtu 9216": "ACCESS",                                # its own description wins
        "set interfaces ge-0/0/3 unit 0 family ethernet-switching interface-mode access": "ACCESS",
        # ge-0/0/4: its own mtu and mode win; ge-0/0/5 excludes ACCESS; xe-0/1/0 matches no pattern
        "set interfaces ge-0/0/4 description \"any ge port\"": "ACCESS",
    }
    statements = {line: statement for line, _, statement in junos.inherited(GROUPS)}
    assert statements["set interfaces ge-0/0/3 mtu 9216"] == 'set groups ACCESS interfaces "<ge-0/0/[0-9]*>" mtu 9216'
    assert junos.inherited(GROUPS.replace("set apply-groups ACCESS\n", "").replace(" apply-groups ", " x-")) == []


def test_each_set_line_knows_the_brace_line_it_comes_from() -> None:
    numbers = junos.line_numbers(BRACE)
    assert numbers["set system host-name ex1"] == 4
    assert numbers["set interfaces ge-0/0/0 unit 0 family ethernet-switching vlan members mgmt"] == 23  # a member of [ a b ]
    assert numbers["set interfaces ge-0/0/6 unit 0 family ethernet-switching"] == 33  # a stanza written as a leaf


def test_groups_applied_as_typed_with_a_list_and_at_unit_level() -> None:
    text = ("set groups ISIS interfaces <*> unit <*> family iso\nset groups MTU interfaces <*> mtu 9192\n"
            "set apply-groups [ MTU ISIS ]\nset interfaces ae0 unit 0 family inet address 10.0.0.1/31\n"
            "set interfaces ae0 unit 10 vlan-id 10\n")
    assert sorted(line for line, _, _ in junos.inherited(text)) == [
        "set interfaces ae0 mtu 9192", "set interfaces ae0 unit 0 family iso", "set interfaces ae0 unit 10 family iso"]


def test_load_tags_hashes_inside_words_and_quoted_braces() -> None:
    """``replace:`` (a tag of ``load replace`` files) is no statement; ``#`` starts a comment only where a
    word starts (``host-name sw#1`` is a name); braces and semicolons in quotes are text."""
    text = ('replace: system {\n    host-name sw#1; # the stack\n    location "riser {B}; rack 2";\n}\n'
            "interfaces {\n    replace: ge-0/0/1 {\n        description x;\n    }\n}\n")
    assert junos.to_set(text) == ('set system host-name sw#1\nset system location "riser {B}; rack 2"\n'
                                  "set interfaces ge-0/0/1 description x\n")
    with pytest.raises(ValueError, match=r"line 1: 'delete:' is a load-file instruction"):
        junos.to_set("delete: system {\n    ntp;\n}\n")


def test_interface_range_members_inherit_its_statements() -> None:
    """Each member of an ``interface-range`` (``member``, ``*`` and ``[a-b]`` patterns, ``member-range``
    across a PIC) runs the range's statements as its own, under its own local ones."""
    text = ("set interfaces interface-range R member-range ge-0/0/46 to ge-0/1/1\n"
            'set interfaces interface-range R member "xe-0/2/[0-1]"\n'
            'set interfaces interface-range R description "from R"\n'
            "set interfaces interface-range R unit 0 family ethernet-switching vlan members printers\n"
            "set interfaces ge-0/1/0 description mine\n")
    found = {line: (group, statement) for line, group, statement in junos.inherited(text)}
    ports = sorted({line.split()[2] for line in found})
    assert ports == ["ge-0/0/46", "ge-0/0/47", "ge-0/1/0", "ge-0/1/1", "xe-0/2/0", "xe-0/2/1"]
    assert 'set interfaces ge-0/1/0 description "from R"' not in found  # its own description wins
    assert found["set interfaces xe-0/2/1 unit 0 family ethernet-switching vlan members printers"] == (
        "interface-range R", "set interfaces interface-range R unit 0 family ethernet-switching vlan members printers")
