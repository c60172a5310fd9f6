"""`backprop gradcheck` and `backprop probe`: finite differences and the seed's nudges."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from backprop_cli.app.gradcheck import check_gradients
from backprop_cli.app.probe import Nudge, NudgeError, parse_nudge, probe
from backprop_cli.checking.checker import Precision
from backprop_cli.cli import cli
from backprop_cli.files.loader import parse_problem
from backprop_cli.kinds.exercise import load_problem
from tests.conftest import PROBLEMS, seed_files

CHAIN = PROBLEMS / "003a_chain_x_w1_w2.yaml"
SIGMOID = PROBLEMS / "003c_sigmoid_two_inputs.yaml"
KINK = PROBLEMS / "relu_kink_gradcheck.yaml"


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args))


# --------------------------------------------------------------- gradcheck


@pytest.mark.parametrize("path", seed_files(), ids=lambda p: p.stem)
def test_every_problem_file_passes_the_gradient_check(path) -> None:  # type: ignore[no-untyped-def]
    result = check_gradients(load_problem(path))
    assert result.passed, [(c.name, c.analytic, c.numerical) for c in result.failed]
    assert result.largest_rel_error < 1e-6


def test_values_of_the_seed_chain() -> None:
    result = check_gradients(load_problem(CHAIN))
    values = result.values()
    assert values["grad.w1"] == -18 and values["grad.w2"] == -72
    assert values["numgrad.w2"] == pytest.approx(-72, rel=1e-8)
    assert values["rel_error.w2"] < 1e-8
    assert set(values) == {f"{kind}.{p}" for kind in ("grad", "numgrad", "abs_error",
                                                      "rel_error") for p in ("w1", "w2")}


def test_a_relu_at_zero_is_a_kink_not_a_failure() -> None:
    result = check_gradients(load_problem(KINK))
    verdicts = {c.name: c.verdict for c in result.checks}
    assert verdicts == {"w1": "kink", "b1": "kink", "w2": "ok", "b2": "ok", "v1": "ok",
                        "v2": "ok"}
    w1 = next(c for c in result.checks if c.name == "w1")
    assert w1.analytic == 0  # ReLU'(0) = 0
    assert w1.numerical == pytest.approx(-0.5, rel=1e-5)  # the mean of the slopes −1 and 0
    assert result.passed


def test_a_wrong_gradient_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """Break the backward pass (a sigmoid derivative off by 1%): the check must see it."""
    from backprop_cli.engine.paramspace import Point

    real = Point.gradients

    def broken(self):  # type: ignore[no-untyped-def]
        loss, grads = real(self)
        grads["w3"] *= 1.01
        return loss, grads

    monkeypatch.setattr(Point, "gradients", broken)
    result = check_gradients(load_problem(SIGMOID))
    assert [c.name for c in result.failed] == ["w3"]
    assert result.failed[0].rel_error == pytest.approx(0.01 / 1.01, rel=1e-3)
    cli_result = run("gradcheck", str(SIGMOID))
    assert cli_result.exit_code == 1
    assert "1 of 3 gradients disagree: w3" in cli_result.output


def test_gradcheck_command() -> None:
    result = run("gradcheck", str(SIGMOID))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[3].split()[:5] == ["parameter", "value", "analytic", "∂L/∂p", "numerical"]
    assert lines[6].startswith("w3         0.5    −0.04237288021")
    assert lines[6].endswith("ok")
    assert lines[-1].startswith("all 3 compared gradients agree")
    document = json.loads(run("gradcheck", str(KINK), "--format", "json").output)
    assert document["passed"] is True
    assert [p["verdict"] for p in document["parameters"]][:2] == ["kink", "kink"]
    assert document["values"]["grad.w2"] == -1


def test_gradcheck_h_is_help_like_everywhere_and_s_is_the_step() -> None:
    help_text = run("gradcheck", "-h")
    assert help_text.exit_code == 0
    assert help_text.output.startswith("Usage: ")
    assert "-s, --step FLOAT RANGE" in help_text.output
    short = run("gradcheck", str(SIGMOID), "-s", "1e-2")
    assert short.output == run("gradcheck", str(SIGMOID), "--step", "1e-2").output


def test_gradcheck_options_and_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert run("gradcheck", str(SIGMOID), "--step", "0").exit_code == 2
    coarse = run("gradcheck", str(SIGMOID), "--step", "1e-2")
    assert coarse.exit_code == 1  # a large h: the O(h²) error of the difference shows
    assert "1 of 3 gradients disagree: w2" in coarse.output
    assert run("gradcheck", str(SIGMOID), "--step", "1e-2", "--tolerance", "1e-4").exit_code == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: [")
    assert run("gradcheck", str(bad)).exit_code == 1


# ------------------------------------------------------------------- probe


def test_nudges_are_read() -> None:
    assert parse_nudge("w2=+0.1") == Nudge("w2", change=0.1)
    assert parse_nudge("w1-=0.05") == Nudge("w1", change=-0.05)
    assert parse_nudge("w1+=-0.05") == Nudge("w1", change=-0.05)
    assert parse_nudge("w2 += 0.1") == Nudge("w2", change=0.1)
    assert parse_nudge("w2=0.6") == Nudge("w2", value=0.6)
    assert parse_nudge("w1:=-0.3") == Nudge("w1", value=-0.3)
    assert parse_nudge("w_1^4 −= 0.1") == Nudge("w_1^4", change=-0.1)
    for bad in ("w2", "w2=", "w2=abc", "=0.1", "w2=inf", "w2+=", "w2*=2"):
        with pytest.raises(NudgeError):
            parse_nudge(bad)


def test_a_negative_number_after_equals_is_refused_as_ambiguous() -> None:
    """`w1=-0.3` reads as "set w1 to −0.3" and as "lower w1 by 0.3": neither is guessed."""
    for text in ("w1=-0.3", "w1 = −0.3"):
        with pytest.raises(NudgeError) as error:
            parse_nudge(text)
    assert str(error.value) == ("'w1 = −0.3' is ambiguous: write w1-=0.3 to lower w1 by 0.3, "
                                "or w1:=-0.3 to set it to -0.3")
    result = run("probe", str(CHAIN), "w1=-0.05")
    assert result.exit_code == 2
    assert "write w1-=0.05 to lower w1 by 0.05, or w1:=-0.05" in result.output


def test_seed_nudge_7_2_against_7_12() -> None:
    result = probe(load_problem(CHAIN), [parse_nudge("w2=+0.1")])
    assert result.predicted == pytest.approx(-7.2, abs=1e-12)
    assert result.actual == pytest.approx(-7.12, abs=1e-12)
    assert result.new_loss == pytest.approx(154.88)
    assert result.sentence() == ("If w2 grows by 0.1 the loss should drop by about 7.2; "
                                 "it drops by 7.12.")
    same = probe(load_problem(CHAIN), [parse_nudge("w2=0.6")])
    assert same.actual == result.actual


def test_seed_nudge_of_w3_0_004239() -> None:
    """The document's −0.004239 is −0.04239·0.1 from its rounded gradient; exact −0.0042373."""
    result = probe(load_problem(SIGMOID), [parse_nudge("w3=+0.1")])
    # not right to its digits (1.7 units off), but right from the document's −0.04239
    assert not Precision.of("-0.004239").agrees(-0.004239, result.predicted)
    assert Precision.of("-0.004239").agrees(-0.004239, -0.04239 * 0.1)
    assert result.predicted == pytest.approx(-0.0042372880, abs=1e-10)
    assert result.actual == pytest.approx(-0.0041856807, abs=1e-10)
    # and the actual loss is what 003i (w3 = 0.6) checks
    nudged = load_problem(PROBLEMS / "003i_sigmoid_w3_nudged.yaml")
    assert result.new_loss == pytest.approx(nudged.expected["loss"].value, abs=5e-7)


def test_several_nudges_add_their_predictions() -> None:
    result = probe(load_problem(CHAIN), [parse_nudge("w1-=0.05"), parse_nudge("w2=+0.1")])
    assert result.predicted == pytest.approx(-18 * -0.05 + -72 * 0.1)
    # the second-order term: the difference shrinks like the square of the nudge
    small = probe(load_problem(CHAIN), [parse_nudge("w2=+0.01")])
    big = probe(load_problem(CHAIN), [parse_nudge("w2=+0.1")])
    assert small.difference / big.difference == pytest.approx(0.01, rel=1e-6)


def test_probe_uses_the_full_batch_without_rounding() -> None:
    rounded = load_problem(PROBLEMS / "003h_sigmoid_two_inputs_rounded.yaml")
    exact = load_problem(SIGMOID)
    nudge = [parse_nudge("w3=+0.1")]
    assert probe(rounded, nudge).actual == probe(exact, nudge).actual


def test_probe_command() -> None:
    result = run("probe", str(CHAIN), "w2=+0.1")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "w2: 0.5 → 0.6 (Δw2 = +0.1), ∂L/∂w2 = −72" in lines
    assert "predicted  ΔL ≈ ∂L/∂w2·Δw2 = (−72)·0.1 = −7.2" in lines
    assert "actual     ΔL = L(w2 = 0.6) − L = 154.88 − 162 = −7.12" in lines
    assert lines[-1] == "If w2 grows by 0.1 the loss should drop by about 7.2; it drops by 7.12."
    both = run("probe", str(CHAIN), "w1-=0.05", "w2:=0.6").output.splitlines()
    assert both[2] == "w1: 2 → 1.95 (Δw1 = −0.05), ∂L/∂w1 = −18"
    assert both[3].startswith("w2: 0.5 → 0.6 (Δw2 = +0.1)")
    document = json.loads(run("probe", str(SIGMOID), "w3=+0.1", "--format", "json").output)
    assert document["values"]["predicted_change"] == pytest.approx(-0.004237288, rel=1e-6)
    assert document["values"]["nudged.w3"] == 0.6
    assert document["nudges"] == [{"name": "w3", "from": 0.5, "to": 0.6, "change": 0.1,
                                   "gradient": document["values"]["grad.w3"]}]


def test_probe_usage_errors() -> None:
    for args in (["w9=+1"], ["w2"], ["w2=+1", "w2=+2"]):
        result = run("probe", str(CHAIN), *args)
        assert result.exit_code == 2, args
    assert "no parameter 'w9' (parameters: w1, w2)" in run("probe", str(CHAIN), "w9=+1").output
    assert run("probe", str(CHAIN)).exit_code == 2


def test_shared_parameters_move_everywhere() -> None:
    text = """network:
  inputs: [x]
  layers:
    - {units: [h], weights: [[0.5]], weight_names: [[w]]}
    - {units: [y], weights: [[0.5]], weight_names: [[w]]}
loss: half_squared_error
learning_rate: 0.1
input: [2]
target: 3
"""
    problem = parse_problem(text)
    result = probe(problem, [parse_nudge("w=+0.001")])
    # ŷ = x·w², ∂L/∂w = (ŷ − y)·2xw = (0.5 − 3)·2 = −5
    assert result.moved[0].gradient == pytest.approx(-5)
    assert result.predicted == pytest.approx(-0.005)
    assert result.actual == pytest.approx(-0.005, rel=1e-2)
    assert check_gradients(problem).passed


def test_an_overflowing_start_is_a_clean_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    huge = tmp_path / "huge.yaml"
    huge.write_text("""network:
  inputs: [x]
  layers:
    - {units: [h], weights: [[1e200]], weight_names: [[w1]]}
    - {units: [y], weights: [[1e200]], weight_names: [[w2]]}
loss: half_squared_error
learning_rate: 0.1
input: [1e10]
target: 1
""")
    for args in (["gradcheck", str(huge)], ["probe", str(huge), "w1=+1"],
                 ["diagram", str(huge), "--format", "json"]):
        result = run(*args)
        assert result.exit_code == 1, args
        assert result.output == (f"{huge}: the loss at the starting parameters is not a finite "
                                 "number (overflow, or the log of 0), so neither are its "
                                 "gradients\n")
