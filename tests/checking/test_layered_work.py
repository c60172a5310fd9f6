"""The verdicts on a layered network's values with errors carried forward
(checking/layered.py): correct, consistent with what it follows from, wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from backprop_cli.checking import layered as layered_checking
from backprop_cli.checking.layered import LayeredWork
from backprop_cli.checking.verdicts import Precision
from backprop_cli.engine.layered import solve_layered
from backprop_cli.kinds.exercise import parse_exercise
from backprop_cli.model.layered import LayeredProblem
from backprop_cli.numfmt import format_number
from tests.conftest import PROBLEMS

CONV = PROBLEMS / "030_conv_pool_dropout.yaml"
RNN = PROBLEMS / "031_rnn_bptt.yaml"


def work(path: Path, values: dict[str, str], steps: int | None = None) -> LayeredWork:
    """A LayeredWork with ``values`` (key: as written) given, as check gives a file's."""
    problem = parse_exercise(path.read_text(encoding="utf-8").split("expected:")[0],
                             path.name, steps=steps)
    assert isinstance(problem, LayeredProblem)
    done = LayeredWork(problem, solve_layered(problem).values, None)
    for key, text in values.items():
        done.give(key, float(text), Precision.of(text), text)
    return done


def verdicts(done: LayeredWork) -> dict[str, tuple[str, str | None]]:
    found = {}
    for key, value in done.given.items():
        judged = done.judge(key, value, done.written[key][0])
        found[key] = (judged.verdict, judged.reason)
    return found


def test_a_wrong_z_makes_what_follows_consistent() -> None:
    # exact: z.C[1,2,3] = 3.5, the winner of P[1,1,2] and P[1,2,2]; with 2.5 instead,
    # a.C[1,2,3] = relu(2.5) = 2.5 still wins {0, 0, 1.5, 2.5} and {1.5, 2.5, 0.5, 0};
    # the dropout keeps P[1,2,2] × 2 = 5
    done = work(CONV, {"z.C[1,2,3]": "2.5", "a.C[1,2,3]": "2.5", "dadz.C[1,2,3]": "1",
                       "a.P[1,1,2]": "2.5", "a.D[1,2,2]": "5", "a.D[1,1,2]": "0"})
    assert verdicts(done) == {
        "z.C[1,2,3]": ("wrong", "wrong from the start"),
        "a.C[1,2,3]": ("consistent",
                       "follows from your wrong z.C[1,2,3] = 2.5 (carried forward)"),
        "dadz.C[1,2,3]": ("correct", None),  # relu'(2.5) = relu'(3.5)
        "a.P[1,1,2]": ("consistent",
                       "follows from your wrong a.C[1,2,3] = 2.5 (carried forward)"),
        # a.P[1,2,2] is not given: recomputed from a.C[1,2,3], which it names
        "a.D[1,2,2]": ("consistent",
                       "follows from your wrong a.C[1,2,3] = 2.5 (carried forward)"),
        "a.D[1,1,2]": ("correct", None),
    }


def test_gradients_follow_from_a_wrong_delta() -> None:
    # grad.z.C[1,3,1] given 0.1 instead of −5.883e-5, every other δ of C as the run has it
    problem = work(CONV, {}).problem
    exact = solve_layered(problem).values
    x = problem.inputs[0, 0]
    delta = {(i, j): exact[f"grad.z.C[1,{i},{j}]"] for i in (1, 2, 3) for j in (1, 2, 3)}
    delta[3, 1] = 0.1
    grad_c = sum(delta.values())  # ∂L/∂c = Σ δ
    grad_k = sum(d * x[i - 1, j - 1] for (i, j), d in delta.items())  # Σ δ·x[i,j]
    done = work(CONV, {"grad.z.C[1,3,1]": "0.1", "grad.c[1]": f"{grad_c:.4f}",
                       "grad.K[1,1,1,1]": f"{grad_k + 0.01:.4f}"})
    found = verdicts(done)
    assert found["grad.c[1]"] == (
        "consistent", "follows from your wrong grad.z.C[1,3,1] = 0.1 (carried forward)")
    # off by 0.01: neither the exact value nor what the given values give
    judged = done.judge("grad.K[1,1,1,1]", grad_k + 0.01, Precision.of("0.0001"))
    assert judged.verdict == "wrong"
    assert judged.recomputed == pytest.approx(grad_k, rel=1e-12)
    assert found["grad.K[1,1,1,1]"][1] == (
        f"wrong even from your own earlier values (they give {format_number(grad_k, 6)}), "
        "which include your wrong grad.z.C[1,3,1] = 0.1")


def test_a_wrong_kernel_gradient_gives_a_consistent_update() -> None:
    # K[1,1,1,2] = 0, η = 0.1: new = 0 − 0.1·0.5
    done = work(CONV, {"grad.K[1,1,1,2]": "0.5", "new.K[1,1,1,2]": "-0.05",
                       "change.K[1,1,1,2]": "-0.05", "new.K[1,1,2,1]": "0.5"})
    found = verdicts(done)
    assert found["new.K[1,1,1,2]"] == (
        "consistent", "follows from your wrong grad.K[1,1,1,2] = 0.5 (carried forward)")
    assert found["change.K[1,1,1,2]"] == (
        "consistent", "follows from your wrong new.K[1,1,1,2] = -0.05 (carried forward)")
    assert found["new.K[1,1,2,1]"][0] == "wrong"  # neither exact nor from the values


def test_a_wrong_state_gives_a_consistent_next_state() -> None:
    # z.h#2 = w·x_2 + u·h_1 + b = 0.5·0.5 + 0.9·0.6351 + 0.1 = 0.92159
    done = work(RNN, {"z.h#1": "0.75", "a.h#1": "0.6351", "z.h#2": "0.9216",
                      "a.h#2": "0.7268"})
    assert verdicts(done) == {
        "z.h#1": ("wrong", "wrong from the start"),
        "a.h#1": ("consistent", "follows from your wrong z.h#1 = 0.75 (carried forward)"),
        "z.h#2": ("consistent", "follows from your wrong a.h#1 = 0.6351 (carried forward)"),
        # tanh(0.9216) = 0.726653: 0.7268 is off by more than a unit of its last digit
        "a.h#2": ("wrong", "wrong even from your own earlier values (they give 0.726653), "
                  "which include your wrong z.h#2 = 0.9216"),
    }


def test_step_two_follows_from_the_given_update() -> None:
    # h_0 = 0: step 2's z.h#1 = new.w·1 + new.b, with new.b exact (0.1 − 0.1·grad.b)
    done = work(RNN, {"new.w": "0.3"}, steps=2)
    assert verdicts(done) == {"new.w": ("wrong", "wrong from the start")}
    exact = done.exact
    value = 0.3 + exact["new.b"]
    done.give("step2.z.h#1", value, Precision.of("0.1"), "0.1")
    judged = done.judge("step2.z.h#1", round(value, 4), Precision.of(f"{value:.4f}"))
    assert judged.verdict == "consistent"
    assert judged.reason == "follows from your wrong new.w = 0.3 (carried forward)"


def test_a_correct_value_needs_no_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_pass(*args: object) -> dict[str, float]:
        raise AssertionError("the carried pass ran")

    monkeypatch.setattr(layered_checking, "carry_layered", no_pass)
    done = work(CONV, {"z.C[1,1,1]": "0.5", "a.o": "0.99005", "grad.K[1,1,1,1]": "-3.726e-4"})
    assert {key: verdict for key, (verdict, _) in verdicts(done).items()} == {
        "z.C[1,1,1]": "correct", "a.o": "correct", "grad.K[1,1,1,1]": "correct"}
