"""The shape of a store's graph: surface strings (what kgx stored before
entity resolution) against entities (what it stores now).

Usage: bench/graph_shape.py STORE [--kgx target/release/kgx]
Reads every extraction of STORE through `kgx query` and prints, for the
same extractions:
- asserted triples (not negated, both sides a node) and extractions;
- pronoun argument mentions (he, she, it, they ...) and the share that
  stand for an entity node (resolved);
- the weakly connected components of two graphs over the asserted
  extractions: nodes as the lower-cased surface text of each argument
  (kgx's node before resolution: every "he" one node), and nodes as the
  entities kgx stores (an alias's node folded into its entity through
  owl:sameAs); their number, the largest's share of nodes and the nodes.
Standard library only.
"""
import argparse
import csv
import io
import subprocess
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PRONOUNS = {"he", "she", "him", "her", "his", "hers", "it", "its", "they", "them", "their", "we", "us", "i", "me", "you"}


def select(kgx: str, store: str, query: str) -> list[dict]:
    out = subprocess.run([kgx, "query", "--store", store, "--format", "csv", "-e", query], check=True, capture_output=True, text=True).stdout
    return list(csv.DictReader(io.StringIO(out)))


def components(edges: list[tuple[str, str]]) -> tuple[int, int, int]:
    """(components, nodes, nodes in the largest) of the undirected graph."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    sizes = Counter(find(x) for x in list(parent))
    return len(sizes), len(parent), max(sizes.values(), default=0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("store")
    ap.add_argument("--kgx", default=str(REPO / "target/release/kgx"))
    a = ap.parse_args()
    rows = select(a.kgx, a.store, """
        SELECT ?x ?st ?tt ?s ?o ?neg ?inv WHERE {
          ?x a kgx:Extraction ; kgx:sourceText ?st ; kgx:targetText ?tt .
          OPTIONAL { ?x rdf:subject ?s } OPTIONAL { ?x rdf:object ?o }
          OPTIONAL { ?x kgx:negated ?neg } OPTIONAL { ?x kgx:inverted ?inv } }""")
    same_as = {r["a"]: r["e"] for r in select(a.kgx, a.store, "SELECT ?a ?e WHERE { ?a owl:sameAs ?e }")}
    entity = lambda node: same_as.get(node, node)
    pronouns = resolved = asserted = 0
    surface_edges, entity_edges = [], []
    for r in rows:
        inverted = r["inv"] == "true"
        # The node of each surface side (rdf:subject follows the asserted direction).
        source_node, target_node = (r["o"], r["s"]) if inverted else (r["s"], r["o"])
        for text, node in ((r["st"], source_node), (r["tt"], target_node)):
            if text.strip().lower() in PRONOUNS:
                pronouns += 1
                resolved += bool(node)
        if r["neg"] == "true":
            continue
        surface_edges.append((r["st"].strip().lower(), r["tt"].strip().lower()))
        if r["s"] and r["o"]:
            asserted += 1
            entity_edges.append((entity(r["s"]), entity(r["o"])))
    print(f"extractions {len(rows)}, asserted triples {asserted}")
    print(f"pronoun argument mentions {pronouns}, resolved to an entity {resolved} ({resolved / max(pronouns, 1):.1%})")
    for name, edges in (("surface strings (before)", surface_edges), ("entities (now)", entity_edges)):
        n, nodes, largest = components(edges)
        print(f"{name:<26} {nodes} nodes, {len(edges)} edges, {n} components, largest {largest} nodes ({largest / max(nodes, 1):.1%})")


if __name__ == "__main__":
    main()
