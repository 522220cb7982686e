"""The dataflow graph: a networkx DiGraph of typed ops, the contract between stages.

Nodes are named (conv1, fire2.squeeze, fire2.concat...) and hold one op each;
edges carry tensors, and each edge's `port` gives the input position at its
consumer (concat order matters). There is one `Input` node and one output node.
Passes never mutate a graph they are given: they work on `copy()`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from typing import Any

import networkx as nx

from firebrick.quant.ops import Input, Op


class GraphError(ValueError):
    """A malformed graph (a programming error in a pass or front end, not user input)."""


class Graph:
    def __init__(self, name: str = "graph") -> None:
        self.name = name
        self._g = nx.DiGraph()
        self.output: str | None = None
        #: JSON-able facts about the graph (source model, dataset, quantization settings, accuracy)
        self.meta: dict[str, Any] = {}

    # -- building ---------------------------------------------------------------------------
    def add(self, name: str, op: Op, inputs: Sequence[str] = ()) -> str:
        if name in self._g:
            raise GraphError(f"node {name!r} already exists")
        for source in inputs:
            if source not in self._g:
                raise GraphError(f"node {name!r}: input {source!r} does not exist")
        self._g.add_node(name, op=op)
        for port, source in enumerate(inputs):
            self._g.add_edge(source, name, port=port)
        return name

    def unique_name(self, base: str) -> str:
        name, n = base, 1
        while name in self._g:
            n += 1
            name = f"{base}_{n}"
        return name

    def set_op(self, name: str, op: Op) -> None:
        self._g.nodes[name]["op"] = op

    def remove_passthrough(self, name: str) -> None:
        """Delete a one-input node, wiring its input to its consumers at the same ports."""
        (source,) = self.inputs(name)
        for consumer in self.consumers(name):
            port = self._g.edges[name, consumer]["port"]
            self._g.add_edge(source, consumer, port=port)
        if self.output == name:
            self.output = source
        self._g.remove_node(name)

    # -- reading ----------------------------------------------------------------------------
    def __contains__(self, name: str) -> bool:
        return name in self._g

    def __len__(self) -> int:
        return self._g.number_of_nodes()

    def op(self, name: str) -> Op:
        return self._g.nodes[name]["op"]

    def inputs(self, name: str) -> list[str]:
        preds = [(self._g.edges[p, name]["port"], p) for p in self._g.predecessors(name)]
        return [p for _, p in sorted(preds)]

    def consumers(self, name: str) -> list[str]:
        return sorted(self._g.successors(name))

    def nodes(self) -> list[str]:
        """Node names in a deterministic topological order (ties broken by insertion order)."""
        order = {n: i for i, n in enumerate(self._g.nodes)}
        return list(nx.lexicographical_topological_sort(self._g, key=order.__getitem__))

    def items(self) -> Iterator[tuple[str, Op]]:
        for name in self.nodes():
            yield name, self.op(name)

    def last_uses(self) -> dict[str, list[str]]:
        """For each node, the inputs whose last consumer it is (executors free those values after it)."""
        order = {n: i for i, n in enumerate(self.nodes())}
        freed: dict[str, list[str]] = {n: [] for n in order}
        for name in order:
            consumers = self.consumers(name)
            if consumers and name != self.output:
                freed[max(consumers, key=order.__getitem__)].append(name)
        return freed

    @property
    def input(self) -> str:
        names = [n for n, op in self.items() if isinstance(op, Input)]
        if len(names) != 1:
            raise GraphError(f"a graph has exactly one input node, this one has {len(names)}")
        return names[0]

    def copy(self) -> Graph:
        return copy.deepcopy(self)

    def validate(self) -> None:
        if not nx.is_directed_acyclic_graph(self._g):
            raise GraphError("graph has a cycle")
        if self.output is None or self.output not in self._g:
            raise GraphError("graph has no output node")
        _ = self.input
