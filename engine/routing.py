"""Route summarisation: each device's static routes as the smallest equivalent table (ORTC).

ORTC (Draves, King, Venkatachary, Zill: "Constructing optimal IP routing tables", INFOCOM 1999)
works on a binary trie of prefixes: bottom-up, a node's candidate set is the intersection of its
children's sets when that is not empty, else their union; top-down, a node gets a route only when
the next-hop set it inherits is not in its candidate set. The result has the fewest routes giving
every address the same next-hop set as the input table under longest-prefix match.

Here the trie holds every VLAN subnet of the site (a Patricia trie: only branching nodes), so a
route lands on the smallest prefix that covers what it serves. Three kinds of leaves:

- a next-hop set (a non-empty tuple): the explicit table routes the subnet there;
- ``NO_ROUTE`` (the empty tuple): the explicit table has no route. No summary may cover it (that
  would forward what the explicit table does not), so a subtree holding one gets no route above it;
- ``DONT_CARE``: a subnet connected on the device itself (its own SVI), where the connected route
  wins over any static one; never given a route of its own.

Address space outside every VLAN subnet is "don't care" too: a summary may cover it, and the
caller says so (``covers_unused``). Each device's table is given as a default value plus
exceptions; subtrees without exceptions are uniform and cost nothing, so a leaf of a fabric whose
every remote subnet goes via the same spines is one route, computed in O(depth) time.
"""

from __future__ import annotations

from dataclasses import dataclass

Value = tuple[int, ...]  # link indices of the next hops, in order
NO_ROUTE: Value = ()
DONT_CARE = None


@dataclass(frozen=True)
class TrieNode:
    network: int  # the prefix as an integer
    prefixlen: int
    left: int  # child node indices, -1 for a leaf
    right: int
    leaf: int  # index of the subnet for a leaf, -1 for a branch
    addresses: int  # addresses of VLAN subnets under this node
    subnets: int  # VLAN subnets under this node

    @property
    def prefix(self) -> str:
        """``10.0.0.0/14``: what ``f"{IPv4Address(network)}/{prefixlen}"`` writes, without the object."""
        n = self.network
        return f"{n >> 24}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}/{self.prefixlen}"

    @property
    def covers_unused(self) -> bool:
        return (1 << (32 - self.prefixlen)) > self.addresses


class PrefixTrie:
    """A Patricia trie over non-overlapping IPv4 subnets (``(network, prefixlen)`` pairs)."""

    def __init__(self, subnets: list[tuple[int, int]]) -> None:
        self.subnets = subnets
        self.nodes: list[TrieNode] = []
        self.parent: list[int] = []
        self.leaf_node: list[int] = [0] * len(subnets)
        order = sorted(range(len(subnets)), key=lambda i: subnets[i])
        self.root = self._build(order, -1) if subnets else -1

    def _build(self, order: list[int], parent: int) -> int:
        if len(order) == 1:
            network, prefixlen = self.subnets[order[0]]
            index = self._add(TrieNode(network, prefixlen, -1, -1, order[0], 1 << (32 - prefixlen), 1), parent)
            self.leaf_node[order[0]] = index
            return index
        first, last = self.subnets[order[0]][0], self.subnets[order[-1]][0]
        prefixlen = 32 - (first ^ last).bit_length()  # the longest prefix both ends share
        network = first >> (32 - prefixlen) << (32 - prefixlen) if prefixlen else 0
        bit = 1 << (31 - prefixlen)
        split = next(i for i, s in enumerate(order) if self.subnets[s][0] & bit)
        index = self._add(TrieNode(network, prefixlen, -1, -1, -1, 0, 0), parent)
        left = self._build(order[:split], index)
        right = self._build(order[split:], index)
        below = self.nodes[left], self.nodes[right]
        self.nodes[index] = TrieNode(network, prefixlen, left, right, -1, below[0].addresses + below[1].addresses,
                                     below[0].subnets + below[1].subnets)
        return index

    def _add(self, node: TrieNode, parent: int) -> int:
        self.nodes.append(node)
        self.parent.append(parent)
        return len(self.nodes) - 1

    def summarise(self, default: Value, exceptions: dict[int, Value | None]) -> list[tuple[int, Value]]:
        """The smallest table (node index, next-hop value) equal to: every subnet ``default``,
        except the subnets in ``exceptions`` (subnet index -> value, or DONT_CARE)."""
        if self.root < 0:
            return []
        marked: set[int] = set()
        for subnet in exceptions:
            node = self.leaf_node[subnet]
            while node >= 0 and node not in marked:
                marked.add(node)
                node = self.parent[node]
        candidates: dict[int, frozenset[Value] | None] = {}  # None: anything (don't care)
        blocked: set[int] = set()  # subtrees holding a subnet with no route
        unions: set[int] = set()  # nodes whose children have no next-hop set in common
        self._candidates(self.root, default, exceptions, marked, candidates, blocked, unions)
        routes: list[tuple[int, Value]] = []
        self._assign(self.root, NO_ROUTE, default, marked, candidates, blocked | unions, routes)
        return routes

    def _candidates(self, root: int, default: Value, exceptions: dict[int, Value | None], marked: set[int],
                    candidates: dict[int, frozenset[Value] | None], blocked: set[int], unions: set[int]) -> None:
        order: list[int] = []
        stack = [root]
        while stack:  # pre-order over marked nodes, then handled in reverse (children first)
            index = stack.pop()
            order.append(index)
            node = self.nodes[index]
            stack += [child for child in (node.left, node.right) if child >= 0 and child in marked]
        uniform: frozenset[Value] | None = frozenset((default,))
        for index in reversed(order):
            node = self.nodes[index]
            if node.leaf >= 0:
                value = exceptions.get(node.leaf, default)
                if value == NO_ROUTE:
                    blocked.add(index)
                candidates[index] = None if value is DONT_CARE else frozenset((value,))
                continue
            sets = []
            for child in (node.left, node.right):
                if child in marked:
                    sets.append(candidates[child])
                    if child in blocked:
                        blocked.add(index)
                else:
                    sets.append(uniform)
                    if default == NO_ROUTE:
                        blocked.add(index)
            first, second = sets
            if first is None or second is None:
                candidates[index] = second if first is None else first
            elif first & second:
                candidates[index] = first & second
            else:
                # A route here would cost as much as one in each child (ORTC counts them equal when
                # the inherited set is in neither), so the children take them: a tighter table.
                candidates[index] = first | second
                unions.add(index)

    def _assign(self, root: int, inherited: Value, default: Value, marked: set[int],
                candidates: dict[int, frozenset[Value] | None], unrouted: set[int],
                routes: list[tuple[int, Value]]) -> None:
        stack = [(root, inherited)]
        while stack:
            index, inherited = stack.pop()
            node = self.nodes[index]
            if index not in marked:  # uniform: every subnet below is ``default``
                if default != NO_ROUTE and inherited != default:
                    routes.append((index, default))
                continue
            dont_care_child = node.leaf < 0 and any(
                child in marked and candidates[child] is None for child in (node.left, node.right))
            if index not in unrouted and not dont_care_child:  # beside a don't-care child, the other child
                choice = candidates[index]                    # takes the route: same table, tighter prefix
                if choice is not None and inherited not in choice:
                    inherited = min(choice)  # deterministic: the lowest link indices
                    routes.append((index, inherited))
            if node.leaf < 0:
                stack += [(node.right, inherited), (node.left, inherited)]
        routes.sort(key=lambda route: (self.nodes[route[0]].network, self.nodes[route[0]].prefixlen))

