"""`backprop diagram`: Mermaid and DOT text with the author's names and values on the edges."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from backprop_cli.app.diagram import build, dot, mermaid
from backprop_cli.cli import cli
from backprop_cli.files.loader import parse_problem
from backprop_cli.kinds.exercise import load_problem
from tests.conftest import PROBLEMS, seed_files

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
