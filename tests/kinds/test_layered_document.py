"""A layered network's worked solution as the document model (issue 19): every format,
--handout, --statement, --decimals, and large tensors as tables."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.dom.minidom
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from backprop_cli.cli import cli
from backprop_cli.engine.layered import solve_layered
from backprop_cli.expr import Expr
from backprop_cli.kinds.exercise import load_exercise, parse_exercise
from backprop_cli.kinds.layered_text import worked_document
from backprop_cli.model.layered import LayeredProblem
from backprop_cli.numfmt import format_number
from backprop_cli.render.arithmetic import equations
from backprop_cli.render.layered_notation import layered_notation
from tests.conftest import PROBLEMS

CONV = PROBLEMS / "030_conv_pool_dropout.yaml"
RNN = PROBLEMS / "031_rnn_bptt.yaml"
CONV1D = PROBLEMS / "032_conv1d_stride_padding_avgpool.yaml"
LAYERED = [CONV, RNN, CONV1D]


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == code, result.output
    return result.output


def load(path: Path) -> LayeredProblem:
    problem = load_exercise(path)
    assert isinstance(problem, LayeredProblem)
    return problem


def large_network() -> str:
    """Issue 19's size limit: a 1×8×8 input with 4 filters 3×3."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 3, (1, 8, 8)).tolist()
    kernel = rng.integers(-1, 2, (4, 1, 3, 3)).tolist()
    return f"""\
network:
  inputs: {{shape: [1, 8, 8]}}
  layers:
    - {{type: conv2d, filters: 4, kernel: 3, weights: {kernel}, activation: relu}}
    - {{type: maxpool2d, size: 2}}
    - {{type: flatten}}
    - {{units: [o], activation: sigmoid, weights: [{[0.01] * 36}]}}
loss: half_squared_error
learning_rate: 0.1
input: {image}
target: [1]
"""


# ------------------------------------------------------------------ the document


@pytest.mark.parametrize("path", LAYERED, ids=lambda p: p.stem)
def test_every_equation_is_its_formula_on_the_engines_values(path: Path) -> None:
    # the formula written on the left of each equation, evaluated on the engine's values,
    # is the result written on the right: the document says what the engine computed
    solution = solve_layered(load(path))
    doc = worked_document(solution)
    shown = list(equations(doc.sections))
    assert len(shown) > 20
    for equation in shown:
        formula: Expr = equation.steps[0]
        assert equation.key is not None
        assert formula.evaluate(solution.values) == pytest.approx(
            solution.values[equation.key], rel=1e-12, abs=1e-15), equation.key


def test_the_symbols_of_layered_keys() -> None:
    problem = load(CONV)
    unicode, ascii_, latex = (layered_notation(style, problem) for style in
                              ("unicode", "ascii", "latex"))
    assert unicode.symbol("z.C[1,2,3]") == "z_C[1,2,3]"
    assert unicode.symbol("grad.z.C[1,3,1]") == "δ_C[1,3,1]"
    assert unicode.symbol("grad.K[1,1,2,2]") == "∂L/∂K[1,1,2,2]"
    assert unicode.symbol("new.K[1,1,1,2]") == "K[1,1,1,2]ⁿᵉʷ"
    assert unicode.symbol("input.x[1,2,3]") == "x[1,2,3]"
    assert unicode.symbol("a.o") == "ŷ"
    assert ascii_.symbol("grad.z.C[1,3,1]") == "delta_C[1,3,1]"
    assert latex.symbol("z.C[1,2,3]") == "z_{1,2,3}^{C}"
    assert latex.symbol("W5[1,4]") == "W_{1,4}^{[5]}"
    assert latex.symbol("grad.z.C[1,3,1]") == r"\delta_{1,3,1}^{C}"
    rnn = load(RNN)
    assert layered_notation("unicode", rnn).symbol("a.h#2") == "a_h⟨2⟩"
    assert layered_notation("latex", rnn).symbol("a.h#2") == r"a_{h}^{\langle 2\rangle}"


# ------------------------------------------------------------------ formats


@pytest.mark.parametrize("path", LAYERED, ids=lambda p: p.stem)
def test_every_format_is_written(path: Path) -> None:
    svg = run("solve", str(path), "--format", "svg")
    xml.dom.minidom.parseString(svg)  # well-formed XML
    html = run("solve", str(path), "--format", "html")
    assert "<math" in html and "<table>" in html
    assert "\x1b[" in run("solve", str(path), "--format", "rich")
    markdown = run("solve", str(path), "--format", "markdown")
    assert "```" not in markdown  # a document, not one block of text
    assert "## 2. Forward pass" in markdown and "## 4. Backward pass" in markdown
    assert "### Layer 1" in markdown and "$$" in markdown
    assert run("solve", str(path), "--format", "plain", "--ascii").isascii()
    latex = run("solve", str(path), "--format", "latex")
    assert latex.startswith(r"\documentclass") and r"\cdot" in latex
    assert r"\begin{verbatim}" not in latex.split(r"\maketitle", 1)[1].split(
        r"\section*", 1)[1]


def test_the_rules_are_mathematics_in_latex_and_html() -> None:
    latex = run("solve", str(CONV), "--format", "latex")
    assert r"\sum_{c} \sum_{p} \sum_{q} K_{f,c,p,q}" in latex
    assert r"\max(" in latex and r"\begin{longtable}" in latex
    # a tensor layer's value: one msubsup (z with its index below and its layer above)
    assert "<msubsup><mi>z</mi><mrow><mn>1</mn>" in run("solve", str(CONV), "--format", "html")
    html = run("solve", str(RNN), "--format", "html")
    assert "<mo>⟨</mo>" in html and "\\langle" not in html


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
@pytest.mark.parametrize("path", LAYERED, ids=lambda p: p.stem)
def test_the_latex_compiles(path: Path, tmp_path: Path) -> None:
    (tmp_path / "solution.tex").write_text(run("solve", str(path), "--format", "latex"),
                                           encoding="utf-8")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                           "solution.tex"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout[-3000:]
    assert (tmp_path / "solution.pdf").stat().st_size > 10_000


SAMPLES_AND_ADAM = """\
network:
  inputs: [x]
  layers:
    - {type: rnn, units: [h], activation: tanh, weights: [[0.5]], weight_names: [[w]],
       recurrent: [[0.9]], recurrent_names: [[u]], bias: 0.1, bias_names: [b]}
    - {units: [y], weights: [[1.5]], weight_names: [[v]]}
samples:
  - {sequence: [[1], [0.5]], targets: [[0.5], [0.2]]}
  - {sequence: [[0], [-1]], targets: [[0.1], [0.3]]}
loss_at: every
loss: half_squared_error
learning_rate: 0.1
steps: 2
optimizer: {name: adam}
"""


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_the_latex_of_samples_time_steps_and_adam_compiles(tmp_path: Path) -> None:
    # a sample's mark joins a time step's superscript: ŷ^{⟨1⟩,(1)}, never {ŷ^{⟨1⟩}}^{(1)}
    # (TeX unwraps a braced accent: a double superscript)
    path = tmp_path / "rnn.yaml"
    path.write_text(SAMPLES_AND_ADAM, encoding="utf-8")
    latex = run("solve", str(path), "--format", "latex", "--step", "2")
    assert r"\hat{y}^{\langle 1\rangle,(1)}" in latex
    (tmp_path / "solution.tex").write_text(latex, encoding="utf-8")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                           "solution.tex"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout[-3000:]


def test_a_large_tensor_becomes_a_table_and_the_solution_stays_short(tmp_path: Path) -> None:
    path = tmp_path / "large.yaml"
    path.write_text(large_network(), encoding="utf-8")
    plain = run("solve", str(path), "--format", "plain")
    markdown = run("solve", str(path), "--format", "markdown")
    # issue 19: "a 1×8×8 input with 4 filters stays under a few hundred lines"
    assert len(plain.splitlines()) < 400
    assert len(markdown.splitlines()) < 520
    assert "z_L1[1,1,1] to z_L1[4,6,6]" in plain  # every value of the 4×6×6 map, one table
    assert "δ_L1[1,1,1] to δ_L1[4,6,6]" in plain
    assert plain.count("∂L/∂a_L1[1,1,1] to ∂L/∂a_L1[4,6,6]") == 1  # once, not per layer
    assert "| 1,1 |" in markdown
    for fmt in ("latex", "html", "rich"):
        assert len(run("solve", str(path), "--format", fmt).splitlines()) < 700


# ------------------------------------------------------------------ handout, statement, decimals


def test_the_handout_has_no_published_values() -> None:
    full = run("solve", str(CONV), "--format", "plain")
    handout = run("solve", str(CONV), "--format", "plain", "--handout")
    assert full.count("✓ published") == 20  # every expected value, marked where worked
    assert "✓" not in handout and "published:" not in handout
    # the same worked solution: the full one with its marks taken out
    unmarked = [re.sub(r"\s*✓ published: \S+$", "", line) for line in full.splitlines()]
    assert [line for line in unmarked if line.strip()] == [
        line for line in handout.splitlines() if line.strip()]


def test_the_statement_is_the_problem_and_the_questions() -> None:
    text = run("solve", str(CONV), "--format", "plain", "--statement")
    assert "1. The problem" in text and "2. What to compute" in text
    assert "Forward pass" not in text and "published:" not in text
    assert "Work out these 20 values" in text
    assert "∂L/∂K[1,1,2,2]   grad.K[1,1,2,2]" in text
    assert "x[1,1,1] to x[1,4,4]" in text  # the given input
    markdown = run("solve", str(RNN), "--format", "markdown", "--statement")
    assert "| $z_{h}^{\\langle 1\\rangle}$ | z.h\\#1 |" in markdown


def test_decimals_write_fixed_point_numbers() -> None:
    text = run("solve", str(CONV), "--format", "plain", "--decimals", "3")
    # z_C[1,1,1] = 1·1 + 0·2 + 0·0 + (−1)·1 + 0.5 = 0.5, written with 3 decimals
    assert "+ 0.500 = 0.500" in text
    assert "L = ½·(y − ŷ)² = ½·(1 − 0.990)²" in text


def test_what_is_not_available_says_why() -> None:
    output = run("solve", str(CONV), "--format", "plain", "--handout", "--statement", code=2)
    assert "two documents" in output
    output = run("solve", str(CONV), "--format", "json", "--decimals", "2", code=2)
    assert "full precision" in output


def test_a_parsed_network_renders_without_a_file() -> None:
    problem = parse_exercise(large_network(), "t.yaml")
    assert isinstance(problem, LayeredProblem)
    doc = worked_document(solve_layered(problem))
    assert [section.title[0] for section in doc.sections][:2] == ["1. The problem",
                                                                   "2. Forward pass"]


def test_step_k_shows_the_parameters_it_starts_from(tmp_path: Path) -> None:
    # --step 3 works step 3: its problem section gives the parameters after two updates,
    # computed here by solving one step at a time from a file rewritten with the new ones
    text = RNN.read_text(encoding="utf-8").split("expected:")[0]
    values = {"w": 0.5, "u": 0.9, "b": 0.1, "v": 1.5}
    for _ in range(2):
        problem = parse_exercise(text, "t.yaml", steps=1)
        assert isinstance(problem, LayeredProblem)
        new = solve_layered(problem).values
        for name, old in values.items():
            text = text.replace(f"[[{old!r}]]", f"[[{new['new.' + name]!r}]]").replace(
                f"bias: {old!r}", f"bias: {new['new.' + name]!r}")
            values[name] = new["new." + name]
    out = run("solve", str(RNN), "--steps", "3", "--step", "3", "--format", "plain")
    section = out.split("Parameters at the start of step 3")[1].split("2. Forward pass")[0]
    assert section.splitlines()[0] == " (after 2 updates; the file's are step 1's)"
    assert [line for line in section.splitlines()[2:] if line] == [
        f"{name} = {format_number(value, 4).replace('-', '−')}"
        for name, value in values.items()]
    assert "w = 0.5\n" not in section  # not the file's (step 1's)
    one = run("solve", str(RNN), "--format", "plain")
    assert "Starting parameters\n" in one and "Parameters at the start" not in one
