"""The network as a picture: Mermaid (renders on GitHub) and Graphviz DOT text.

:func:`build` turns a problem into a small graph model: a node per input (with
its value, for one sample), per unit (its activation, its bias, its value) and
one for the loss; an edge per weight, labelled with the author's name and its
value, or with ∂L/∂w (``gradients=True``). :func:`mermaid` and :func:`dot`
write that model; :func:`document` is its JSON form.

A layered network (conv, pooling, dropout, rnn: issue 19) is drawn a node per layer
(:func:`build_layered`, :func:`layered_mermaid`, :func:`layered_dot`,
:func:`layered_json`): its type, shapes in → out, settings, activation and parameter
tensors (their values when small, or with ``gradients`` the norm of their gradient), an
rnn with an edge to itself for its recurrent weights, then the loss.

Labels are escaped for each format (names are letters, digits, ``_`` and
``^``, but titles can hold anything), and node ids are generated (``i0``,
``u1_0``, ``loss``), so any unit name gives valid syntax.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backprop_cli.engine.layered import solve_layered
from backprop_cli.engine.paramspace import Point, exact
from backprop_cli.model.keys import value_key
from backprop_cli.model.layered import LayeredProblem, LayerSpec
from backprop_cli.model.problem import Problem
from backprop_cli.numfmt import format_number
from backprop_cli.render.jsonout import dumps, finite_only


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


def diagram_text(problem: Problem | LayeredProblem, fmt: str, gradients: bool, digits: int,
                 path: str | None = None) -> str:
    """``backprop diagram``'s output: mermaid, dot or json, of a network or a layered one."""
    if isinstance(problem, LayeredProblem):
        layered = build_layered(problem, gradients)
        if fmt == "json":
            return dumps(layered_json(layered, path))
        return (layered_dot if fmt == "dot" else layered_mermaid)(layered, digits)
    graph = build(problem, gradients)
    if fmt == "json":
        return dumps(json_document(graph, path))
    return (dot if fmt == "dot" else mermaid)(graph, digits)


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


def _dot_head(title: str) -> list[str]:
    """The first lines of a diagram's DOT text: its title, left to right, the fonts."""
    return [f"digraph {_dot_string('network')} {{",
            f"  label={_dot_string(_one_line(title))};",
            "  labelloc=t;",
            "  rankdir=LR;",
            '  node [fontname="Helvetica", fontsize=11];',
            '  edge [fontname="Helvetica", fontsize=10];']


DOT_SHAPES = {"input": "box", "unit": "circle", "output": "doublecircle", "loss": "hexagon"}


def dot(diagram: Diagram, digits: int = 4) -> str:
    """Graphviz text: ``dot -Tsvg network.dot -o network.svg``."""
    lines = _dot_head(diagram.title)
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


# ------------------------------------------------------------ layered networks
# (issue 19) one node per layer: its type, shapes, settings, activation and parameter
# tensors; the rnn's recurrent weights as an edge from the layer to itself.

SMALL_TENSOR = 9  # a parameter tensor of at most this many values is shown whole


@dataclass
class TensorInfo:
    role: str  # weights, recurrent, bias
    name: str  # the tensor's name (K), or its elements' names ([w])
    element_names: list[str] | None
    shape: tuple[int, ...]
    values: list[float]  # row-major
    gradients: list[float]  # the batch's ∂L/∂(each element), step 1, row-major

    @property
    def small(self) -> bool:
        return len(self.values) <= SMALL_TENSOR

    @property
    def gradient_norm(self) -> float:
        return math.sqrt(sum(g * g for g in self.gradients))


@dataclass
class LayerNode:
    id: str
    name: str
    type: str  # input, dense, conv2d, ..., rnn, loss
    input_shape: tuple[int, ...]  # one sample's (at one time step: see per_step)
    output_shape: tuple[int, ...]
    settings: dict[str, Any] = field(default_factory=dict)  # kernel, stride, size, rate, ...
    activation: str | None = None
    units: list[str] = field(default_factory=list)
    params: list[TensorInfo] = field(default_factory=list)
    per_step: bool = False  # the shapes are one time step's (a sequence's layers)


@dataclass
class LayeredDiagram:
    title: str
    gradients: bool
    loss_label: str
    loss: float
    steps: int  # a sequence's time steps (0: no sequence)
    nodes: list[LayerNode] = field(default_factory=list)


def build_layered(problem: LayeredProblem, gradients: bool = False) -> LayeredDiagram:
    """The layers of ``problem`` at its starting parameters, with step 1's gradients."""
    first = solve_layered(problem).passes[0]
    diagram = LayeredDiagram(problem.title, gradients, problem.loss.label, first.loss,
                             problem.time_steps)
    steps = 1 if problem.sequence else 0  # the time axis leaves a sequence's shapes
    diagram.nodes.append(LayerNode("input", problem.input_name, "input", (),
                                   problem.input_shape[steps:], per_step=problem.sequence,
                                   units=list(problem.input_names)))
    for position, layer in enumerate(problem.layers):
        node = LayerNode(f"l{layer.index}", layer.name, layer.type, layer.input_shape[steps:],
                         layer.output_shape[steps:], _settings(layer),
                         layer.activation.label if layer.activation is not None else None,
                         list(layer.units), per_step=problem.sequence)
        grads = first.grads[position]
        for param in layer.params:
            node.params.append(TensorInfo(
                param.role, param.tensor_name,
                list(param.element_names) if param.element_names is not None else None,
                tuple(param.values.shape), [float(v) for v in param.values.ravel()],
                [float(g) for g in np.asarray(grads[param.role]).ravel()]))
        diagram.nodes.append(node)
    last = problem.layers[-1]
    diagram.nodes.append(LayerNode("loss", "L", "loss", last.output_shape[steps:], (),
                                   per_step=problem.sequence))
    return diagram


def _settings(layer: LayerSpec) -> dict[str, Any]:
    if layer.type in ("conv1d", "conv2d"):
        return {"filters": layer.filters, "kernel": list(layer.kernel),
                "stride": list(layer.stride), "padding": list(layer.padding)}
    if layer.type.endswith(("pool1d", "pool2d")):
        return {"size": list(layer.kernel), "stride": list(layer.stride)}
    if layer.type == "dropout":
        assert layer.mask is not None
        small = layer.mask.size <= SMALL_TENSOR  # the mask itself only when small
        return {"rate": layer.rate, **({"mask": layer.mask.tolist()} if small else {})}
    return {}


def _mask_text(mask: Any) -> str:
    if isinstance(mask, list):
        return "[" + ", ".join(_mask_text(item) for item in mask) + "]"
    return str(int(mask))


def _shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(str(n) for n in shape)


def _nested_text(values: list[float], shape: tuple[int, ...], digits: int) -> str:
    if not shape:
        return format_number(values[0], digits)
    step = len(values) // shape[0]
    return "[" + ", ".join(_nested_text(values[i * step:(i + 1) * step], shape[1:], digits)
                           for i in range(shape[0])) + "]"


def _tensor_line(tensor: TensorInfo, gradients: bool, digits: int) -> list[str]:
    """A parameter tensor: its values (or gradients) when small, else its shape (and the
    norm of its gradient)."""
    shown = tensor.gradients if gradients else tensor.values
    if tensor.element_names is not None and tensor.small:
        head = "∂L/∂" if gradients else ""
        return [f"{head}{name} = {format_number(value, digits)}"
                for name, value in zip(tensor.element_names, shown, strict=True)]
    name = tensor.name if tensor.element_names is None else (
        f"{tensor.role} [{', '.join(tensor.element_names[:3])}, …]")
    if tensor.small:
        head = f"∂L/∂{name}" if gradients else name
        return [f"{head} = {_nested_text(shown, tensor.shape, digits)}"]
    if gradients:
        return [f"‖∂L/∂{name}‖ = {format_number(tensor.gradient_norm, digits)} "
                f"({_shape_text(tensor.shape)})"]
    return [f"{name}: {_shape_text(tensor.shape)}"]


def layer_lines(node: LayerNode, diagram: LayeredDiagram, digits: int) -> list[str]:
    """The text of a layer's node, one line each."""
    if node.type == "loss":
        return [f"L = {format_number(diagram.loss, digits)}", diagram.loss_label]
    if node.type == "input":
        what = (f"[{', '.join(node.units)}]" if node.units else node.name)
        steps = f" at each of {diagram.steps} steps" if node.per_step else ""
        return [f"input {what}", f"{_shape_text(node.output_shape)}{steps}"]
    steps = f" at each of {diagram.steps} steps" if node.per_step else ""
    lines = [f"{node.name}: {node.type}",
             f"{_shape_text(node.input_shape)} → {_shape_text(node.output_shape)}{steps}"]
    settings = node.settings
    if "kernel" in settings:
        lines.append(f"{settings['filters']} filter{'s' * (settings['filters'] != 1)} "
                     f"{_shape_text(tuple(settings['kernel']))}, stride "
                     f"{_shape_text(tuple(settings['stride']))}, padding "
                     f"{_shape_text(tuple(settings['padding']))}")
    elif "size" in settings:
        lines.append(f"size {_shape_text(tuple(settings['size']))}, stride "
                     f"{_shape_text(tuple(settings['stride']))}")
    elif "rate" in settings:
        mask = settings.get("mask")
        lines.append(f"rate {format_number(settings['rate'], digits)}"
                     + ("" if mask is None else f", mask {_mask_text(mask)}"))
    if node.units:
        lines.append(f"units [{', '.join(node.units)}]")
    if node.activation is not None:
        lines.append(node.activation)
    for tensor in node.params:
        lines += _tensor_line(tensor, diagram.gradients, digits)
    return lines


def _recurrent(node: LayerNode) -> TensorInfo | None:
    return next((t for t in node.params if t.role == "recurrent"), None)


def _recurrent_label(tensor: TensorInfo) -> str:
    name = tensor.name if tensor.element_names is None else ", ".join(tensor.element_names)
    return f"{name}: h(t−1) → h(t)"


def _layered_edges(diagram: LayeredDiagram) -> list[tuple[str, str, str | None]]:
    """Each layer to the next (unlabelled), then each rnn to itself (its recurrent
    weights)."""
    edges: list[tuple[str, str, str | None]] = [
        (below.id, above.id, None) for below, above in zip(diagram.nodes, diagram.nodes[1:],
                                                           strict=False)]
    for node in diagram.nodes:
        if (tensor := _recurrent(node)) is not None:
            edges.append((node.id, node.id, _recurrent_label(tensor)))
    return edges


LAYERED_MERMAID = {"input": ('["', '"]'), "loss": ('{{"', '"}}')}


def layered_mermaid(diagram: LayeredDiagram, digits: int = 4) -> str:
    """``graph LR`` text, a node per layer."""
    lines = [f"%% {_one_line(diagram.title)}", "graph LR"]
    for node in diagram.nodes:
        opening, closing = LAYERED_MERMAID.get(node.type, ('["', '"]'))
        label = "<br/>".join(_mermaid_text(t) for t in layer_lines(node, diagram, digits))
        lines.append(f"  {node.id}{opening}{label}{closing}")
    for source, target, edge in _layered_edges(diagram):
        lines.append(f"  {source} --> {target}" if edge is None else
                     f'  {source} -->|"{_mermaid_text(edge)}"| {target}')
    return "\n".join(lines) + "\n"


LAYERED_DOT = {"input": "box", "loss": "hexagon"}


def layered_dot(diagram: LayeredDiagram, digits: int = 4) -> str:
    """Graphviz text: ``dot -Tsvg network.dot -o network.svg``."""
    lines = _dot_head(diagram.title)
    for node in diagram.nodes:
        label = "\n".join(layer_lines(node, diagram, digits))
        shape = LAYERED_DOT.get(node.type, "box")
        style = "" if node.type in LAYERED_DOT else ", style=rounded"
        lines.append(f"  {node.id} [shape={shape}{style}, label={_dot_string(label)}];")
    for source, target, edge in _layered_edges(diagram):
        lines.append(f"  {source} -> {target};" if edge is None else
                     f"  {source} -> {target} [label={_dot_string(edge)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def layered_json(diagram: LayeredDiagram, path: str | None = None) -> dict[str, Any]:
    """The layers as JSON: every setting, every parameter's shape, its values and
    gradients when small (SMALL_TENSOR), the norm of its gradient always."""
    nodes = []
    for node in diagram.nodes:
        entry: dict[str, Any] = {"id": node.id, "name": node.name, "type": node.type}
        if node.type != "input":
            entry["input_shape"] = list(node.input_shape)
        if node.type != "loss":
            entry["output_shape"] = list(node.output_shape)
        if node.per_step:
            entry["per_step"] = True
        entry.update(node.settings)
        if node.units:
            entry["units"] = node.units
        if node.activation is not None:
            entry["activation"] = node.activation
        if node.params:
            entry["params"] = [_tensor_json(t) for t in node.params]
        if node.type == "loss":
            entry.update({"label": diagram.loss_label, "value": diagram.loss})
        nodes.append(entry)
    edges: list[dict[str, Any]] = [{"from": a.id, "to": b.id}
                                   for a, b in zip(diagram.nodes, diagram.nodes[1:],
                                                   strict=False)]
    for node in diagram.nodes:
        if (tensor := _recurrent(node)) is not None:
            edges.append({"from": node.id, "to": node.id, "recurrent": tensor.name})
    doc: dict[str, Any] = {}
    if path is not None:
        doc["file"] = path
    doc.update({"title": diagram.title, "loss": diagram.loss, "steps": diagram.steps,
                "nodes": nodes, "edges": edges})
    return finite_only(doc)


def _tensor_json(tensor: TensorInfo) -> dict[str, Any]:
    entry: dict[str, Any] = {"role": tensor.role, "name": tensor.name,
                             "shape": list(tensor.shape)}
    if tensor.element_names is not None:
        entry["element_names"] = tensor.element_names
    if tensor.small:
        entry["values"] = tensor.values
        entry["gradients"] = tensor.gradients
    entry["gradient_norm"] = tensor.gradient_norm
    return entry
