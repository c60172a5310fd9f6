"""`backprop derive` and `kind: derivative` problem files: the seed's calculus warm-ups."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from backprop_cli.app.batch_check import check_file
from backprop_cli.cli import cli
from backprop_cli.errors import ProblemError
from backprop_cli.kinds.derivative import (
    DerivationError,
    DerivativeProblem,
    check,
    load,
    make_derivation,
    parse,
    work,
    worked_lines,
)
from backprop_cli.kinds.exercise import load_exercise, parse_exercise
from backprop_cli.model.problem import Problem
from tests.conftest import PROBLEMS

POLYNOMIAL = PROBLEMS / "003e_derivative_polynomial.yaml"
PARTIALS = PROBLEMS / "003f_partial_derivatives.yaml"
CHAIN = PROBLEMS / "003g_chain_rule.yaml"


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args))


# ------------------------------------------------------------ the seed's numbers


def test_polynomial_slope_2_predicts_0_2_and_changes_0_231() -> None:
    worked = work(make_derivation("x^3 - 3*x^2 + 2*x + 1", at={"x": 2}, step={"x": 0.1}))
    values = worked.values
    assert worked.formulas["formula.x"] == "3*x^2 - 6*x + 2"
    assert values["value"] == 1
    assert values["derivative.x"] == 2
    assert values["predicted_change"] == pytest.approx(0.2, abs=1e-15)
    assert values["actual_change"] == pytest.approx(0.231, abs=1e-12)
    assert values["new_value"] == pytest.approx(1.231, abs=1e-12)


def test_partials_6_and_8_predict_2_2_and_change_2_25() -> None:
    worked = work(make_derivation("f(x, y) = x^2 + y^2", at={"x": 3, "y": 4},
                                step={"x": 0.1, "y": 0.2}))
    values = worked.values
    assert (values["derivative.x"], values["derivative.y"]) == (6, 8)
    assert values["value"] == 25
    assert values["predicted_change"] == pytest.approx(2.2, abs=1e-12)
    assert values["actual_change"] == pytest.approx(2.25, abs=1e-12)
    assert worked.formulas == {"formula.x": "2*x", "formula.y": "2*y"}


def test_chain_rule_4y_is_8x_plus_12() -> None:
    worked = work(make_derivation("z = y^2", chain={"y": "2*x + 3"}, at={"x": 2}))
    assert worked.formulas == {"formula.z.y": "2*y", "formula.y.x": "2", "formula.y": "2*y",
                               "formula.x": "8*x + 12"}
    text = "\n".join(worked_lines(worked))
    assert "dz/dx = dz/dy · dy/dx = (2y)·(2) = 4y" in text
    assert "= 4(2x + 3) = 8x + 12    (substituting y = 2x + 3)" in text
    assert worked.values["value.y"] == 7
    assert worked.values["derivative.z.y"] == 14
    assert worked.values["derivative.x"] == 28  # 8·2 + 12


def test_the_network_chain_as_calculus_gives_minus_72_and_7_2_vs_7_12() -> None:
    """The seed's ŷ = x·w1·w2 → L written as a chain: ∂L/∂w2 = −72, −7.2 against −7.12."""
    worked = work(make_derivation("L = 0.5*(t - yhat)^2", chain={"yhat": "h*w2", "h": "x*w1"},
                                at={"t": 20, "x": 2, "w1": 2, "w2": 0.5}, step={"w2": 0.1}))
    values = worked.values
    assert worked.formulas["formula.L.yhat"] == "yhat - t"
    assert (values["derivative.L.yhat"], values["derivative.w1"], values["derivative.w2"]) == (
        -18, -18, -72)
    assert values["predicted_change"] == pytest.approx(-7.2)
    assert values["actual_change"] == pytest.approx(-7.12)


def test_worked_lines_read_like_the_seed() -> None:
    worked = work(make_derivation("x^3 - 3*x^2 + 2*x + 1", at={"x": 2}, step={"x": 0.1}))
    lines = worked_lines(worked)
    assert lines[:3] == ["f(x) = x³ − 3x² + 2x + 1", "", "f'(x) = 3x² − 6x + 2"]
    assert "  f'(2) = 3(2)² − 6(2) + 2 = 2" in lines
    assert "  predicted  Δf ≈ f'(2)·Δx = 2·0.1 = 0.2" in lines
    assert "  actual     Δf = f(2.1) − f(2) = 1.231 − 1 = 0.231" in lines


def test_exercise_mistakes() -> None:
    with pytest.raises(DerivationError, match="circular: y → z2 → y"):
        make_derivation("z = y", chain={"y": "z2 + x", "z2": "y*2"})
    with pytest.raises(DerivationError, match="does not depend on q"):
        make_derivation("z = y^2", chain={"y": "x", "q": "x"})
    with pytest.raises(DerivationError, match="give a value for y"):
        make_derivation("x*y", at={"x": 1})
    with pytest.raises(DerivationError, match="'y' is computed from the chain"):
        make_derivation("z = y^2", chain={"y": "2*x"}, at={"x": 1, "y": 2})
    with pytest.raises(DerivationError, match="a step needs a point"):
        make_derivation("x^2", step={"x": 0.1})


# ------------------------------------------------------------------ files


@pytest.mark.parametrize("path", [POLYNOMIAL, PARTIALS, CHAIN], ids=lambda p: p.stem)
def test_seed_files_are_correct(path: Path) -> None:
    assert isinstance(load_exercise(path), DerivativeProblem)
    results = check(load(path))
    assert results and all(r.verdict == "correct" for r in results), [
        (r.key, r.verdict) for r in results]


def test_network_files_are_not_derivative_files() -> None:
    assert isinstance(load_exercise(PROBLEMS / "003a_chain_x_w1_w2.yaml"), Problem)


def test_an_unknown_kind_is_named() -> None:
    with pytest.raises(ProblemError, match=r"^<input>:1:7: unknown kind 'derivatve' "
                                           r"\(did you mean 'derivative'\?\)$"):
        parse_exercise("kind: derivatve\nfunction: x^2\n")


WRONG = """kind: derivative
function: "z = y^2"
chain:
  y: "2*x + 3"
at: {x: 2}
step: {x: 0.1}
expected:
  formula.z.y: "3*y"
  formula.x: "6*y"
  derivative.z.y: 21
  derivative.x: 42
  value: 49
  predicted_change: 4.2
  actual_change: 2.7
"""


def test_verdicts_carry_an_authors_error_forward() -> None:
    verdicts = {r.key: r.verdict for r in check(parse(WRONG))}
    assert verdicts == {
        "formula.z.y": "wrong",       # dz/dy = 2y
        "formula.x": "consistent",    # (3y)·2 from the author's own link
        "value": "correct",
        "derivative.z.y": "wrong",
        "derivative.x": "consistent",  # 21·2 from the author's own dz/dy
        "predicted_change": "consistent",  # 42·0.1
        "actual_change": "wrong",     # 51.84 − 49 = 2.84
    }


def test_a_wrong_formula_says_where_it_differs() -> None:
    result = next(r for r in check(parse(WRONG)) if r.key == "formula.z.y")
    assert result.text == "3*y (= 21 at x = 2)"
    assert (result.expected, result.actual) == (21, 14)
    assert result.reason == "not the derivative: it is 2*y"


@pytest.mark.parametrize("text,message", [
    ("kind: derivative\nfunction: \"x + foo(1)\"\n",
     "<t>:2:16: function: unknown function 'foo'"),
    ("kind: derivative\nfunction: x^2\nat: {y: 2}\n", "<t>:3:5: at: no variable 'y'"),
    ("kind: derivative\nfunction: x^2\nexpected:\n  derivative.x: 4\n",
     "<t>:4:3: expected 'derivative.x' is a value at a point: give 'at'"),
    ("kind: derivative\nfunction: x^2\nexpected:\n  derivativ.x: 4\n",
     "<t>:4:3: expected: unknown value key 'derivativ.x' (did you mean 'derivative.x'?)"),
    ("kind: derivative\nfunction: x^2\nexpected:\n  formula.x: \"2*q\"\n",
     "<t>:4:14: expected 'formula.x' uses q"),
    ("kind: derivative\nfunction: x^2\nwhere: 1\n", "<t>:3:1: unknown key 'where'"),
    ("kind: derivative\ntitle: t\n", "<t>:1:1: missing required key 'function'"),
])
def test_file_errors_have_their_place(text: str, message: str) -> None:
    from backprop_cli.errors import ProblemError

    with pytest.raises(ProblemError) as caught:
        parse(text, "<t>")
    assert str(caught.value).startswith(message)


# ------------------------------------------------------------- commands


def test_derive_command_prints_the_seed_example() -> None:
    result = run("derive", "x^3 - 3*x^2 + 2*x + 1", "--at", "x=2", "--step", "x=0.1")
    assert result.exit_code == 0, result.output
    assert "f'(x) = 3x² − 6x + 2" in result.output
    assert "  predicted  Δf ≈ f'(2)·Δx = 2·0.1 = 0.2" in result.output
    assert "  actual     Δf = f(2.1) − f(2) = 1.231 − 1 = 0.231" in result.output


def test_derive_command_several_variables_and_json() -> None:
    result = run("derive", "f(x, y) = x^2 + y^2", "--at", "x=3,y=4", "--step", "x=0.1",
                 "--step", "y=0.2", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["values"]["derivative.x"] == 6
    assert document["values"]["derivative.y"] == 8
    assert document["values"]["predicted_change"] == pytest.approx(2.2)
    assert document["values"]["actual_change"] == pytest.approx(2.25)
    text = run("derive", "f(x, y) = x^2 + y^2", "--at", "x=3,y=4", "--step", "x=0.1,y=0.2")
    assert ("  predicted  Δf ≈ ∂f/∂x·Δx + ∂f/∂y·Δy = 6·0.1 + 8·0.2 = 0.6 + 1.6 = 2.2"
            in text.output)
    assert "  ∇f = (6, 8)" in text.output


def test_derive_command_chain() -> None:
    result = run("derive", "z = y^2", "--chain", "y = 2*x + 3")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == (
        "      = 4(2x + 3) = 8x + 12    (substituting y = 2x + 3)")


def test_derive_json_has_no_nan() -> None:
    result = run("derive", "log(x) + sqrt(x)", "--at", "x=-1", "--format", "json")
    assert result.exit_code == 0
    document = json.loads(result.output)
    assert document["values"]["value"] is None
    assert document["not_finite"] == {"value": "undefined", "derivative.x": "undefined"}


@pytest.mark.parametrize("args,message", [
    (["__import__('os')"], "'__import__' is not allowed"),
    (["x.real"], "'.' is not allowed"),
    (["foo(x)"], "unknown function 'foo'"),
    (["x^99999"], "the exponent is too large"),
    (["x" * 600], "too long"),
    (["x^2", "--at", "y=2"], "--at: no variable 'y'"),
    (["x^2", "--at", "x=two"], "'x=two' is not NAME=NUMBER"),
    (["x^2", "--chain", "2*x"], "is not NAME = EXPR"),
])
def test_derive_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = run("derive", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_check_and_solve_dispatch_on_kind(tmp_path: Path) -> None:
    report = check_file(str(POLYNOMIAL))
    assert report.status == "passed" and len(report.results) == 6
    result = run("solve", str(CHAIN), "--format", "plain")
    assert result.exit_code == 0, result.output
    assert "dz/dx = dz/dy · dy/dx = (2y)·(2) = 4y" in result.output
    result = run("solve", str(POLYNOMIAL), "--format", "json", "--keys", "derivative.*")
    assert json.loads(result.output)["values"] == {"derivative.x": 2}
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(WRONG)
    result = run("check", str(wrong))
    assert result.exit_code == 1
    assert "first wrong value: formula.z.y (line 8)" in result.output
    assert "formula.z.y = 3*y (= 21 at x = 2) in the file, but it is 14" in result.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: derivative\nfunction: \"2*x + \"\n")
    result = run("solve", str(broken))
    assert result.exit_code == 1
    assert result.output.startswith(f"{broken}:2:")


def test_readme_example_file_is_right(tmp_path: Path) -> None:
    import re

    readme = (PROBLEMS.parent / "README.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S)
              if b.startswith("kind: derivative")]
    assert len(blocks) == 1
    example = tmp_path / "example.yaml"
    example.write_text(blocks[0], encoding="utf-8")
    report = check_file(str(example))
    assert report.status == "passed" and len(report.results) == 7


def test_solve_writes_a_derivative_exercise_as_an_html_page(tmp_path: Path) -> None:
    out = tmp_path / "worked.html"
    result = CliRunner().invoke(cli, ["solve", str(POLYNOMIAL), "-o", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "<title>Seed 003" in page
    assert '<pre class="worked">' in page and "<script" not in page and "http" not in page
    assert "f'(x) = 3x² − 6x + 2" in page


def test_solve_says_why_a_derivative_exercise_has_no_svg_or_latex() -> None:
    for fmt in ("svg", "latex"):
        result = CliRunner().invoke(cli, ["solve", str(POLYNOMIAL), "--format", fmt])
        assert result.exit_code == 2
        assert "worked as lines of text" in result.output and f"not {fmt}" in result.output


# ------------------------------------------------------------------ quiz


def quiz(path: Path, answers: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["quiz", str(path), *args], input=answers)
    return result.exit_code, result.output


def test_a_derivative_exercise_has_a_quiz_with_errors_carried_forward() -> None:
    partial = PROBLEMS / "003f_partial_derivatives.yaml"
    code, out = quiz(partial, "25\n?\n6\n8\n27.3\n2.2\n2.3\n0.1\n", "--no-given")
    assert code == 0
    assert "7 questions in computation order" in out
    assert "[2/7] derivative.x (∂f/∂x at the point) = " in out
    assert "∂f/∂x = 2*x" in out  # the hint is the derivative's formula
    # 27.3 is right to the digits typed; 2.3 then follows from it, and 0.1 from 2.3
    assert "≈ right from your earlier answers: follows from your rounded new_value = 27.3" in out
    assert "follows from your rounded actual_change = 2.3" in out
    assert out.rstrip().endswith("Score: 7/7 (5 right, 2 carried forward, 0 wrong, 0 skipped)")


def test_a_derivative_quiz_names_a_slip_and_takes_keys() -> None:
    code, out = quiz(POLYNOMIAL, "-2\n", "--keys", "derivative.*")
    assert code == 0
    assert "1 question in computation order" in out
    assert "✗ wrong: derivative.x = 2" in out and "the sign is flipped" in out
    code, out = quiz(POLYNOMIAL, "", "--keys", "derivatve.*")
    assert code == 2 and "matches no value key" in out


def test_a_derivative_exercise_without_a_point_has_no_quiz() -> None:
    code, out = quiz(PROBLEMS / "003g_chain_rule.yaml", "")
    assert code == 1
    assert "has no point: give one with at:" in out


def test_a_derivative_quiz_whose_values_overflow_says_so(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text('kind: derivative\nfunction: "x^x^x^x^x^x^x^x"\nat: {x: 3}\n')
    code, out = quiz(path, "")
    assert code == 1 and "no value of this exercise is a finite number at its point" in out
