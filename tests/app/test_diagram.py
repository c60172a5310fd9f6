"""`backprop diagram`: Mermaid and DOT text with the author's names and values on the edges."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from backprop_cli.app.diagram import (
    build,
    build_layered,
    dot,
    layered_dot,
    layered_json,
    layered_mermaid,
    mermaid,
)
from backprop_cli.cli import cli
from backprop_cli.engine.layered import solve_layered
from backprop_cli.files.loader import parse_problem
from backprop_cli.kinds.exercise import load_exercise, load_problem
from backprop_cli.model.layered import LayeredProblem
from backprop_cli.numfmt import format_number
from tests.conftest import PROBLEMS, seed_files

if TYPE_CHECKING:
    from pathlib import Path

TWO_LAYER = PROBLEMS / "001b_two_layer_relu_sigmoid.yaml"
SIGMOID = PROBLEMS / "003c_sigmoid_two_inputs.yaml"

NODE = re.compile(r'^  (\w+)(\["|\(\("|\(\(\("|\{\{")(.*)("\]|"\)\)|"\)\)\)|"\}\})$')
EDGE = re.compile(r'^  (\w+) (?:-->\|"([^"]*)"\||-\.->) (\w+)$')


def parse_mermaid(text: str) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """Nodes (id -> label) and edges (from, label, to); every line must be one or the other."""
    lines = text.splitlines()
    assert lines[0].startswith("%% ")
    assert lines[1] == "graph LR"
    nodes: dict[str, str] = {}
    edges = []
    for line in lines[2:]:
        if node := NODE.match(line):
            opening, closing = node.group(2), node.group(4)
            assert opening.count("(") == closing.count(")")
            assert '"' not in node.group(3)
            nodes[node.group(1)] = node.group(3)
        elif edge := EDGE.match(line):
            edges.append((edge.group(1), edge.group(2) or "", edge.group(3)))
        else:
            raise AssertionError(f"not Mermaid: {line!r}")
    assert all(a in nodes and b in nodes for a, _, b in edges)
    return nodes, edges


def test_mermaid_of_the_two_layer_seed() -> None:
    nodes, edges = parse_mermaid(mermaid(build(load_problem(TWO_LAYER))))
    assert nodes["i0"] == "x1 = 1"
    assert nodes["u1_0"] == "h1 = 1.8<br/>ReLU<br/>b1 = 0.1"
    assert nodes["u2_0"] == "o = 0.8249<br/>sigmoid<br/>b3 = 0.2<br/>target 1"
    assert nodes["loss"].startswith("L = 0.01533<br/>half squared error")
    assert ("i0", "w1 = 0.5", "u1_0") in edges
    assert ("i1", "w4 = 0.3", "u1_1") in edges
    assert ("u1_1", "v2 = 0.7", "u2_0") in edges
    assert ("u2_0", "", "loss") in edges
    assert len(edges) == 7


def test_gradients_on_the_edges() -> None:
    _, edges = parse_mermaid(mermaid(build(load_problem(SIGMOID), gradients=True)))
    labels = {label for _, label, _ in edges}
    assert {"∂L/∂w1 = −0.01319", "∂L/∂w2 = −0.02638", "∂L/∂w3 = −0.04237"} <= labels
    chain = parse_mermaid(mermaid(build(load_problem(PROBLEMS / "003a_chain_x_w1_w2.yaml"),
                                        gradients=True)))[1]
    assert [label for _, label, _ in chain][:2] == ["∂L/∂w1 = −18", "∂L/∂w2 = −72"]


def test_frozen_and_shared_parameters_are_marked() -> None:
    nodes, edges = parse_mermaid(mermaid(build(load_problem(
        PROBLEMS / "002_deep_relu_exercise.yaml"))))
    assert nodes["u2_0"] == "h_1^2 = 0<br/>ReLU<br/>b_1^2 = −0.5 (frozen)"
    text = """network:
  inputs: [x]
  layers:
    - {units: [h], weights: [[0.5]], weight_names: [[w]]}
    - {units: [y], weights: [[0.5]], weight_names: [[w]]}
loss: half_squared_error
learning_rate: 0.1
samples: [{input: [1], target: 1}, {input: [2], target: 2}]
"""
    nodes, edges = parse_mermaid(mermaid(build(parse_problem(text))))
    assert [label for _, label, _ in edges[:2]] == ["w = 0.5", "w = 0.5"]
    assert nodes["i0"] == "x"  # several samples: no single value to show


def test_labels_are_escaped() -> None:
    text = (PROBLEMS / "003a_chain_x_w1_w2.yaml").read_text().replace(
        'title: "Seed 003', 'title: "A \\"quoted\\" <b>title</b>; Seed 003')
    problem = parse_problem(text)
    graph = build(problem)
    assert mermaid(graph).splitlines()[0] == (
        '%% A "quoted" <b>title</b>; Seed 003, exercise 1: the chain ŷ = x·w1·w2, one step of '
        "gradient descent")
    assert 'label="A \\"quoted\\" <b>title</b>;' in dot(graph)


def test_dot_structure() -> None:
    text = dot(build(load_problem(TWO_LAYER), gradients=True))
    lines = text.splitlines()
    assert lines[0] == 'digraph "network" {' and lines[-1] == "}"
    assert '  i0 -> u1_0 [label="∂L/∂w1 = −0.01012"];' in lines
    assert '  u1_0 [shape=circle, label="h1 = 1.8\\nReLU\\n∂L/∂b1 = −0.01012"];' in lines
    assert "  { rank=same; i0; i1; }" in lines
    # an invisible chain per layer keeps its units in file order (dot would reorder h1, h2)
    assert "  i0 -> i1 [style=invis];" in lines
    assert "  u1_0 -> u1_1 [style=invis];" in lines
    assert not any(line.startswith("  u2_0 ->") and "invis" in line for line in lines)
    assert text.count("{") == text.count("}")
    assert all(line.endswith((";", "{", "}")) for line in lines)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
@pytest.mark.parametrize("path", seed_files(), ids=lambda p: p.stem)
def test_graphviz_accepts_every_seed(path) -> None:  # type: ignore[no-untyped-def]
    for gradients in (False, True):
        source = dot(build(load_problem(path), gradients=gradients))
        out = subprocess.run(["dot", "-Tsvg"], input=source, capture_output=True, text=True,
                             check=False)
        assert out.returncode == 0, out.stderr
        assert "<svg" in out.stdout


@pytest.mark.parametrize("path", seed_files(), ids=lambda p: p.stem)
def test_mermaid_of_every_seed_parses(path) -> None:  # type: ignore[no-untyped-def]
    problem = load_problem(path)
    nodes, edges = parse_mermaid(mermaid(build(problem)))
    weights = sum(layer.weights.size for layer in problem.layers)
    assert len(edges) == weights + problem.output_layer.size
    assert len(nodes) == len(problem.input_names) + sum(
        layer.size for layer in problem.layers) + 1


def test_diagram_command() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["diagram", str(TWO_LAYER)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1] == "graph LR"
    result = runner.invoke(cli, ["diagram", str(TWO_LAYER), "--format", "dot", "--grad"])
    assert result.output.startswith('digraph "network" {')
    document = json.loads(runner.invoke(cli, ["diagram", str(TWO_LAYER), "--format",
                                              "json"]).output)
    edge = document["edges"][0]
    assert (edge["from"], edge["to"], edge["key"], edge["value"]) == ("i0", "u1_0", "w1", 0.5)
    assert edge["gradient_key"] == "grad.w1"
    assert edge["gradient"] == pytest.approx(-0.010115158601697566)
    assert document["nodes"][2]["bias"]["key"] == "b1"
    assert runner.invoke(cli, ["diagram", str(TWO_LAYER), "--format", "svg"]).exit_code == 2
    assert runner.invoke(cli, ["diagram", "nope.yaml"]).exit_code == 1


def test_diagram_output_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "net.mmd"
    result = CliRunner().invoke(cli, ["diagram", str(SIGMOID), "-o", str(target)])
    assert result.exit_code == 0 and result.output == ""
    assert target.read_text().splitlines()[1] == "graph LR"


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_graphviz_lays_each_layer_out_in_file_order() -> None:
    """Issue 17: dot drew h2 above h1 and h3; the invisible chain keeps h1, h2, h3 in order."""
    source = dot(build(load_problem(PROBLEMS / "012_three_classes_init.yaml")))
    plain = subprocess.run(["dot", "-Tplain"], input=source, capture_output=True, text=True,
                           check=True).stdout
    height = {parts[1]: float(parts[3]) for parts in map(str.split, plain.splitlines())
              if parts[0] == "node"}
    for layer in (["i0", "i1"], ["u1_0", "u1_1", "u1_2", "u1_3"], ["u2_0", "u2_1", "u2_2"]):
        ys = [height[node] for node in layer]
        assert ys == sorted(ys, reverse=True), layer  # top to bottom in file order


# ------------------------------------------------------------ layered networks

LAYERED = sorted(PROBLEMS.glob("03[0-2]_*.yaml"))
LAYERED_NODE = re.compile(r'^  (\w+)(\["|\{\{")(.*)("\]|"\}\})$')
LAYERED_EDGE = re.compile(r'^  (\w+) -->(?:\|"([^"]*)"\|)? (\w+)$')


def _layered(path: Path) -> LayeredProblem:
    problem = load_exercise(path)
    assert isinstance(problem, LayeredProblem)
    return problem


def test_mermaid_of_the_conv_exercise() -> None:
    text = layered_mermaid(build_layered(_layered(PROBLEMS / "030_conv_pool_dropout.yaml")))
    assert text == (
        "%% Convolution, max pooling and dropout: one step by hand\n"
        "graph LR\n"
        '  input["input x<br/>1×4×4"]\n'
        '  l1["C: conv2d<br/>1×4×4 → 1×3×3<br/>1 filter 2×2, stride 1×1, padding 0×0<br/>'
        'ReLU<br/>K = [[[[1, 0], [0, −1]]]]<br/>c = [0.5]"]\n'
        '  l2["P: maxpool2d<br/>1×3×3 → 1×2×2<br/>size 2×2, stride 1×1"]\n'
        '  l3["D: dropout<br/>1×2×2 → 1×2×2<br/>rate 0.5, mask [[[1, 0], [1, 1]]]"]\n'
        '  l4["L4: flatten<br/>1×2×2 → 4"]\n'
        '  l5["L5: dense<br/>4 → 1<br/>units [o]<br/>sigmoid<br/>W5 = [[0.1, −0.2, 0.3, 0.4]]"]\n'
        '  loss{{"L = 4.952e-5<br/>half squared error ½·Σ(y − a)²"}}\n'
        "  input --> l1\n"
        "  l1 --> l2\n"
        "  l2 --> l3\n"
        "  l3 --> l4\n"
        "  l4 --> l5\n"
        "  l5 --> loss\n")


def test_mermaid_of_the_rnn_exercise_with_its_recurrent_edge() -> None:
    diagram = build_layered(_layered(PROBLEMS / "031_rnn_bptt.yaml"), gradients=True)
    assert layered_mermaid(diagram) == (
        "%% A recurrent unit unrolled over three steps: BPTT by hand\n"
        "graph LR\n"
        '  input["input [x]<br/>1 at each of 3 steps"]\n'
        '  l1["L1: rnn<br/>1 → 1 at each of 3 steps<br/>units [h]<br/>tanh<br/>'
        '∂L/∂w = 0.1189<br/>∂L/∂u = −0.2477<br/>∂L/∂b = −0.4712"]\n'
        '  l2["L2: dense<br/>1 → 1 at each of 3 steps<br/>units [y]<br/>identity<br/>'
        '∂L/∂v = −0.03874"]\n'
        '  loss{{"L = 0.01688<br/>half squared error ½·Σ(y − a)²"}}\n'
        "  input --> l1\n"
        "  l1 --> l2\n"
        "  l2 --> loss\n"
        '  l1 -->|"u: h(t−1) → h(t)"| l1\n')
    # the published answers of the hand-worked file, independently of the diagram
    expected = _layered(PROBLEMS / "031_rnn_bptt.yaml").expected
    assert expected["grad.w"].value == pytest.approx(0.11889)
    assert expected["grad.u"].value == pytest.approx(-0.24774)


@pytest.mark.parametrize("path", LAYERED, ids=lambda p: p.stem)
def test_layered_mermaid_parses(path: Path) -> None:
    problem = _layered(path)
    for gradients in (False, True):
        lines = layered_mermaid(build_layered(problem, gradients)).splitlines()
        assert lines[1] == "graph LR"
        nodes, edges = set(), []
        for line in lines[2:]:
            if node := LAYERED_NODE.match(line):
                assert '"' not in node.group(3)
                nodes.add(node.group(1))
            elif edge := LAYERED_EDGE.match(line):
                edges.append((edge.group(1), edge.group(3)))
            else:
                raise AssertionError(f"not Mermaid: {line!r}")
        assert len(nodes) == len(problem.layers) + 2  # the input and the loss
        assert all(a in nodes and b in nodes for a, b in edges)
        recurrent = sum(layer.type == "rnn" for layer in problem.layers)
        assert len(edges) == len(problem.layers) + 1 + recurrent


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
@pytest.mark.parametrize("path", LAYERED, ids=lambda p: p.stem)
def test_graphviz_accepts_the_layered_exercises(path: Path) -> None:
    for gradients in (False, True):
        source = layered_dot(build_layered(_layered(path), gradients))
        out = subprocess.run(["dot", "-Tsvg"], input=source, capture_output=True, text=True,
                             check=False)
        assert out.returncode == 0, out.stderr
        assert "<svg" in out.stdout


def test_layered_json_has_settings_shapes_and_gradient_norms() -> None:
    problem = _layered(PROBLEMS / "032_conv1d_stride_padding_avgpool.yaml")
    doc = layered_json(build_layered(problem), "f.yaml")
    values = solve_layered(problem).values
    conv = doc["nodes"][1]
    assert conv["type"] == "conv1d" and conv["kernel"] == [3] and conv["stride"] == [2]
    assert conv["padding"] == [1] and conv["input_shape"] == [1, 5]
    assert conv["output_shape"] == [1, 3]
    kernel = conv["params"][0]
    grads = [values[key] for key in values if key.startswith(f"grad.{kernel['name']}[")]
    assert kernel["gradients"] == pytest.approx(grads)
    assert kernel["gradient_norm"] == pytest.approx(math.sqrt(sum(g * g for g in grads)))
    assert doc["nodes"][-1]["value"] == pytest.approx(values["loss"])
    assert [e["from"] for e in doc["edges"]] == [n["id"] for n in doc["nodes"][:-1]]


def test_large_tensors_show_their_shape_and_gradient_norm(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    result = CliRunner().invoke(cli, ["new", "--layers", "2x6x6-conv2d:4x3x3-maxpool2d:2-3",
                                      "--seed", "1", "-o", str(path)])
    assert result.exit_code == 0, result.output
    problem = _layered(path)
    plain = layered_mermaid(build_layered(problem))
    assert "W1: 4×2×3×3" in plain
    values = solve_layered(problem).values
    norm = math.sqrt(sum(v * v for k, v in values.items() if k.startswith("grad.W1[")))
    graded = layered_mermaid(build_layered(problem, gradients=True))
    assert f"‖∂L/∂W1‖ = {format_number(norm, 4)} (4×2×3×3)" in graded


def test_diagram_command_on_layered_files() -> None:
    runner = CliRunner()
    path = str(PROBLEMS / "031_rnn_bptt.yaml")
    for fmt, start in (("mermaid", "%% "), ("dot", "digraph"), ("json", "{")):
        result = runner.invoke(cli, ["diagram", path, "--format", fmt])
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith(start)
    doc = json.loads(runner.invoke(cli, ["diagram", path, "--format", "json"]).stdout)
    assert {"from": "l1", "to": "l1", "recurrent": "U1"} in doc["edges"]
