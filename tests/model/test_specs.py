"""One spec per variant: a variant registered at run time works in every command, untouched.

Each fixture registers a new activation (softsign) or loss (mean absolute error) the
way an extension would, with nothing else edited, and removes it afterwards. The
commands then solve (every format), check, quiz and gradcheck a file that uses it.
The last tests hold the registries and the docs together: every registered variant
has its row in docs/format.md and its place in the schema's enums.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from backprop_cli.cli import cli
from backprop_cli.expr import (
    FUNCTIONS,
    Call,
    Const,
    Expr,
    Piecewise,
    Power,
    Quotient,
    Ref,
    add,
    mul,
    sub,
)
from backprop_cli.files.schema import problem_schema
from backprop_cli.model.activations import (
    ACTIVATION_NAMES,
    ACTIVATIONS,
    ALIASES,
    ActivationSpec,
    make_activation,
    register_activation,
    unregister_activation,
)
from backprop_cli.model.losses import LOSSES, LossSpec, make_loss, register_loss, unregister_loss
from backprop_cli.model.optimizers import (
    OPTIMIZERS,
    FormulaParts,
    Optimizer,
    OptimizerSpec,
    Updater,
    register_optimizer,
    unregister_optimizer,
)
from tests.conftest import ROOT

Array = Any
ONE = Const(1.0)

# softsign: a = z/(1 + |z|), f'(z) = 1/(1 + |z|)² = (1 − |a|)², written by the sign of z
SOFTSIGN = ActivationSpec(
    "softsign", "softsign",
    forward=lambda z, alpha: z / (1.0 + np.abs(z)),
    scalar=lambda args, params: args[0] / (1.0 + abs(args[0])),
    derivative=lambda z, a, alpha: np.where(z > 0, (1.0 - a) ** 2, (1.0 + a) ** 2),
    derivative_expr=lambda z, a, alpha: Piecewise(z, Power(sub(ONE, a), 2),
                                                  Power(add(ONE, a), 2)),
    symbol="softsign", saturating=True, outputs="symmetric_unit")

NETWORK = """\
title: softsign net
network:
  inputs: [x1, x2]
  layers:
    - {units: [h1, h2], activation: softsign, weights: [[0.5, -0.4], [0.3, 0.8]],
       bias: [0.1, -0.2]}
    - {units: [o], activation: softsign, weights: [[0.7, -0.6]], bias: [0.05]}
loss: half_squared_error
learning_rate: 0.1
input: [1, 2]
target: 0.5
"""


@pytest.fixture
def softsign() -> Iterator[ActivationSpec]:
    spec = register_activation(SOFTSIGN)
    try:
        yield spec
    finally:
        unregister_activation("softsign")
    assert "softsign" not in ACTIVATIONS and "softsign" not in FUNCTIONS


def invoke(*args: str, answers: str | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), input=answers)


def write(tmp_path: Path, text: str, name: str = "net.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_unknown_before_registration_and_after_removal(tmp_path: Path) -> None:
    path = write(tmp_path, NETWORK)
    result = invoke("solve", path, "--format", "plain")
    assert result.exit_code == 1
    assert "unknown activation 'softsign'" in result.output
    register_activation(SOFTSIGN)
    try:
        assert invoke("solve", path, "--format", "plain").exit_code == 0
        with pytest.raises(ValueError, match="taken"):
            register_activation(SOFTSIGN)
    finally:
        unregister_activation("softsign")
    assert invoke("solve", path, "--format", "plain").exit_code == 1


def test_solve_plain_writes_the_new_function(softsign: ActivationSpec, tmp_path: Path) -> None:
    result = invoke("solve", write(tmp_path, NETWORK), "--format", "plain")
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.output.splitlines()]
    assert "Network: 2 inputs → 2 hidden (softsign) → 1 output (softsign)" in lines
    assert "a_h1 = softsign(z_h1) = softsign(−0.2) = −0.1667" in lines
    assert "a_h2 = softsign(z_h2) = softsign(1.7) = 0.6296" in lines
    assert ("softsign′(z_h1) = (1 + a_h1)² = (1 + (−0.1667))² = 0.8333² = 0.6944, "
            "since z_h1 = −0.2 ≤ 0") in lines
    assert ("softsign′(z_h2) = (1 − a_h2)² = (1 − 0.6296)² = 0.3704² = 0.1372, "
            "since z_h2 = 1.7 > 0") in lines


@pytest.mark.parametrize("fmt,expected", [
    ("rich", "softsign(z_h1)"),
    ("markdown", r"\operatorname{softsign}"),
    ("latex", r"\operatorname{softsign}"),
    ("html", '<mi mathvariant="normal">softsign</mi>'),  # MathML
    ("svg", "softsign(z_h1)"),
])
def test_solve_every_format(softsign: ActivationSpec, tmp_path: Path, fmt: str,
                            expected: str) -> None:
    result = invoke("solve", write(tmp_path, NETWORK), "--format", fmt)
    assert result.exit_code == 0, result.output
    text = result.output.replace("&#x27;", "'")
    if fmt == "svg":  # rich's SVG writes each space as &#160;
        text = text.replace("&#160;", " ")
    assert expected in text


def test_solve_json_values(softsign: ActivationSpec, tmp_path: Path) -> None:
    result = invoke("solve", write(tmp_path, NETWORK), "--format", "json")
    assert result.exit_code == 0, result.output
    values = json.loads(result.output)["values"]
    for unit in ("h1", "h2", "o"):
        z = values[f"z.{unit}"]
        assert values[f"a.{unit}"] == z / (1.0 + abs(z))
        a = values[f"a.{unit}"]
        assert values[f"dadz.{unit}"] == ((1.0 - a) ** 2 if z > 0 else (1.0 + a) ** 2)
    assert values["z.h1"] == pytest.approx(-0.2)
    assert values["a.h1"] == pytest.approx(-1.0 / 6.0)
    assert values["dadz.h1"] == pytest.approx(25.0 / 36.0)
    # ASCII and the check report's key notation fall back on the spec's symbol and name
    ascii_out = invoke("solve", write(tmp_path, NETWORK), "--format", "plain", "--ascii")
    assert "a_h1 = softsign(z_h1) = softsign(-0.2) = -0.1667" in ascii_out.output


def test_check_correct_and_wrong(softsign: ActivationSpec, tmp_path: Path) -> None:
    right = write(tmp_path, NETWORK + "expected:\n  a.h1: -0.1667\n  dadz.h1: 0.6944\n"
                  "  a.o: -0.3077\n", "right.yaml")
    result = invoke("check", right)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == f"{right}: passed (3 values: 3 correct)"
    # a wrong a.h1; dadz.h1 and a.o right from the file's own numbers (the spec's
    # derivative formula and its scalar function, evaluated by the checker)
    wrong = write(tmp_path, NETWORK + "expected:\n  a.h1: -0.25\n  dadz.h1: 0.5625\n"
                  "  z.o: -0.5\n  a.o: -0.3333\n", "wrong.yaml")
    result = invoke("check", wrong, "-v")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{wrong}: failed (4 values: 1 wrong, 3 consistent)",
        "  first wrong value: a.h1 (line 13)",
        "  ✗ a.h1 = -0.25 in the file, but it is -0.166667 (off by -0.0833)",
        "      a_h1 = softsign(z_h1) = softsign(−0.2) = −0.1667 from the file's own numbers",
        "  ≈ dadz.h1 = 0.5625 (consistent): follows from your wrong a.h1 = -0.25 (carried "
        "forward)",
        "  ≈ z.o = -0.5 (consistent): follows from your wrong a.h1 = -0.25 (carried forward)",
        "  ≈ a.o = -0.3333 (consistent): follows from your wrong z.o = -0.5 (carried forward)",
        "0 passed, 1 failed",
    ]


def test_quiz(softsign: ActivationSpec, tmp_path: Path) -> None:
    path = write(tmp_path, NETWORK + "quiz: [a.h1, dadz.h1, a.h2, dadz.h2]\n")
    result = invoke("quiz", path, "--no-given", answers="-0.1667\n0.64\n0.6296\n?\n\n")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:] == [
        "4 questions in computation order. Type a number (0.824, -.5, 1e-3, 1/2); Enter to "
        "skip, '?' for the formula, 'q' to stop.",
        "[1/4] a.h1 (activation a_h1) = -0.1667",
        "  ✓ right (a.h1 = -0.166667)",
        "[2/4] dadz.h1 (derivative softsign′(z_h1)) = 0.64",
        "  ✗ wrong: dadz.h1 = 0.694444",
        "    softsign′(z_h1) = ((1 − a_h1)² if z_h1 > 0, else (1 + a_h1)²) = ((1 − (−0.1667))² "
        "if −0.2 > 0, else (1 + (−0.1667))²) = 0.694389 from your earlier answers",
        "[3/4] a.h2 (activation a_h2) = 0.6296",
        "  ✓ right (a.h2 = 0.62963)",
        "[4/4] dadz.h2 (derivative softsign′(z_h2)) = ?",
        "  softsign′(z_h2) = ((1 − a_h2)² if z_h2 > 0, else (1 + a_h2)²)",
        "[4/4] dadz.h2 (derivative softsign′(z_h2)) = ",
        "  skipped: dadz.h2 = 0.137174",
        "Score: 2/4 (2 right, 0 carried forward, 1 wrong, 1 skipped)",
    ]


def test_gradcheck(softsign: ActivationSpec, tmp_path: Path) -> None:
    result = invoke("gradcheck", write(tmp_path, NETWORK))
    assert result.exit_code == 0, result.output
    assert "all 9 compared gradients agree" in result.output
    data = json.loads(invoke("gradcheck", write(tmp_path, NETWORK), "--format",
                             "json").output)
    assert data["passed"] is True
    assert [p["verdict"] for p in data["parameters"]] == ["ok"] * 9


def test_schema_lists_a_registered_activation(softsign: ActivationSpec) -> None:
    assert "softsign" in _activation_enum(problem_schema())


# ------------------------------------------------------------------ a new loss


def _abs(d: Expr, minus_d: Expr) -> Expr:
    return Piecewise(d, d, minus_d)


def _mae_expr(a: list[str], y: list[str]) -> Expr:
    terms = add(*(_abs(sub(Ref(yk), Ref(ak)), sub(Ref(ak), Ref(yk)))
                  for ak, yk in zip(a, y, strict=True)))
    return mul(Const(1.0 / len(a), f"1/{len(a)}"), terms) if len(a) > 1 else terms


# mean absolute error: L = (1/n)·Σ|y − a|, ∂L/∂a = sign(a − y)/n (−1/n where a = y)
MAE = LossSpec(
    "mean_absolute_error", "mean absolute error (1/n)·Σ|y − a|",
    per_sample=lambda z, a, y, act: np.mean(np.abs(y - a), axis=1),
    grad_a=lambda z, a, y, act: np.where(a - y > 0, 1.0, -1.0) / a.shape[1],
    expr=_mae_expr,
    grad_a_expr=lambda a, y, n: Piecewise(sub(Ref(a), Ref(y)), Const(1.0 / n), Const(-1.0 / n)))

REGRESSION = """\
title: absolute error
network:
  inputs: [x]
  layers:
    - {units: [h], activation: tanh, weights: [[0.5]], bias: [0.1]}
    - {units: [o1, o2], weights: [[0.8], [-0.3]], bias: [0.2, 0.0]}
loss: mean_absolute_error
learning_rate: 0.1
input: [2]
target: [1, 0.5]
"""


@pytest.fixture
def mae() -> Iterator[LossSpec]:
    spec = register_loss(MAE)
    try:
        yield spec
    finally:
        unregister_loss("mean_absolute_error")


def test_a_new_loss_in_every_command(mae: LossSpec, tmp_path: Path) -> None:
    path = write(tmp_path, REGRESSION)
    plain = invoke("solve", path, "--format", "plain")
    assert plain.exit_code == 0, plain.output
    assert "Loss:          mean absolute error: L = 1/2·((y_o1 − a_o1 if y_o1 − a_o1 > 0, " \
        "else a_o1 − y_o1) +" in plain.output
    for fmt in ("rich", "markdown", "html", "svg"):
        assert invoke("solve", path, "--format", fmt).exit_code == 0
    values = json.loads(invoke("solve", path, "--format", "json").output)["values"]
    a1, a2 = values["a.o1"], values["a.o2"]
    assert values["loss"] == np.mean(np.abs(np.array([1.0, 0.5]) - np.array([a1, a2])))
    assert values["grad.a.o1"] == (0.5 if a1 > 1.0 else -0.5)
    assert values["grad.a.o2"] == (0.5 if a2 > 0.5 else -0.5)
    # check: the loss recomputed from a wrong output is consistent
    wrong = write(tmp_path, REGRESSION + "expected:\n  a.o1: 0.95\n  loss: 0.3\n", "w.yaml")
    result = invoke("check", wrong, "-v")
    assert result.exit_code == 1
    assert ("  ≈ loss = 0.3 (consistent): follows from your wrong a.o1 = 0.95 (carried "
            "forward)") in result.output.splitlines()
    assert "first wrong value: a.o1" in result.output
    quiz = invoke("quiz", write(tmp_path, REGRESSION + "quiz: [loss]\n"), "--no-given",
                  answers=f"{values['loss']:.6f}\n")
    assert "  ✓ right" in quiz.output
    grad = invoke("gradcheck", path)
    assert grad.exit_code == 0, grad.output


def test_loss_constraints_come_from_the_spec(tmp_path: Path) -> None:
    strict = LossSpec(
        "unit_loss", "unit loss", per_sample=MAE.per_sample, grad_a=MAE.grad_a,
        expr=MAE.expr, grad_a_expr=MAE.grad_a_expr, targets="unit_interval",
        output_activations=("sigmoid",))
    register_loss(strict)
    try:
        text = REGRESSION.replace("mean_absolute_error", "unit_loss")
        result = invoke("solve", write(tmp_path, text), "--format", "plain")
        assert result.exit_code == 1
        assert ("loss unit_loss takes the log of the outputs, so the output layer (layer 2) "
                "needs the sigmoid activation, found identity") in result.output
        text = text.replace("layers:\n", "layers:\n").replace(
            "bias: [0.2, 0.0]}", "bias: [0.2, 0.0], activation: sigmoid}").replace(
            "target: [1, 0.5]", "target: [1, 1.5]")
        result = invoke("solve", write(tmp_path, text), "--format", "plain")
        assert result.exit_code == 1
        assert "target for 'o2' is 1.5, but unit_loss needs targets in [0, 1]" in result.output
    finally:
        unregister_loss("unit_loss")


# ------------------------------------------------------------------ a new optimizer


def _rmsprop_formula(opt: Optimizer, kind: str, x: FormulaParts) -> Expr | None:
    rho = opt.setting("rho")
    if kind == "s":
        return add(mul(Const(rho, role="rho"), x.prev("s")),
                   mul(Const(round(1.0 - rho, 15), role="one_minus_rho"), Power(x.g, 2)))
    if kind == "new":
        root = add(Call("sqrt", (x.ref("s"),)), Const(opt.setting("epsilon"), role="epsilon"))
        return sub(x.p, mul(x.rate, Quotient(x.g, root)))
    return None


def _rmsprop_step(u: Updater, params: Array, g: Array) -> None:
    s, work = u.state["s"], u.work
    u.scale(s, u.settings["rho"])
    np.multiply(g, g, out=work)
    u.move(s, np.multiply(work, u.constants["c"], out=work), np.add)
    np.sqrt(s, out=work)
    np.add(work, u.settings["epsilon"], out=work)
    np.divide(g, work, out=work)
    u.move(params, np.multiply(work, u.lr, out=work), np.subtract)


# RMSprop: s = ρ·s_prev + (1 − ρ)·g², new = p − η·g/(√s + ε); its state is the kind 's'
RMSPROP = OptimizerSpec(
    "rmsprop", _rmsprop_formula, _rmsprop_step, settings=(("rho", 0.9), ("epsilon", 1e-8)),
    positive=("epsilon",), kinds=("s",), words=(("s", "mean square"),),
    prepare=lambda settings: {"c": round(1.0 - settings["rho"], 15)})

TRAINED = """\
title: rmsprop
network:
  inputs: [x]
  layers:
    - {units: [o], activation: sigmoid, weights: [[0.5]], weight_names: [[w1]], bias: [0.1],
       bias_names: [b1]}
loss: half_squared_error
learning_rate: 0.1
optimizer: {name: rmsprop, rho: 0.8}
steps: 2
input: [1]
target: 1
"""


@pytest.fixture
def rmsprop() -> Iterator[OptimizerSpec]:
    spec = register_optimizer(RMSPROP)
    try:
        yield spec
    finally:
        unregister_optimizer("rmsprop")


def test_a_new_optimizer_in_every_command(rmsprop: OptimizerSpec, tmp_path: Path) -> None:
    path = write(tmp_path, TRAINED)
    plain = invoke("solve", path, "--format", "plain")
    assert plain.exit_code == 0, plain.output
    lines = plain.output.splitlines()
    assert "Rmsprop (rho = 0.8, epsilon = 1e-08), η = 0.1. For w1:" in lines
    assert ("s_w1 = 0.8·0 + 0.2·∂L/∂w1² = 0.8·0 + 0.2·(−0.08107)² = 0 + 0.2·0.006572 "
            "= 0 + 0.001314 = 0.001314") in lines
    assert "w1ⁿᵉʷ = w1 − η·((∂L/∂w1)/(√s_w1 + 1e-8)) = 0.5 − 0.1·(−0.08107/(√0.001314 + 1e-8))" \
        in lines
    for fmt in ("rich", "markdown", "html", "svg"):
        assert invoke("solve", path, "--format", fmt).exit_code == 0
    values = json.loads(invoke("solve", path, "--format", "json").output)["values"]
    s = 0.0
    w = 0.5
    for prefix in ("", "step2."):
        g = values[f"{prefix}grad.w1"]
        s = 0.8 * s + 0.2 * g * g
        w = w - 0.1 * g / (np.sqrt(s) + 1e-8)
        assert values[f"{prefix}s.w1"] == pytest.approx(s, rel=1e-14)
        assert values[f"{prefix}new.w1"] == pytest.approx(w, rel=1e-14)
    # check: a wrong s.w1, and new.w1 right from it (the spec's formula, evaluated)
    s1 = values["s.w1"]
    new = 0.5 - 0.1 * values["grad.w1"] / (np.sqrt(2 * s1) + 1e-8)
    wrong = write(tmp_path, TRAINED + f"expected:\n  s.w1: {2 * s1:.6g}\n  new.w1: {new:.6g}\n",
                  "wrong.yaml")
    result = invoke("check", wrong, "-v")
    assert result.exit_code == 1
    assert "first wrong value: s.w1" in result.output
    assert (f"  ≈ new.w1 = {new:.6g} (consistent): follows from your wrong "
            f"s.w1 = {2 * s1:.6g} (carried forward)") in result.output.splitlines()
    quiz = invoke("quiz", write(tmp_path, TRAINED + "quiz: [s.w1]\n"), "--no-given",
                  answers=f"{s1:.6g}\n")
    assert f"[1/1] s.w1 (mean square s_w1) = {s1:.6g}" in quiz.output.splitlines()
    assert f"  ✓ right (s.w1 = {s1:.6g})" in quiz.output.splitlines()
    train = invoke("train", path, "--steps", "5")
    assert train.exit_code == 0, train.output
    assert "rmsprop (rho = 0.8, epsilon = 1e-08), learning rate 0.1: 5 of 5 steps" in train.output
    grad = invoke("gradcheck", path)
    assert grad.exit_code == 0, grad.output


def test_a_new_optimizer_is_named_in_messages(rmsprop: OptimizerSpec, tmp_path: Path) -> None:
    text = TRAINED.replace("{name: rmsprop, rho: 0.8}", "{name: rmsprop, rho: 1.5}")
    result = invoke("solve", write(tmp_path, text), "--format", "plain")
    assert result.exit_code == 1
    assert "optimizer rho must be below 1 (a decay rate), found 1.5" in result.output
    text = TRAINED.replace("{name: rmsprop, rho: 0.8}", "rmsprp")
    result = invoke("solve", write(tmp_path, text), "--format", "plain")
    assert "unknown optimizer 'rmsprp' (did you mean 'rmsprop'?)" in result.output
    with pytest.raises(ValueError, match="not one of the key grammar's"):
        register_optimizer(OptimizerSpec("odd", _rmsprop_formula, _rmsprop_step, kinds=("r",)))


# ------------------------------------------------------------------ registries and docs


def _activation_enum(schema: dict[str, Any]) -> list[str]:
    return list(schema["$defs"]["activation"]["anyOf"][0]["enum"])


def _format_rows(heading: str) -> str:
    text = (ROOT / "docs" / "format.md").read_text()
    return text.split(heading, 1)[1].split("\n## ", 1)[0]


def test_every_activation_has_its_docs_row_and_schema_entry() -> None:
    rows = _format_rows("Activations (f(z)")
    documented = re.findall(r"^\| `(\w+)`", rows, re.MULTILINE)
    assert documented == ACTIVATION_NAMES
    assert _activation_enum(problem_schema()) == [*ACTIVATION_NAMES, *ALIASES]
    for name, spec in ACTIVATIONS.items():
        row = next(line for line in rows.splitlines() if line.startswith(f"| `{name}`"))
        for alias in spec.aliases:
            assert f"`{alias}`" in row
        if spec.default_alpha is not None:
            assert f"`{spec.param_key}`, default {spec.default_alpha:g}" in row


def test_every_loss_has_its_docs_row_and_schema_entry() -> None:
    rows = _format_rows("## Loss and reduction")
    body = rows.split("| --- |", 1)[1]  # the rows under the table's header
    assert re.findall(r"^\| `(\w+)` \|", body, re.MULTILINE) == list(LOSSES)
    assert problem_schema()["properties"]["loss"]["enum"] == [*LOSSES, "none"]
    for name, spec in LOSSES.items():
        assert f"{name}: {spec.label}" in problem_schema()["properties"]["loss"]["description"]


def test_every_optimizer_has_its_docs_row_and_schema_entry() -> None:
    rows = _format_rows("## Training settings")
    row = next(line for line in rows.splitlines() if line.startswith("| `optimizer` |"))
    for name, spec in OPTIMIZERS.items():
        assert f"`{name}`" in row
        written = re.search(rf"\{{name: {name}, ([^}}]*)\}}", row)
        given = dict(part.split(": ") for part in written.group(1).split(", ")) if written else {}
        assert {k: float(v) for k, v in given.items()} == dict(spec.settings)
        assert re.search(rf"`{name}`\s", rows.split("The updates,", 1)[1])  # its rule
    schema = problem_schema()["$defs"]["optimizer"]["anyOf"]
    assert schema[0]["enum"] == list(OPTIMIZERS)


# ------------------------------------------------------------------ constants by role

ADAM = """\
title: adam
network:
  inputs: [x]
  layers:
    - {units: [o], activation: sigmoid, weights: [[0.5]], weight_names: [[w1]], bias: [0.1],
       bias_names: [b1]}
loss: half_squared_error
learning_rate: 0.1
optimizer: adam
weight_decay: 0.1
input: [1]
target: 1
"""


def test_a_constant_equal_to_the_learning_rate_is_not_eta(tmp_path: Path) -> None:
    """1 − β₁ = 0.1, λ = 0.1 and 1 − β₁¹ = 0.1 equal η = 0.1 but are not η: a formula's
    constants are written by what they are (their role), never by their value."""
    result = invoke("solve", write(tmp_path, ADAM), "--format", "plain")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert ("m_w1 = 0.9·0 + 0.1·(∂L/∂w1 + 0.1·w1) = 0.9·0 + 0.1·(−0.08107 + 0.1·0.5) "
            "= 0 + 0.1·(−0.08107 + 0.05)") in lines
    assert "s_w1 = 0.999·0 + 0.001·(∂L/∂w1 + 0.1·w1)² = 0.999·0 + 0.001·(−0.08107 + 0.1·0.5)²" \
        in lines
    assert "m̂_w1 = m_w1/0.1 = −0.003107/0.1 = −0.03107" in lines
    # the learning rate itself is still η
    assert ("w1ⁿᵉʷ = w1 − η·(m̂_w1/(√ŝ_w1 + 1e-8)) = 0.5 − 0.1·(−0.03107/(√0.0009652 + 1e-8))"
            in lines)
    markdown = invoke("solve", write(tmp_path, ADAM), "--format", "markdown").output
    assert (r"m_{w1} &= 0.9 \cdot 0 + 0.1 \cdot \left(\frac{\partial L}{\partial w_{1}} + "
            r"0.1 \cdot w_{1}\right) \\") in markdown.splitlines()


def test_sgd_writes_the_rate_by_its_role(tmp_path: Path) -> None:
    text = ADAM.replace("optimizer: adam\n", "").replace("weight_decay: 0.1\n", "")
    lines = invoke("solve", write(tmp_path, text), "--format", "plain").output.splitlines()
    assert any(line.startswith("w1ⁿᵉʷ = w1 − η·∂L/∂w1 = 0.5 − 0.1·") for line in lines)


# ------------------------------------------------------------------ each spec agrees with itself

GRID = [-40.0, -3.0, -1.0, -0.5, -1e-3, 0.0, 1e-3, 0.5, 1.0, 3.0, 40.0]


@pytest.mark.parametrize("name", [n for n, s in ACTIVATIONS.items() if not s.per_layer])
def test_an_activation_spec_agrees_with_itself(name: str) -> None:
    """The vectorised forward and derivative (the engine's), the scalar function and the
    derivative formula (the checker's) of one spec give the same numbers."""
    act = make_activation(name)
    z = np.array([GRID])
    a = act.forward(z)
    d = act.derivative(z, a)
    for j, zj in enumerate(GRID):
        values = {"z": zj, "a": float(a[0, j])}
        assert act.expr("z").evaluate(values) == pytest.approx(a[0, j], rel=1e-15, abs=1e-300)
        assert act.derivative_expr("z", "a").evaluate(values) == pytest.approx(
            d[0, j], rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("name", list(LOSSES))
def test_a_loss_spec_agrees_with_itself(name: str) -> None:
    """per_sample and grad_a (numbers) against expr and grad_a_expr (formulas)."""
    spec = LOSSES[name]
    outputs = max(2, spec.min_outputs)
    a = np.array([[0.3, 0.7], [0.6, 0.4]])[:, :outputs]
    y = np.array([[0.0, 1.0], [1.0, 0.0]])[:, :outputs]
    keys_a, keys_y = ["a1", "a2"], ["y1", "y2"]
    loss = make_loss(name)
    per_sample = loss.per_sample(a, a, y, "")
    grad = loss.grad_a(a, a, y, "")
    for k in range(2):
        values = {**dict(zip(keys_a, a[k], strict=True)), **dict(zip(keys_y, y[k], strict=True))}
        assert loss.expr(keys_a, keys_y).evaluate(values) == pytest.approx(per_sample[k],
                                                                           rel=1e-14)
        for j in range(outputs):
            formula = loss.grad_a_expr(keys_a[j], keys_y[j], outputs)
            assert formula.evaluate(values) == pytest.approx(grad[k, j], rel=1e-14)
