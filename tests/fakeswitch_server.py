"""An emulated Cisco IOS switch over real SSH, for the Netmiko driver tests (a fake: no IOS can run here).

    python tests/fakeswitch_server.py PORT HOST_KEY_FILE USER PASSWORD ENABLE_SECRET   (PORT 0: any free one)

Built on the fake-switches package (VLANs, access/trunk ports, SVIs, static routes; no QoS).
Two fixes over the package: IOS's ``end`` leaves configuration mode (Netmiko sends it), and the
SSH host key is the one given, so tests can check strict host-key verification. Listens on
127.0.0.1 only and prints "ready PORT" when it accepts connections on PORT.
"""

from __future__ import annotations

import sys
from typing import Any

from fake_switches.cisco.cisco_core import CiscoSwitchCore
from fake_switches.cisco.command_processor.config import ConfigCommandProcessor
from fake_switches.cisco.command_processor.config_interface import ConfigInterfaceCommandProcessor
from fake_switches.cisco.command_processor.config_vlan import ConfigVlanCommandProcessor
from fake_switches.cisco.command_processor.config_vrf import ConfigVRFCommandProcessor
from fake_switches.cisco.command_processor.enabled import EnabledCommandProcessor
from fake_switches.switch_configuration import Port, SwitchConfiguration
from fake_switches.transports import ssh_service
from twisted.conch.ssh.keys import Key
from twisted.internet import reactor


class ConfigWithEnd(ConfigCommandProcessor):  # type: ignore[misc]
    def do_end(self, *_: str) -> None:
        self.is_done = True


class Core(CiscoSwitchCore):  # type: ignore[misc]
    def new_command_processor(self) -> EnabledCommandProcessor:
        return EnabledCommandProcessor(config=ConfigWithEnd(
            config_vlan=ConfigVlanCommandProcessor(), config_vrf=ConfigVRFCommandProcessor(),
            config_interface=ConfigInterfaceCommandProcessor()))


def main() -> None:
    port, key_file, user, password, secret = sys.argv[1:6]
    private = Key.fromFile(key_file)
    ssh_service.getRSAKeys = lambda: (private.public().toString("openssh").decode(), private.toString("openssh").decode())
    conf = SwitchConfiguration("127.0.0.1", name="s1", privileged_passwords=[secret],
                               ports=[Port(f"GigabitEthernet1/0/{n}") for n in range(1, 13)], auto_enabled=False)
    service = ssh_service.SwitchSshService(ip="127.0.0.1", port=int(port), switch_core=Core(conf),
                                           users={user: password.encode()})
    listening = _Listening()
    service.hook_to_reactor(listening)
    print(f"ready {listening.port}", flush=True)
    reactor.run()


class _Listening:
    """The reactor as the package's service sees it, keeping the port it listens on (the kernel picks
    it for port 0, so no other process can take it between choosing and binding)."""

    port = 0

    def listenTCP(self, **arguments: Any) -> Any:  # noqa: N802 - Twisted's name
        listening = reactor.listenTCP(**arguments)
        self.port = int(listening.getHost().port)
        return listening


if __name__ == "__main__":
    main()
