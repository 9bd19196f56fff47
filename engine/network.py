"""The topology, and the equal-cost paths through it: one shortest-path DAG per destination.

Every question "which links start a shortest path from X to T" is answered from the DAG towards T,
computed once and shared by every source, VLAN carriage, route and guarantee. Parallel links of
equal cost are distinct equal-cost next hops.

Destinations with the same attachment (the same neighbours at the same link costs: the leaves of
a leaf-spine fabric) share one Dijkstra. Such twins never lie on a shortest path to one another
(going through a twin is strictly longer than going straight to the destination, which hangs off
the same neighbours), so the distances towards every member of the class are one computation,
and the DAG towards member T is the class DAG plus T's own links. On a fabric of N leaves this
makes path computation O(links) instead of O(N x links); on a topology without twins it is the
classic one Dijkstra per destination.
"""

from __future__ import annotations

import heapq
from collections import defaultdict, deque
from functools import cached_property
from typing import TYPE_CHECKING

from engine.errors import TopologyError
from engine.frozen import frozen
from engine.model import Link, Site

if TYPE_CHECKING:
    import networkx as nx

Attachment = tuple[tuple[str, int], ...]  # sorted (neighbour, cheapest link cost to it)


@frozen
class ClassDag:
    """The shortest-path DAG shared by every destination with one attachment.

    ``distance[d]``: cost from d to any member (members included, except towards themselves).
    ``shared[d]``: d's next hops that do not go straight to the destination, in topology order.
    """

    attachment: Attachment
    members: frozenset[str]
    distance: dict[str, int]
    shared: dict[str, tuple[Link, ...]]
    hanging: frozenset[str] = frozenset()  # trees off a member: their one way out is ``shared``, never "straight"

    def reach(self, sources: set[str], targets: set[str]) -> set[str]:
        """``sources`` that reach the class, and every device on a shortest path from them towards one of
        ``targets`` (members of the class). A path ends at its target: a member goes on only towards others."""
        seen = {source for source in sources if source in self.distance}
        queue = deque(seen)
        # A member stops the walk when it is the only target (or there are none): ``targets - {device}``
        # is empty. Decided without building that set per device (O(targets) each, O(n^2) in a fabric).
        alone = len(targets) <= 1
        while queue:
            device = queue.popleft()
            if device in self.members and alone and (not targets or device in targets):
                continue
            for link in self.shared[device]:
                neighbour = link.other(device).device
                if neighbour not in seen:
                    seen.add(neighbour)
                    queue.append(neighbour)
        return seen


class Network:
    """Devices and links as adjacency lists (parallel links kept), with per-destination DAGs."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.adjacency: dict[str, list[tuple[Link, str]]] = {name: [] for name in sorted(site.devices)}
        self.direct: dict[tuple[str, str], list[Link]] = defaultdict(list)  # (device, neighbour) -> links
        for link in site.links:
            a, b = link.a.device, link.b.device
            self.adjacency.setdefault(a, []).append((link, b))
            self.adjacency.setdefault(b, []).append((link, a))
            self.direct[(a, b)].append(link)
            self.direct[(b, a)].append(link)
        self._members: dict[Attachment, set[str]] = defaultdict(set)
        self._attachment: dict[str, Attachment] = {}
        self._seeds: dict[Attachment, tuple[tuple[str, int], ...]] = {}
        cheapest: dict[str, dict[str, int]] = {}
        for device, neighbours in self.adjacency.items():
            costs: dict[str, int] = {}
            for link, other in neighbours:
                known = costs.get(other)
                if known is None or link.cost < known:
                    costs[other] = link.cost
            cheapest[device] = costs
        core = self._core(cheapest)
        whole = len(core) == len(self.adjacency)  # no tree hangs off the topology: every neighbour is in the core
        for device in self.adjacency:
            attached = tuple(sorted(cheapest[device].items() if whole else
                                    ((n, c) for n, c in cheapest[device].items() if n in core)))
            if device in core and attached:
                key = attached
            else:  # a tree hanging off the core, or a core of one: a destination of its own
                key = (("", 0), (device, 0))
                attached = tuple(sorted(cheapest[device].items()))
            self._attachment[device] = key
            self._members[key].add(device)
            self._seeds[key] = attached
        self._dags: dict[Attachment, ClassDag] = {}
        self.dijkstra_runs = 0  # how many shortest-path computations this network made (tests read it)

    @staticmethod
    def _core(cheapest: dict[str, dict[str, int]]) -> set[str]:
        """The devices left once trees hanging off the topology are cut away (repeatedly, every device
        with at most one neighbour): a shortest path between two of them never enters such a tree."""
        degree = {device: len(neighbours) for device, neighbours in cheapest.items()}
        core = set(cheapest)
        queue = deque(device for device, count in degree.items() if count <= 1)
        while queue:
            device = queue.popleft()
            if device not in core:
                continue
            core.discard(device)
            for neighbour in cheapest[device]:
                if neighbour in core:
                    degree[neighbour] -= 1
                    if degree[neighbour] <= 1:
                        queue.append(neighbour)
        return core

    @cached_property
    def links_by_endpoint(self) -> dict[tuple[str, str], Link]:
        """(device, interface) -> the link there; made on first use (compiling never asks)."""
        return {(ep.device, ep.interface): link for link in self.site.links for ep in (link.a, link.b)}

    @cached_property
    def graph(self) -> nx.MultiGraph[str]:
        """The same topology as a networkx MultiGraph (for drawing and analysis; paths use the DAGs)."""
        import networkx as nx

        graph: nx.MultiGraph[str] = nx.MultiGraph()
        graph.add_nodes_from(sorted(self.site.devices))
        for link in self.site.links:
            graph.add_edge(link.a.device, link.b.device, key=link.index, link=link, cost=link.cost)
        return graph

    def attachment(self, device: str) -> Attachment:
        return self._attachment.get(device, ())

    def dag(self, target: str) -> ClassDag:
        """The DAG of ``target``'s attachment class, computed on first use."""
        key = self.attachment(target)
        dag = self._dags.get(key)
        if dag is None:
            dag = self._dags[key] = self._class_dag(key)
        return dag

    def _class_dag(self, key: Attachment) -> ClassDag:
        self.dijkstra_runs += 1
        members = frozenset(self._members[key])
        seeds = self._seeds[key]
        distance: dict[str, int] = {}
        heap = [(cost, neighbour) for neighbour, cost in seeds]
        heapq.heapify(heap)
        while heap:
            cost, device = heapq.heappop(heap)
            if device in distance:
                continue
            distance[device] = cost
            for link, other in self.adjacency[device]:
                if other not in distance and other not in members:
                    heapq.heappush(heap, (cost + link.cost, other))
        for member in members:  # a twin reaches the others through the shared neighbours
            costs = [cost + distance[n] for n, cost in seeds if n in distance]
            if costs:
                distance[member] = min(costs)
        # Trees hanging off a member reach every destination through it: their only way out.
        hanging: dict[str, tuple[Link, ...]] = {}
        stack = [member for member in members if member in distance]
        while stack:
            parent = stack.pop()
            for _, other in self.adjacency[parent]:
                if other in distance or other in members:
                    continue
                links = [ln for ln, there in self.adjacency[other] if there == parent]
                cost = min(ln.cost for ln in links)
                distance[other] = distance[parent] + cost
                hanging[other] = tuple(ln for ln in links if ln.cost == cost)
                stack.append(other)
        shared: dict[str, tuple[Link, ...]] = dict(hanging)
        for device, here in distance.items():
            if device in hanging:
                continue
            shared[device] = tuple(
                link for link, other in self.adjacency[device]
                if other not in members and other in distance and distance[other] + link.cost == here
            )
        return ClassDag(key, members, distance, shared, frozenset(hanging))

    def reaches(self, device: str, target: str) -> bool:
        return device == target or device in self.dag(target).distance

    def next_hops(self, device: str, target: str) -> list[Link]:
        """Links from ``device`` that start some shortest path to ``target``, in topology order."""
        if device == target:
            return []
        dag = self.dag(target)
        here = dag.distance.get(device)
        if here is None:
            return []
        straight = [] if device in dag.hanging else [
            link for link in self.direct.get((device, target), ()) if link.cost == here]
        if not straight:
            return list(dag.shared[device])
        return sorted((*dag.shared[device], *straight), key=lambda link: link.index)

    def path_links(self, source: str, target: str) -> list[tuple[str, Link]]:
        """Every (sending device, link) on every shortest path from ``source`` to ``target``.

        Raises TopologyError when there is no path.
        """
        if source == target:
            return []
        if not self.reaches(source, target):
            raise TopologyError(f"no path from {source} to {target} in the topology")
        seen: set[str] = {source}
        queue = deque([source])
        hops: list[tuple[str, Link]] = []
        while queue:
            device = queue.popleft()
            if device == target:
                continue
            for link in self.next_hops(device, target):
                hops.append((device, link))
                neighbour = link.other(device).device
                if neighbour not in seen:
                    seen.add(neighbour)
                    queue.append(neighbour)
        return sorted(hops, key=lambda hop: (hop[1].index, hop[0]))
