"""Every layer order the reader accepts is solved in every format and checked (issue 19):
random stacks of conv1d/conv2d, pooling, dropout, flatten, rnn and dense layers
(tests/layered_stacks.py), and the orders reviewers found broken."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_cli.app.quiz import QuizSession
from backprop_cli.cli import cli
from backprop_cli.engine.layered import solve_layered
from backprop_cli.kinds.exercise import parse_exercise
from backprop_cli.kinds.layered_text import worked_document
from backprop_cli.model.layered import LayeredProblem
from backprop_cli.render.arithmetic import equations
from tests.layered_stacks import random_stack

FORMATS = ("plain", "markdown", "latex", "html", "json")

# issue 19's review: a dropout after an rnn (a mask per step and unit) ended solve with
# "internal error (KeyError: 'a.h1')" while check passed on it
RNN_DROPOUT = """\
network:
  inputs: [x]
  layers:
    - {type: rnn, units: [h1], activation: tanh, weights: [[0.5]], recurrent: [[0.9]],
       bias: 0.1}
    - {type: dropout, name: D, rate: 0.5, mask: [[1], [0], [1]]}
    - {units: [y], weights: [[1.5]]}
sequence: [[1], [0.5], [-1]]
target: [0.5]
loss: half_squared_error
learning_rate: 0.1
"""


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def assert_solved_everywhere(text: str, path: Path) -> None:
    path.write_text(text, encoding="utf-8")
    run("check", str(path))
    for fmt in FORMATS:
        run("solve", str(path), "--format", fmt)
    # every equation of the worked solution is its formula on the engine's values
    problem = parse_exercise(text, str(path))
    assert isinstance(problem, LayeredProblem)
    assert QuizSession(problem).given()[0] == "Given:"  # and the quiz states the network
    solution = solve_layered(problem)
    for equation in equations(worked_document(solution).sections):
        assert equation.key is not None
        assert equation.steps[0].evaluate(solution.values) == pytest.approx(
            solution.values[equation.key], rel=1e-9, abs=1e-12), equation.key


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_every_layer_order_is_solved_in_every_format(tmp_path_factory: pytest.TempPathFactory,
                                                     seed: int) -> None:
    assert_solved_everywhere(random_stack(seed), tmp_path_factory.mktemp("s") / "s.yaml")


def test_a_dropout_after_an_rnn_is_solved(tmp_path: Path) -> None:
    assert_solved_everywhere(RNN_DROPOUT, tmp_path / "p.yaml")
    text = run("solve", str(tmp_path / "p.yaml"), "--format", "plain")
    # BPTT reads the dropout's gradient at each step: ×2 where the mask keeps (steps 1 and
    # 3), ×0 where it drops (step 2), plus u·δ of the step after
    assert "∂L/∂a_h1⟨3⟩ = 2·∂L/∂a_D[3,1] = " in text
    assert "∂L/∂a_h1⟨2⟩ = 0·∂L/∂a_D[2,1] + U1[1,1]·δ_h1⟨3⟩ = 0·0 + 0.9·" in text, text


def test_a_dropout_over_a_sequence_feeds_an_rnn(tmp_path: Path) -> None:
    text = RNN_DROPOUT.replace(
        "    - {type: rnn", "    - {type: dropout, name: E, rate: 0.25, mask: [[1], [1], [0]]}\n"
        "    - {type: rnn")
    assert_solved_everywhere(text, tmp_path / "p.yaml")
    out = run("solve", str(tmp_path / "p.yaml"), "--format", "plain")
    # step 3 of the rnn reads E[3,1], the dropped input: 0·x⟨3⟩
    assert "z_h1⟨3⟩ = W2[1,1]·a_E[3,1] + U2[1,1]·a_h1⟨2⟩ + b2[1]" in out, out


@pytest.mark.parametrize(("layers", "data", "message"), [
    ("[x]", "sequence: [[1], [2]]\ntarget: [1]",
     "a convolution or pooling takes a tensor input"),
    ("{shape: [2, 3]}", "input: [[1, 2, 3], [4, 5, 6]]\ntarget: [1]",
     "an rnn layer takes a sequence"),
])
def test_orders_without_a_meaning_are_refused(tmp_path: Path, layers: str, data: str,
                                              message: str) -> None:
    # a conv1d over a sequence would take its steps for channels, an rnn over a tensor its
    # channels for steps: the values after it would have no time steps to be named by
    first = ("{type: conv1d, filters: 1, kernel: 1, weights: [[[1]]]}" if "[x]" in layers
             else "{type: rnn, units: [h], weights: [[1, 1, 1]], recurrent: [[1]]}")
    then = ("- {units: [y], weights: [[1, 1]]}" if "[x]" in layers else
            "- {type: flatten}\n    - {units: [y], weights: [[1, 1]]}")
    path = tmp_path / "p.yaml"
    path.write_text(f"network:\n  inputs: {layers}\n  layers:\n    - {first}\n    {then}\n"
                    f"loss: half_squared_error\nlearning_rate: 0.1\n{data}\n",
                    encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "internal error" not in result.output and "bug" not in result.output
