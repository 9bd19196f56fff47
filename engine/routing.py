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

from bisect import bisect_left

from engine.frozen import frozen

Value = tuple[int, ...]  # link indices of the next hops, in order
NO_ROUTE: Value = ()
DONT_CARE = None


@frozen
class TrieNode:
    """A node of the ``PrefixTrie``: a prefix with its children's indices, or a leaf holding one VLAN subnet."""

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


_PENDING = TrieNode(0, 0, -1, -1, -1, 0, 0)  # a branch's place in ``PrefixTrie.nodes`` until its children are built


class PrefixTrie:
    """A Patricia trie over non-overlapping IPv4 subnets (``(network, prefixlen)`` pairs).

    Nodes are numbered in pre-order (a parent before its children, a left, lower-addressed, subtree
    before the right one): walking them in reverse meets children before parents, and routes found
    in pre-order are already in address order. The hot loops read the parallel lists ``left``,
    ``right`` and ``leaf`` rather than the TrieNode objects."""

    def __init__(self, subnets: list[tuple[int, int]]) -> None:
        self.subnets = subnets
        self.nodes: list[TrieNode] = []
        self.parent: list[int] = []
        self.leaf_node: list[int] = [0] * len(subnets)
        self._order = sorted(range(len(subnets)), key=lambda i: subnets[i])
        self._networks = [subnets[i][0] for i in self._order]  # ascending: the subnets do not overlap
        self.root = self._build(0, len(subnets), -1) if subnets else -1
        self.left = [node.left for node in self.nodes]
        self.right = [node.right for node in self.nodes]
        self.leaf = [node.leaf for node in self.nodes]
        self.subnet_counts = [node.subnets for node in self.nodes]
        self._prefixes: list[str | None] = [None] * len(self.nodes)

    def prefix(self, index: int) -> str:
        """Node ``index``'s prefix as text, written once however many devices route it."""
        text = self._prefixes[index]
        if text is None:
            text = self._prefixes[index] = self.nodes[index].prefix
        return text

    def _build(self, start: int, end: int, parent: int) -> int:
        """The node of the subnets ``_order[start:end]`` (and its subtree), numbered after ``parent``."""
        if end - start == 1:
            subnet = self._order[start]
            network, prefixlen = self.subnets[subnet]
            index = self._add(TrieNode(network, prefixlen, -1, -1, subnet, 1 << (32 - prefixlen), 1), parent)
            self.leaf_node[subnet] = index
            return index
        networks = self._networks
        first, last = networks[start], networks[end - 1]
        prefixlen = 32 - (first ^ last).bit_length()  # the longest prefix both ends share
        network = first >> (32 - prefixlen) << (32 - prefixlen) if prefixlen else 0
        # All of them share that prefix, so the ones with the next bit set (the right child's) are the
        # networks from ``network`` with that bit on: a suffix of the ascending list.
        split = bisect_left(networks, network | 1 << (31 - prefixlen), start, end)
        index = self._add(_PENDING, parent)  # numbered before its children; made once they are
        left = self._build(start, split, index)
        right = self._build(split, end, index)
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
        except the subnets in ``exceptions`` (subnet index -> value, or DONT_CARE); in address order."""
        if self.root < 0:
            return []
        if default != NO_ROUTE and all(value is DONT_CARE for value in exceptions.values()):
            return self._around_dont_care(default, exceptions)
        return self.ortc(default, exceptions)

    def ortc(self, default: Value, exceptions: dict[int, Value | None]) -> list[tuple[int, Value]]:
        """``summarise`` by the general two passes, whatever the exceptions (what the fast paths must equal)."""
        if self.root < 0:
            return []
        parent, leaf_node = self.parent, self.leaf_node
        marked: set[int] = set()  # the exceptions' leaves and their ancestors; other subtrees are uniform
        for subnet in exceptions:
            node = leaf_node[subnet]
            while node >= 0 and node not in marked:
                marked.add(node)
                node = parent[node]
        candidates = self._candidates(default, exceptions, marked)
        return self._assign(default, marked, candidates)

    def _around_dont_care(self, default: Value, exceptions: dict[int, Value | None]) -> list[tuple[int, Value]]:
        """``summarise`` when every exception is don't care (a gateway's own subnets) and ``default`` is
        routed: each node's candidate set is {default}, or anything when every subnet below is don't
        care, so the table is ``default`` on the highest nodes that neither are all don't care nor have a
        child that is. The same routes as the general walk (tests/test_routing_scale.py compares them)
        in one pass over the exceptions' ancestors."""
        parent, leaf_node, subnets = self.parent, self.leaf_node, self.subnet_counts
        below: dict[int, int] = {}  # node -> don't-care subnets under it
        for subnet in exceptions:
            node = leaf_node[subnet]
            while node >= 0:
                below[node] = below.get(node, 0) + 1
                node = parent[node]
        left, right = self.left, self.right
        routes: list[tuple[int, Value]] = []
        stack = [self.root]
        while stack:  # pre-order: routes come out in address order
            index = stack.pop()
            count = below.get(index, 0)
            if not count:
                routes.append((index, default))
            elif count < subnets[index]:
                first, second = left[index], right[index]
                if below.get(first, 0) == subnets[first] or below.get(second, 0) == subnets[second]:
                    stack.append(second)  # beside a don't-care child the other child takes the route
                    stack.append(first)
                else:
                    routes.append((index, default))
        return routes

    def _candidates(self, default: Value, exceptions: dict[int, Value | None],
                    marked: set[int]) -> dict[int, tuple[frozenset[Value] | None, int]]:
        """Bottom-up over the marked nodes: node -> (candidate set or None for anything, what stops a
        route there: 0 nothing, BLOCKED a subnet below with no route, UNION children with no set in common)."""
        left, right, leaf = self.left, self.right, self.leaf
        uniform: frozenset[Value] | None = frozenset((default,))
        uniform_state = BLOCKED if default == NO_ROUTE else 0
        found: dict[int, tuple[frozenset[Value] | None, int]] = {}
        for index in sorted(marked, reverse=True):  # pre-order numbers: children before parents
            subnet = leaf[index]
            if subnet >= 0:
                value = exceptions[subnet]  # a marked leaf is an exception's
                if value is DONT_CARE:
                    found[index] = (None, 0)
                else:
                    found[index] = (frozenset((value,)), BLOCKED if value == NO_ROUTE else 0)
                continue
            child = left[index]
            first, state = found[child] if child in marked else (uniform, uniform_state)
            child = right[index]
            second, other = found[child] if child in marked else (uniform, uniform_state)
            state = (state | other) & BLOCKED
            if first is None or second is None:
                found[index] = (second if first is None else first, state)
            else:
                common = first & second
                if common:
                    found[index] = (common, state)
                else:
                    # A route here would cost as much as one in each child (ORTC counts them equal when
                    # the inherited set is in neither), so the children take them: a tighter table.
                    found[index] = (first | second, state | UNION)
        return found

    def _assign(self, default: Value, marked: set[int],
                candidates: dict[int, tuple[frozenset[Value] | None, int]]) -> list[tuple[int, Value]]:
        """Top-down: a node gets a route when the next-hop set it inherits is not in its candidate set."""
        left, right, leaf = self.left, self.right, self.leaf
        routed_default = default != NO_ROUTE
        routes: list[tuple[int, Value]] = []
        stack = [(self.root, NO_ROUTE)]
        while stack:  # pre-order: routes come out in address order
            index, inherited = stack.pop()
            if index not in marked:  # uniform: every subnet below is ``default``
                if routed_default and inherited != default:
                    routes.append((index, default))
                continue
            choice, state = candidates[index]
            if leaf[index] >= 0:
                if choice is not None and not state and inherited not in choice:
                    routes.append((index, min(choice)))
                continue
            first, second = left[index], right[index]
            # Beside a don't-care child the other child takes the route: same table, tighter prefix.
            dont_care_child = (first in marked and candidates[first][0] is None) or \
                (second in marked and candidates[second][0] is None)
            if not state and not dont_care_child and choice is not None and inherited not in choice:
                inherited = min(choice)  # deterministic: the lowest link indices
                routes.append((index, inherited))
            stack.append((second, inherited))
            stack.append((first, inherited))
        return routes


BLOCKED = 1  # a subtree holding a subnet with no route: no summary may cover it
UNION = 2  # a node whose children have no next-hop set in common: they take the routes
