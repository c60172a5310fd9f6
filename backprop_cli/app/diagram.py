"""The network as a picture: Mermaid (renders on GitHub) and Graphviz DOT text.

:func:`build` turns a problem into a small graph model: a node per input (with
its value, for one sample), per unit (its activation, its bias, its value) and
one for the loss; an edge per weight, labelled with the author's name and its
value, or with ∂L/∂w (``gradients=True``). :func:`mermaid` and :func:`dot`
write that model; :func:`document` is its JSON form.

Labels are escaped for each format (names are letters, digits, ``_`` and
``^``, but titles can hold anything), and node ids are generated (``i0``,
``u1_0``, ``loss``), so any unit name gives valid syntax.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from backprop_cli.engine.paramspace import Point, exact
from backprop_cli.model.keys import value_key
from backprop_cli.model.problem import Problem
from backprop_cli.numfmt import format_number
from backprop_cli.render.jsonout import finite_only


@dataclass
class Bias:
    name: str
    value: float
    gradient: float | None
    frozen: bool


@dataclass
class Node:
    id: str
    name: str
    kind: str  # input | unit | output | loss
    layer: int  # 0 for inputs, l for layer l, L + 1 for the loss
    activation: str | None = None
    value: float | None = None  # the input, or the unit's activation (one sample only)
    bias: Bias | None = None
    target: float | None = None


@dataclass
class Edge:
    source: str
    target: str
    name: str  # the parameter's name ('' for the edges into the loss)
    value: float | None = None
    gradient: float | None = None
    frozen: bool = False


@dataclass
class Diagram:
    title: str
    gradients: bool  # label the edges with ∂L/∂w instead of w
    loss_label: str
    loss: float
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)


def build(problem: Problem, gradients: bool = False) -> Diagram:
    """The graph of ``problem`` at its starting parameters."""
    exact_problem = exact(problem)
    point = Point(exact_problem)
    loss, grads = point.gradients()
    single = problem.n_samples == 1
    activations = point.forward().a if single else None
    diagram = Diagram(problem.title, gradients, problem.loss.label, loss)
    params = problem.parameters
    for j, name in enumerate(problem.input_names):
        value = float(problem.inputs[0, j]) if single else None
        diagram.nodes.append(Node(f"i{j}", name, "input", 0, value=value))
    last = len(problem.layers) - 1
    for li, layer in enumerate(problem.layers):
        below = ([f"i{j}" for j in range(len(problem.input_names))] if li == 0
                 else [f"u{li}_{j}" for j in range(problem.layers[li - 1].size)])
        for row, unit in enumerate(layer.units):
            node_id = f"u{li + 1}_{row}"
            bias = None
            if layer.bias is not None and layer.bias_names is not None:
                bias_name = layer.bias_names[row]
                bias = Bias(bias_name, float(layer.bias[row]), grads[bias_name],
                            params[bias_name].frozen)
            node = Node(node_id, unit, "output" if li == last else "unit", li + 1,
                        activation=layer.activation.label, bias=bias)
            if activations is not None:
                node.value = float(activations[li][0, row])
            if li == last and single:
                node.target = float(problem.targets[0, row])
            diagram.nodes.append(node)
            for col, source in enumerate(below):
                name = layer.weight_names[row][col]
                diagram.edges.append(Edge(source, node_id, name, float(layer.weights[row, col]),
                                          grads[name], params[name].frozen))
    diagram.nodes.append(Node("loss", "L", "loss", last + 2, value=loss))
    for row in range(problem.output_layer.size):
        diagram.edges.append(Edge(f"u{last + 1}_{row}", "loss", ""))
    return diagram


def _num(value: float | None, digits: int) -> str:
    return "?" if value is None else format_number(value, digits)


def node_lines(node: Node, diagram: Diagram, digits: int) -> list[str]:
    """The text of a node, one line each: name (and value), activation, bias, target."""
    if node.kind == "loss":
        return [f"L = {_num(node.value, digits)}", diagram.loss_label]
    if node.kind == "input":
        return [node.name if node.value is None else f"{node.name} = {_num(node.value, digits)}"]
    lines = [node.name if node.value is None else f"{node.name} = {_num(node.value, digits)}"]
    if node.activation:
        lines.append(node.activation)
    if node.bias is not None:
        b = node.bias
        text = (f"∂L/∂{b.name} = {_num(b.gradient, digits)}" if diagram.gradients
                else f"{b.name} = {_num(b.value, digits)}")
        lines.append(text + (" (frozen)" if b.frozen else ""))
    if node.target is not None:
        lines.append(f"target {_num(node.target, digits)}")
    return lines


def edge_label(edge: Edge, diagram: Diagram, digits: int) -> str:
    if not edge.name:
        return ""
    if diagram.gradients:
        text = f"∂L/∂{edge.name} = {_num(edge.gradient, digits)}"
    else:
        text = f"{edge.name} = {_num(edge.value, digits)}"
    return text + (" (frozen)" if edge.frozen else "")


# ------------------------------------------------------------------- Mermaid


def _mermaid_text(text: str) -> str:
    """Text inside a quoted Mermaid label: quotes and the entity syntax escaped."""
    return (text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;")
            .replace(">", "#gt;"))


MERMAID_SHAPES = {"input": ('["', '"]'), "unit": ('(("', '"))'), "output": ('((("', '")))'),
                  "loss": ('{{"', '"}}')}


def mermaid(diagram: Diagram, digits: int = 4) -> str:
    """``graph LR`` text; GitHub renders it in a ```mermaid block."""
    lines = [f"%% {_one_line(diagram.title)}", "graph LR"]
    for node in diagram.nodes:
        opening, closing = MERMAID_SHAPES[node.kind]
        label = "<br/>".join(_mermaid_text(t) for t in node_lines(node, diagram, digits))
        lines.append(f"  {node.id}{opening}{label}{closing}")
    for edge in diagram.edges:
        label = edge_label(edge, diagram, digits)
        if not label:
            lines.append(f"  {edge.source} -.-> {edge.target}")
        else:
            lines.append(f'  {edge.source} -->|"{_mermaid_text(label)}"| {edge.target}')
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


# ----------------------------------------------------------------------- DOT


def _dot_string(text: str) -> str:
    """A DOT double-quoted string (newlines become the centred-line escape)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n") + '"'


DOT_SHAPES = {"input": "box", "unit": "circle", "output": "doublecircle", "loss": "hexagon"}


def dot(diagram: Diagram, digits: int = 4) -> str:
    """Graphviz text: ``dot -Tsvg network.dot -o network.svg``."""
    lines = [f"digraph {_dot_string('network')} {{",
             f"  label={_dot_string(_one_line(diagram.title))};",
             "  labelloc=t;",
             "  rankdir=LR;",
             '  node [fontname="Helvetica", fontsize=11];',
             '  edge [fontname="Helvetica", fontsize=10];']
    layers: dict[int, list[str]] = {}
    for node in diagram.nodes:
        layers.setdefault(node.layer, []).append(node.id)
        label = "\n".join(node_lines(node, diagram, digits))
        lines.append(f"  {node.id} [shape={DOT_SHAPES[node.kind]}, label={_dot_string(label)}];")
    for ids in layers.values():
        lines.append(f"  {{ rank=same; {'; '.join(ids)}; }}")
        if len(ids) > 1:  # an invisible chain keeps a layer in file order: h1 above h2 above h3
            lines.append(f"  {' -> '.join(ids)} [style=invis];")
    for edge in diagram.edges:
        label = edge_label(edge, diagram, digits)
        if label:
            style = ", style=dashed" if edge.frozen else ""
            lines.append(f"  {edge.source} -> {edge.target} [label={_dot_string(label)}{style}];")
        else:
            lines.append(f"  {edge.source} -> {edge.target} [style=dotted, arrowhead=none];")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- JSON


def json_document(diagram: Diagram, path: str | None = None) -> dict[str, Any]:
    """The graph as JSON, with the value key of every number (null where not finite)."""
    nodes = []
    for node in diagram.nodes:
        entry: dict[str, Any] = {"id": node.id, "name": node.name, "kind": node.kind,
                                 "layer": node.layer}
        if node.kind in ("unit", "output"):
            entry["activation"] = node.activation
        if node.value is not None:
            entry["key"] = (value_key("loss") if node.kind == "loss" else
                            value_key("input" if node.kind == "input" else "a", node.name))
            entry["value"] = node.value
        if node.bias is not None:
            b = node.bias
            entry["bias"] = {"name": b.name, "key": b.name, "value": b.value,
                             "gradient": b.gradient, "frozen": b.frozen}
        if node.target is not None:
            entry["target"] = node.target
        nodes.append(entry)
    edges = []
    for edge in diagram.edges:
        item: dict[str, Any] = {"from": edge.source, "to": edge.target}
        if edge.name:
            item.update({"name": edge.name, "key": edge.name, "value": edge.value,
                         "gradient_key": value_key("grad", edge.name), "gradient": edge.gradient,
                         "frozen": edge.frozen})
        edges.append(item)
    doc: dict[str, Any] = {}
    if path is not None:
        doc["file"] = path
    doc.update({"title": diagram.title, "loss": diagram.loss, "nodes": nodes,
                "edges": edges})
    return finite_only(doc)
