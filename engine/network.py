"""The topology as a networkx graph, and the equal-cost paths through it.

Paths are computed once per destination (a Dijkstra from that device), then every question
"which links lie on some shortest path from X to that destination" is a walk of the resulting
shortest-path DAG. Parallel links of equal cost are distinct equal-cost paths.
"""

from __future__ import annotations

from collections import deque
from functools import lru_cache

import networkx as nx

from engine.errors import TopologyError
from engine.model import Link, Site


class Network:
    """Devices as nodes, links as edges (a MultiGraph: parallel links are kept)."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.graph: nx.MultiGraph[str] = nx.MultiGraph()
        self.graph.add_nodes_from(sorted(site.devices))
        for link in site.links:
            self.graph.add_edge(link.a.device, link.b.device, key=link.index, link=link, cost=link.cost)
        self.links_by_endpoint = {(ep.device, ep.interface): link for link in site.links for ep in (link.a, link.b)}
        self._distances = lru_cache(maxsize=None)(self._distances_uncached)

    def _distances_uncached(self, target: str) -> dict[str, int]:
        lengths = nx.single_source_dijkstra_path_length(self.graph, target, weight="cost")
        return {node: int(length) for node, length in lengths.items()}

    def next_hops(self, device: str, target: str) -> list[Link]:
        """Links from ``device`` that start some shortest path to ``target``, in topology order."""
        dist = self._distances(target)
        here = dist[device]
        hops = [
            data["link"]
            for _, neighbour, data in self.graph.edges(device, data=True)
            if neighbour in dist and dist[neighbour] + data["cost"] == here and neighbour != device
        ]
        return sorted(hops, key=lambda link: link.index)

    def path_links(self, source: str, target: str) -> list[tuple[str, Link]]:
        """Every (sending device, link) on every shortest path from ``source`` to ``target``.

        Raises TopologyError when there is no path.
        """
        dist = self._distances(target)
        if source not in dist:
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
