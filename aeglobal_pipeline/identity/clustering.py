"""Records → clusters: connected components over accepted edges, under constraints.

- A steward must-link is never split: its records are fused before anything else.
- A steward cannot-link is never undone: no edge may join the two sides.
- No cluster grows beyond `max_cluster_size` through model edges.
- Deterministic links (converted lead, connector, written id) yield only to cannot-links.
- No cluster holds two records that contradict each other on a strong identifier (birthdates
  more than a year apart and neither one typo nor a day/month swap apart, different
  generational suffixes), even when each joins through a third record: such a pair acts as a
  cannot-link. (Two mobiles are no contradiction: one person often has a work and a private
  one, and numbers change.)

Algorithm: constrained Kruskal. Edges are added strongest first (deterministic links rank above
every model edge, model edges by match weight), skipping any edge whose union would put a
cannot-link pair together or exceed the size cap. For a component without a violated constraint
the result is exactly its connected component; where a constraint bites, the edges left out are
the weakest ones that separate the two sides. Union-find in Python over edge lists: the edge list
is near-linear in the records (blocking), so this runs at a million records.

Kruskal never looks across a connected component of the edge graph (edges plus must-links), so
clustering one component alone gives exactly what clustering everything gives for it. The result
names each record's component (clusters joined by the edges cut) and counts edges per component,
which lets an incremental run re-cluster only the components a change touched (`map_scope`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

# Deterministic links outrank any model edge (match weights are far below this).
DETERMINISTIC_WEIGHT = 1.0e6


@dataclass
class ComponentStats:
    """One connected component of the edge graph with more than one record."""

    records: int = 0
    edges_used: int = 0
    edges_cut_cannot_link: int = 0
    edges_cut_size: int = 0


@dataclass
class ClusteringResult:
    cluster_of: dict[str, str]  # record key → cluster key (smallest record key in the cluster)
    edges_used: int
    edges_cut_cannot_link: int
    edges_cut_size: int
    sizes: dict[str, int] = field(default_factory=dict)
    # record key → component key (smallest record key in it), for records not alone in theirs
    component_of: dict[str, str] = field(default_factory=dict)
    components: dict[str, ComponentStats] = field(default_factory=dict)


# A record's strong identifiers: (birthdate as ISO text, generational suffix).
Identifiers = tuple[str | None, str | None]


def _one_edit(a: str, b: str) -> bool:
    """One character different or two neighbours swapped (the date comparison's typo level)."""
    if len(a) != len(b):
        return False
    diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    return len(diffs) == 1 or (len(diffs) == 2 and diffs[1] == diffs[0] + 1
                                and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]])


def _birthdates_contradict(a: str, b: str) -> bool:
    """Further apart than the date comparison's typo level: one typo or transposition in the
    digits as keyed (YYYYMMDD), or day and month swapped, is the same birthdate mistyped."""
    if a == b or _one_edit(a.replace("-", ""), b.replace("-", "")):
        return False
    if a[:4] == b[:4] and a[5:7] == b[8:10] and a[8:10] == b[5:7]:
        return False
    try:
        return abs(int(a[:4]) * 372 + int(a[5:7]) * 31 + int(a[8:10])
                   - int(b[:4]) * 372 - int(b[5:7]) * 31 - int(b[8:10])) > 372
    except ValueError:
        return True


# Per cluster: the distinct values of each identifier in it (tuples: small, and cheap to hold
# for the hundreds of thousands of records that have a birthdate).
Held = tuple[tuple[str, ...], tuple[str, ...]]


def contradict(left: Held, right: Held) -> bool:
    """Do two clusters' identifiers contradict each other?"""
    born_l, born_r = left[0], right[0]
    if born_l and born_r and any(_birthdates_contradict(a, b) for a in born_l for b in born_r):
        return True
    return bool(left[1] and right[1] and set(left[1]).isdisjoint(right[1]))


def _merged(left: Held, right: Held) -> Held:
    return tuple(  # type: ignore[return-value]
        mine if not theirs or mine == theirs else tuple(sorted(set(mine) | set(theirs))) if mine else theirs
        for mine, theirs in zip(left, right, strict=True)
    )


class _UnionFind:
    def __init__(self, keys: Iterable[str]) -> None:
        self.parent = {k: k for k in keys}
        self.size = dict.fromkeys(self.parent, 1)
        self.edges: dict[str, int] = {}  # root → model/deterministic edges that built it
        self.forbidden: dict[str, set[str]] = {}  # root → records it must never join
        self.identifiers: dict[str, Held] = {}  # root → strong identifiers in it

    def find(self, x: str) -> str:
        parent = self.parent
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    def conflicts(self, ra: str, rb: str) -> bool:
        small, other = (
            (ra, rb) if len(self.forbidden.get(ra, ())) <= len(self.forbidden.get(rb, ())) else (rb, ra)
        )
        return any(self.find(x) == other for x in self.forbidden.get(small, ()))

    def union(self, ra: str, rb: str) -> str:
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]
        if rb in self.edges:
            self.edges[ra] = self.edges.get(ra, 0) + self.edges.pop(rb)
        if rb in self.forbidden:
            self.forbidden.setdefault(ra, set()).update(self.forbidden.pop(rb))
        if rb in self.identifiers:
            theirs = self.identifiers.pop(rb)
            mine = self.identifiers.get(ra)
            self.identifiers[ra] = _merged(mine, theirs) if mine else theirs
        return ra


def cluster_records(
    records: Iterable[str],
    edges: Iterable[tuple[str, str, float]],
    *,
    must_links: Iterable[tuple[str, str]] = (),
    cannot_links: Iterable[tuple[str, str]] = (),
    max_cluster_size: int = 50,
    identifiers: dict[str, Identifiers] | None = None,
    kept_apart: Iterable[tuple[str, str]] = (),
) -> ClusteringResult:
    """Cluster `records` given weighted `edges` (a, b, weight); see module docstring.

    `identifiers`: record → strong identifiers, for the records that have any. `kept_apart`:
    pairs the matching rules keep apart across chains; like cannot-links, except that a steward's
    must-link joining them wins.

    Edges naming unknown records are ignored. Raises ValueError when a cannot-link joins
    records that must-links fuse (decisions.py rejects that earlier with the file entry).
    """
    uf = _UnionFind(records)
    known = uf.parent
    _constrain(uf, must_links, cannot_links, kept_apart, identifiers or {})

    # Strongest first; ties broken by keys so every run orders edges the same way.
    ordered = sorted(
        ((w, a, b) for a, b, w in edges if a in known and b in known and a != b),
        key=lambda e: (-e[0], e[1], e[2]),
    )
    used = 0
    cut: list[tuple[str, str, bool]] = []  # (a, b, for a cannot-link) of every edge left out
    for weight, a, b in ordered:
        ra, rb = uf.find(a), uf.find(b)
        if ra == rb:
            continue
        if uf.forbidden and uf.conflicts(ra, rb):
            cut.append((a, b, True))
            continue
        if ra in uf.identifiers and rb in uf.identifiers and contradict(
                uf.identifiers[ra], uf.identifiers[rb]):
            cut.append((a, b, True))  # counted with the cannot-link cuts
            continue
        # The cap applies to model edges; a deterministic link is never cut for size.
        if weight < DETERMINISTIC_WEIGHT and uf.size[ra] + uf.size[rb] > max_cluster_size:
            cut.append((a, b, False))
            continue
        root = uf.union(ra, rb)
        uf.edges[root] = uf.edges.get(root, 0) + 1
        used += 1

    smallest: dict[str, str] = {}
    for key in known:
        root = uf.find(key)
        if root not in smallest or key < smallest[root]:
            smallest[root] = key
    cluster_of = {key: smallest[uf.find(key)] for key in known}
    sizes: dict[str, int] = {}
    for cluster in cluster_of.values():
        sizes[cluster] = sizes.get(cluster, 0) + 1
    cut_cannot = sum(1 for _, _, cannot in cut if cannot)
    result = ClusteringResult(cluster_of, used, cut_cannot, len(cut) - cut_cannot, sizes)
    _components(result, uf, smallest, cut)
    return result


def _constrain(uf: _UnionFind, must_links: Iterable[tuple[str, str]],
               cannot_links: Iterable[tuple[str, str]], kept_apart: Iterable[tuple[str, str]],
               identifiers: dict[str, Identifiers]) -> None:
    """Fuse the must-links, then record what each part may never join."""
    known = uf.parent
    for a, b in must_links:
        if a in known and b in known:
            ra, rb = uf.find(a), uf.find(b)
            if ra != rb:
                uf.union(ra, rb)
    for a, b in cannot_links:
        if a not in known or b not in known:
            continue
        if uf.find(a) == uf.find(b):
            raise ValueError(f"cannot-link {a} / {b} contradicts must-links joining them")
        uf.forbidden.setdefault(uf.find(a), set()).add(b)
        uf.forbidden.setdefault(uf.find(b), set()).add(a)
    for a, b in kept_apart:
        if a in known and b in known and uf.find(a) != uf.find(b):
            uf.forbidden.setdefault(uf.find(a), set()).add(b)
            uf.forbidden.setdefault(uf.find(b), set()).add(a)
    for key, values in identifiers.items():
        if key in known and any(values):
            root = uf.find(key)  # must-links fuse first; a steward's must-link overrides
            own: Held = tuple((v,) if v else () for v in values)  # type: ignore[assignment]
            uf.identifiers[root] = _merged(uf.identifiers[root], own) if root in uf.identifiers else own


def _components(result: ClusteringResult, uf: _UnionFind, smallest: dict[str, str],
                cut: list[tuple[str, str, bool]]) -> None:
    """Components of the edge graph: the clusters, joined by the edges left out of them."""
    joined = _UnionFind({result.cluster_of[key] for a, b, _ in cut for key in (a, b)})
    for a, b, _ in cut:
        ra, rb = joined.find(result.cluster_of[a]), joined.find(result.cluster_of[b])
        if ra != rb:
            joined.parent[max(ra, rb)] = min(ra, rb)  # the root stays the smallest cluster key

    def component(cluster: str) -> str:
        return joined.find(cluster) if cluster in joined.parent else cluster

    stats = result.components
    for cluster, size in result.sizes.items():
        if size > 1 or cluster in joined.parent:
            entry = stats.setdefault(component(cluster), ComponentStats())
            entry.records += size
    for root, edges in uf.edges.items():
        stats[component(smallest[root])].edges_used += edges
    for a, _, cannot in cut:
        entry = stats[component(result.cluster_of[a])]
        if cannot:
            entry.edges_cut_cannot_link += 1
        else:
            entry.edges_cut_size += 1
    result.component_of = {
        key: component(cluster) for key, cluster in result.cluster_of.items()
        if result.sizes[cluster] > 1 or cluster in joined.parent
    }

