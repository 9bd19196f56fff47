"""Linux devices over netlink (pyroute2 plus batched tc messages). The only place pyroute2 is imported."""

from drivers.linux.driver import LinuxDriver

__all__ = ["LinuxDriver"]
