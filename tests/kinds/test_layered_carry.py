"""`backprop check` and `backprop quiz` on layered networks carry errors forward: a value
worked right from a wrong earlier one is consistent (issue 19)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from backprop_cli.checking import layered as layered_checking
from backprop_cli.cli import cli
from backprop_cli.numfmt import format_number
from tests.conftest import PROBLEMS

CONV = PROBLEMS / "030_conv_pool_dropout.yaml"
RNN = PROBLEMS / "031_rnn_bptt.yaml"
CONV1D = PROBLEMS / "032_conv1d_stride_padding_avgpool.yaml"


def run(*args: str, code: int = 0, input_text: str | None = None) -> str:
    result = CliRunner().invoke(cli, list(args), input=input_text)
    assert result.exit_code == code, result.output
    return result.output


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def test_check_shows_what_a_layered_value_follows_from(tmp_path: Path) -> None:
    network = CONV.read_text(encoding="utf-8").split("expected:")[0]
    path = tmp_path / "carried.yaml"
    path.write_text(network + """expected:
  z.C[1,2,3]: 2.5
  a.C[1,2,3]: 2.5
  a.P[1,1,2]: 2.5
  a.D[1,2,2]: 4
  z.o: 3.4
  grad.K[1,1,1,2]: 0.5
  new.K[1,1,1,2]: -0.05
""", encoding="utf-8")
    # From the file's values: a.C[1,2,3] = relu(2.5); it still wins the windows of P[1,1,2]
    # {0, 0, 1.5, 2.5} and P[1,2,2] {1.5, 2.5, 0.5, 0}, so a.D[1,2,2] = 2·2.5 = 5 (not 4);
    # z.o = 0.1·a.D[1,1,1] + 0.3·a.D[1,2,1] + 0.4·4 = 0.1·3 + 0.3·5 + 1.6 = 3.4.
    # Backward from z.o = 3.4: g = ∂L/∂z_o = (a − 1)·a(1 − a), a = σ(3.4); the kept pooled
    # gradients 2·(0.1, 0.3, 0.4)·g go to the winners C[1,2,2], C[1,3,1] and C[1,2,3]
    # (ReLU' = 1 at each), so ∂L/∂K[1,1,1,2] = 0.2g·x[2,3] + 0.6g·x[3,2] + 0.8g·x[2,4]
    # = 0.2g·3 + 0.6g·1 + 0.8g·1 = 2g; new.K[1,1,1,2] = 0 − 0.1·0.5 from the file's 0.5.
    a = sigmoid(3.4)
    grad_k = 2 * (a - 1) * a * (1 - a)
    output = run("check", str(path), "-v", code=1)
    assert output.splitlines() == [
        f"{path}: failed (7 values: 3 wrong, 4 consistent)",
        f"  first wrong value: z.C[1,2,3] (line {network.count(chr(10)) + 2})",
        "  ✗ z.C[1,2,3] = 2.5 in the file, but it is 3.5 (off by -1)",
        "  ✗ a.D[1,2,2] = 4 in the file, but it is 7 (off by -3)",
        "      wrong even from your own earlier values (they give 5), which include your "
        "wrong a.C[1,2,3] = 2.5",
        "  ✗ grad.K[1,1,1,2] = 0.5 in the file, but it is -0.000196106 (off by 0.5)",
        f"      wrong even from your own earlier values (they give {format_number(grad_k, 6)}), "
        "which include your wrong z.o = 3.4",
        "  ≈ a.C[1,2,3] = 2.5 (consistent): follows from your wrong z.C[1,2,3] = 2.5 "
        "(carried forward)",
        "  ≈ a.P[1,1,2] = 2.5 (consistent): follows from your wrong a.C[1,2,3] = 2.5 "
        "(carried forward)",
        "  ≈ z.o = 3.4 (consistent): follows from your wrong a.D[1,2,2] = 4 (carried forward)",
        "  ≈ new.K[1,1,1,2] = -0.05 (consistent): follows from your wrong "
        "grad.K[1,1,1,2] = 0.5 (carried forward)",
        "0 passed, 1 failed",
    ]


@pytest.mark.parametrize("path", [CONV, RNN, CONV1D], ids=lambda p: p.stem)
def test_an_all_correct_file_runs_no_carried_pass(path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def no_pass(*args: object) -> dict[str, float]:
        raise AssertionError("the carried pass ran")

    monkeypatch.setattr(layered_checking, "carry_layered", no_pass)
    values = path.read_text(encoding="utf-8").split("expected:")[1].count("\n  ")
    assert run("check", str(path)).splitlines()[0] == (
        f"{path}: passed ({values} values: {values} correct)")


def test_quiz_carries_the_students_own_answers_forward() -> None:
    # z.h#1 = 0.75 (exact 0.6); tanh(0.75) = 0.635149; z.h#2 = 0.5·0.5 + 0.9·0.6351 + 0.1
    # = 0.92159; tanh(0.9216) = 0.726653, so 0.7268 is off by more than its last digit
    assert math.isclose(math.tanh(0.75), 0.6351, abs_tol=5e-5)
    assert math.isclose(0.5 * 0.5 + 0.9 * 0.6351 + 0.1, 0.9216, abs_tol=5e-5)
    output = run("quiz", str(RNN), "--keys", "z.h#1", "--keys", "a.h#1", "--keys", "z.h#2",
                 "--keys", "a.h#2", "--no-given", input_text="0.75\n0.6351\n0.9216\n0.7268\n")
    assert output.splitlines()[2:] == [
        "[1/4] z.h#1 (the pre-activation of h at time step 1) = 0.75",
        "  ✗ wrong: z.h#1 = 0.6 (backprop solve shows how)",
        "[2/4] a.h#1 (the output of h at time step 1) = 0.6351",
        "  ≈ right from your earlier answers: follows from your wrong z.h#1 = 0.75 (carried "
        "forward); the exact value is 0.53705",
        "[3/4] z.h#2 (the pre-activation of h at time step 2) = 0.9216",
        "  ≈ right from your earlier answers: follows from your wrong a.h#1 = 0.6351 (carried "
        "forward); the exact value is 0.833345",
        "[4/4] a.h#2 (the output of h at time step 2) = 0.7268",
        "  ✗ wrong: a.h#2 = 0.682268 (backprop solve shows how)",
        f"    wrong even from your own earlier values (they give "
        f"{format_number(math.tanh(0.9216), 6)}), which include your wrong z.h#2 = 0.9216",
        "Score: 2/4 (0 right, 2 carried forward, 2 wrong, 0 skipped)",
    ]


def test_quiz_pooling_follows_the_students_activations() -> None:
    # a.C[1,2,3] = 0.2 instead of 3.5: the window of P[1,1,2], {0, 0, 1.5, 0.2}, has its
    # maximum 1.5 (at C[1,2,2]) from the student's values
    output = run("quiz", str(CONV), "--keys", "a.C[1,2,3]", "--keys", "a.P[1,1,2]",
                 "--no-given", input_text="0.2\n1.5\n")
    assert ("  ≈ right from your earlier answers: follows from your wrong a.C[1,2,3] = 0.2 "
            "(carried forward); the exact value is 3.5") in output
    assert "Score: 1/2 (0 right, 1 carried forward, 1 wrong, 0 skipped)" in output


def _classes(output: str) -> dict[str, str]:
    """erratum key -> its class in check --show-errata's lines."""
    return {match[1]: match[2] for match in re.finditer(
        r"^  erratum (\S+) .*?\[(new error|carried forward)\]", output, re.M)}


def test_layered_errata_that_follow_from_earlier_ones_are_carried_forward() -> None:
    # 043: the author's h_2 = 0.8781 is wrong (tanh(1.3697) = 0.87862); their
    # z_3 = 1.5 + 0.8·0.8781 = 2.20248 is 2.2025 as published: carried forward, not new;
    # their h_3 = 0.9750 is not tanh(2.2025) = 0.97586: a new error
    assert round(1.5 + 0.8 * 0.8781, 4) == 2.2025
    assert round(math.tanh(2.2025), 4) != 0.9750
    out = run("check", "--show-errata", str(PROBLEMS / "043_deepml_rnn_forward.yaml"))
    assert _classes(out) == {"a.h#2": "new error", "z.h#3": "carried forward",
                             "a.h#3": "new error"}
    assert ("  erratum z.h#3 (line 44): published 2.2025, correct 2.2029 [carried forward]: "
            "carried forward: 1.5 + 0.8·0.8781; with h_2 = 0.87862 it is 2.20290\n") in out


def test_the_errata_of_a_bptt_walkthrough_are_classified() -> None:
    # 044 (y = 2·h, loss ½(y − t)² at each step, t = 1, 2): from the author's h_2 = 0.7790,
    # y_2 = 2·0.7790 = 1.558 (carried); the loss 0.00288 + 0.0978 = 0.1007 (carried);
    # ∂L/∂y_2 = 1.558 − 2 = −0.442, ∂L/∂h_2 = 2·(−0.442) = −0.884 (carried); but
    # ½(1.558 − 2)² = 0.09768 is more than a unit of the last digit from 0.0978: new
    assert round(2 * 0.7790, 3) == 1.558 and round(0.00288 + 0.0978, 4) == 0.1007
    assert abs(0.5 * (1.558 - 2) ** 2 - 0.0978) > 1e-4
    out = run("check", "--show-errata", str(PROBLEMS / "044_prachub_rnn_bptt.yaml"))
    assert _classes(out) == {
        "a.h#2": "new error", "a.y#2": "carried forward",
        # ½(0.9242 − 1)² = 0.0028728: 0.00288 is within one unit of the last digit of it
        "loss#1": "carried forward",
        "loss#2": "new error", "loss": "carried forward", "grad.a.y#2": "carried forward",
        "grad.a.h#2": "carried forward",
        # 1 − 0.7790² = 0.39316, within a unit of 0.3931; −0.884·0.3931 = −0.34750
        "dadz.h#2": "carried forward", "grad.z.h#2": "carried forward"}
    assert ("  erratum loss#2 (line 55): published 0.0978, correct 0.0965 [new error]: "
            "carried forward from y_2 (and ½(1.558 − 2)² is 0.09768, not 0.0978); exactly "
            "0.096511\n") in out
