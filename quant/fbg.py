"""The graph file (.fbg): one numpy .npz holding a JSON description and the arrays.

The JSON (stored as the array `__graph__`) has the format name and version,
the nodes in topological order with their op kind, inputs and scalar
attributes; every array attribute is an npz member named `<node index>/<field>`.
Loading never unpickles (`allow_pickle=False`) and checks every node's fields
(`graph_check.py`), naming the node and field of an edited or damaged file.
Files are written atomically.
"""

from __future__ import annotations

import dataclasses
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from firebrick.atomic import atomic_path
from firebrick.errors import FirebrickError
from firebrick.quant.fixed_point import Format
from firebrick.quant.graph import Graph, GraphError
from firebrick.quant.graph_check import InvalidGraphError, check_graph
from firebrick.quant.ops import Add, BatchNorm, Concat, Conv, ConvQuant, GlobalAvgPool, Input, Relu, op_kind

GRAPH_FORMAT = "firebrick-graph"
GRAPH_VERSION = 1
_KINDS = {"input": Input, "conv": Conv, "batchnorm": BatchNorm, "relu": Relu, "concat": Concat, "add": Add, "global_avg_pool": GlobalAvgPool}


class GraphFileError(FirebrickError):
    """An unreadable, foreign, corrupted or too-new graph file."""


def _encode(value: Any, key: str, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, np.ndarray):
        arrays[key] = value
        return {"$array": key}
    if isinstance(value, Format):
        return {"$format": value.to_dict()}
    if isinstance(value, ConvQuant):
        return {"$convquant": {f.name: _encode(getattr(value, f.name), f"{key}.{f.name}", arrays) for f in dataclasses.fields(value)}}
    if isinstance(value, tuple):
        return list(value)
    return value


def _decode(value: Any, arrays: Any) -> Any:
    if isinstance(value, dict):
        if "$array" in value:
            return np.array(arrays[value["$array"]])
        if "$format" in value:
            return Format.from_dict(value["$format"])
        if "$convquant" in value:
            return ConvQuant(**{k: _decode(v, arrays) for k, v in value["$convquant"].items()})
    return value


def save_graph(graph: Graph, path: str | os.PathLike) -> None:
    graph.validate()
    arrays: dict[str, np.ndarray] = {}
    nodes = []
    for index, (name, op) in enumerate(graph.items()):
        attrs = {f.name: _encode(getattr(op, f.name), f"{index}/{f.name}", arrays) for f in dataclasses.fields(op)}
        nodes.append({"name": name, "kind": op_kind(op), "inputs": graph.inputs(name), "attrs": attrs})
    document = {"format": GRAPH_FORMAT, "version": GRAPH_VERSION, "name": graph.name, "output": graph.output, "meta": graph.meta, "nodes": nodes}
    header = np.frombuffer(json.dumps(document, sort_keys=True).encode(), dtype=np.uint8)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, __graph__=header, **arrays)


def load_graph(path: str | os.PathLike) -> Graph:
    path = Path(path)
    if not path.is_file():
        raise GraphFileError(f"graph file {path} does not exist; make one with `firebrick quantize`")
    try:
        with np.load(path, allow_pickle=False) as npz:
            if "__graph__" not in npz.files:
                raise GraphFileError(f"{path} is not a firebrick graph (no __graph__ entry)")
            document = json.loads(npz["__graph__"].tobytes().decode())
            arrays = {k: npz[k] for k in npz.files if k != "__graph__"}
    except GraphFileError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError, UnicodeDecodeError) as exc:
        raise GraphFileError(f"{path} is not a readable graph file (corrupted or another format: {exc})") from exc
    if not isinstance(document, dict) or document.get("format") != GRAPH_FORMAT:
        raise GraphFileError(f"{path} is not a firebrick graph file")
    version = document.get("version")
    if not isinstance(version, int) or version > GRAPH_VERSION:
        raise GraphFileError(f"{path} is graph format version {version!r}; this firebrick reads up to {GRAPH_VERSION}, upgrade firebrick")
    try:
        graph = Graph(document["name"])
        for node in document["nodes"]:
            cls = _KINDS[node["kind"]]
            attrs = {k: _decode(v, arrays) for k, v in node["attrs"].items()}
            if cls is Input:
                attrs["shape"] = tuple(attrs["shape"])
            graph.add(node["name"], cls(**attrs), node["inputs"])
        graph.output = document["output"]
        graph.meta = document.get("meta", {})
        check_graph(graph)
    except InvalidGraphError as exc:
        raise GraphFileError(f"{path} is not a graph firebrick can run: {exc}; make it again with `firebrick quantize`") from None
    except (KeyError, TypeError, ValueError, GraphError, FirebrickError) as exc:
        raise GraphFileError(f"{path} is corrupted: {exc!r}") from exc
    return graph
