"""Checks kgx's export files with the graph tools users open them in.

Usage: check_exports.py TURTLE NQUADS GRAPHML
Prints one JSON object with counts; exits non-zero (with the reason) when a
file does not parse, when networkx or igraph warn while reading GraphML, or when the files disagree.
"""
import json
import sys
import warnings

import igraph
import networkx as nx
import rdflib


def main(turtle: str, nquads: str, graphml: str) -> None:
    g = rdflib.Graph()
    g.parse(turtle, format="turtle")
    ds = rdflib.Dataset()
    ds.parse(nquads, format="nquads")
    quads = sum(1 for _ in ds.quads((None, None, None, None)))
    union = {(s, p, o) for s, p, o, _ in ds.quads((None, None, None, None))}
    if set(g) != union:
        sys.exit(f"turtle triples ({len(g)}) differ from the union of the N-Quads graphs ({len(union)})")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nxg = nx.read_graphml(graphml)
        ig = igraph.Graph.Read_GraphML(graphml)
    if caught:
        sys.exit(f"GraphML readers warned: {[str(w.message) for w in caught]}")
    if not nxg.is_directed():
        sys.exit("GraphML graph is not directed")
    for _, data in nxg.nodes(data=True):
        if not isinstance(data.get("label"), str) or not isinstance(data.get("mentions"), int):
            sys.exit(f"node attributes have wrong types: {data}")
    for _, _, data in nxg.edges(data=True):
        if not isinstance(data.get("weight"), float) or not isinstance(data.get("confidence"), float):
            sys.exit(f"edge attributes have wrong types: {data}")
    if ig.vcount() != nxg.number_of_nodes() or ig.ecount() != nxg.number_of_edges():
        sys.exit("igraph and networkx disagree on the GraphML graph")
    print(json.dumps({"turtle_triples": len(g), "nquads": quads, "graphml_nodes": nxg.number_of_nodes(), "graphml_edges": nxg.number_of_edges()}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
