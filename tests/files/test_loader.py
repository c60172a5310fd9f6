"""The loader accepts every documented form and reads it as meant."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backprop_cli.checking.checker import check_values
from backprop_cli.checking.verdicts import MANY_DIGITS, Precision
from backprop_cli.engine import solve
from backprop_cli.errors import ProblemError
from backprop_cli.files.loader import parse_problem

BASE = """
network:
  inputs: [x1, x2]
  layers:
    - units: [h1, h2]
      activation: relu
      weights: [[0.5, 0.6], [0.2, 0.3]]
      bias: [0.1, 0.1]
    - units: [o]
      activation: sigmoid
      weights: [[0.4, 0.7]]
      bias: 0.2
loss: half_squared_error
learning_rate: 0.01
input: [1, 2]
target: [1.0]
"""


def test_documented_example_loads_with_defaults() -> None:
    problem = parse_problem(BASE, title_default="example")
    assert problem.title == "example"
    assert problem.steps == 1
    assert problem.reduction == "mean"
    assert [layer.units for layer in problem.layers] == [["h1", "h2"], ["o"]]
    assert problem.layers[0].weight_names == [["w_h1_x1", "w_h1_x2"], ["w_h2_x1", "w_h2_x2"]]
    assert problem.layers[1].bias_names == ["b_o"]
    assert problem.inputs.tolist() == [[1.0, 2.0]]
    assert not problem.has_samples


def test_counts_give_default_names() -> None:
    problem = parse_problem("""
network:
  inputs: 2
  layers:
    - {units: 2, weights: [[1, 2], [3, 4]]}
    - {units: 2, weights: [[1, 2], [3, 4]]}
    - {units: 1, weights: [[1, 2]]}
loss: squared_error
learning_rate: 0.1
input: [1, 2]
target: 3
""")
    assert problem.input_names == ["x1", "x2"]
    assert [layer.units for layer in problem.layers] == [["h1_1", "h1_2"], ["h2_1", "h2_2"], ["o"]]


@pytest.mark.parametrize("text,value", [("1e-3", 0.001), ("1E3", 1000.0), ("+.5", 0.5)])
def test_yaml_12_numbers(text: str, value: float) -> None:
    problem = parse_problem(BASE.replace("learning_rate: 0.01", f"learning_rate: {text}"))
    assert problem.learning_rate == value


def test_activation_with_alpha_and_aliases() -> None:
    problem = parse_problem(BASE.replace("activation: relu",
                                         "activation: {name: leaky_relu, alpha: 0.1}")
                            .replace("activation: sigmoid", "activation: linear"))
    assert problem.layers[0].activation.alpha == 0.1
    assert problem.layers[1].activation.name == "identity"


def test_mapping_forms_for_input_and_target() -> None:
    problem = parse_problem(BASE.replace("input: [1, 2]", "input: {x2: 2, x1: 1}")
                            .replace("target: [1.0]", "target: {o: 1.0}"))
    assert problem.inputs.tolist() == [[1.0, 2.0]]
    assert problem.targets.tolist() == [[1.0]]


def test_samples_and_sum_reduction() -> None:
    text = BASE.replace("input: [1, 2]\ntarget: [1.0]\n",
                        "samples:\n  - {input: [1, 2], target: 1}\n"
                        "  - {input: [0, 1], target: 0}\nreduction: sum\n")
    problem = parse_problem(text)
    assert problem.has_samples and problem.n_samples == 2
    assert problem.reduction == "sum"


def test_cross_entropy_target_by_unit_name() -> None:
    text = BASE.replace("units: [o]", "units: [cat, dog]").replace(
        "weights: [[0.4, 0.7]]", "weights: [[0.4, 0.7], [0.1, 0.2]]").replace(
        "activation: sigmoid", "activation: softmax").replace(
        "half_squared_error", "cross_entropy").replace("target: [1.0]", "target: dog")
    problem = parse_problem(text)
    assert problem.targets.tolist() == [[0.0, 1.0]]


def test_shared_and_frozen_parameters() -> None:
    text = BASE.replace("bias: [0.1, 0.1]", "bias: 0.1\n      bias_names: b1") + 'freeze: ["b*"]\n'
    problem = parse_problem(text)
    params = problem.parameters
    assert len(params["b1"].uses) == 2
    assert params["b1"].frozen and params["b_o"].frozen
    assert not params["w_h1_x1"].frozen


def test_flat_weight_list_for_a_single_unit() -> None:
    problem = parse_problem(BASE.replace("weights: [[0.4, 0.7]]", "weights: [0.4, 0.7]"))
    assert np.array_equal(problem.layers[1].weights, [[0.4, 0.7]])


def test_expected_entries_keep_their_text() -> None:
    problem = parse_problem(BASE + "expected:\n  a.o: 0.8240\n  grad.w_h1_x1:\n"
                            "    value: -0.0461\n    erratum: -0.01012\n")
    assert problem.expected["a.o"].text == "0.8240"
    assert problem.expected["grad.w_h1_x1"].erratum == -0.01012


@pytest.mark.parametrize("edit,message", [
    (("loss: half_squared_error", "loss: half_squared_eror"), "did you mean 'half_squared_error'"),
    (("activation: relu", "activation: rleu"), "did you mean 'relu'"),
    (("learning_rate: 0.01", "learning_rat: 0.01"), "unknown key 'learning_rat'"),
    (("weights: [[0.4, 0.7]]", "weights: [[0.4, 0.7, 1]]"), "expected shape 1×2"),
    (("learning_rate: 0.01", "learning_rate: -1"), "must be greater than 0"),
    (("input: [1, 2]", "input: [1, 2, 3]"), "has 3 values but needs 2"),
    (("units: [h1, h2]", 'units: [h1, "h2\\n"]'), "'h2\\n' is not a valid name"),
    (("target: [1.0]", 'target: [1.0]\nexpected: {"a.o\\n": 1}'), "unknown value key"),
])
def test_errors_name_the_place(edit: tuple[str, str], message: str) -> None:
    with pytest.raises(ProblemError) as caught:
        parse_problem(BASE.replace(*edit), path="p.yaml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("p.yaml:")
    assert caught.value.line is not None


def test_unknown_expected_key_suggests_the_nearest() -> None:
    with pytest.raises(ProblemError) as caught:
        parse_problem(BASE + "expected:\n  grad.w_h1_x3:  1\n")
    assert "unknown value key 'grad.w_h1_x3' (did you mean" in str(caught.value)
    assert "'grad.w_h1_x1'" in str(caught.value)


# ------------------------------------------- numbers written as expressions (issue 16)


def test_a_quoted_expression_is_a_number_wherever_one_is_expected() -> None:
    text = (BASE.replace("[[0.5, 0.6], [0.2, 0.3]]", '[["sqrt(2)/2", 0.6], [0.2, "3/10"]]')
            .replace("bias: 0.2", 'bias: "1/5"')
            .replace("learning_rate: 0.01", 'learning_rate: "1/100"')
            .replace("input: [1, 2]", 'input: {x1: "-1/243", x2: "1 + sin(pi/4)"}')
            .replace("target: [1.0]", 'target: "e^-1"'))
    problem = parse_problem(text + 'expected:\n  a.o: "-1/243"\n  z.o: 0.5\n')
    hidden, output = problem.layers
    assert hidden.weights.tolist() == [[math.sqrt(2) / 2, 0.6], [0.2, 0.3]]  # bit for bit
    assert output.bias.tolist() == [0.2]
    assert problem.learning_rate == 0.01
    assert problem.inputs.tolist() == [[-1 / 243, 1 + math.sin(math.pi / 4)]]
    assert problem.targets.tolist() == [[math.exp(-1)]]
    assert problem.expected["a.o"].value == -1 / 243
    assert problem.expected["a.o"].text == "-1/243"
    # an expression claims to be exact; a plain number its written precision
    assert Precision.of("-1/243") == Precision(0.0, None, MANY_DIGITS)
    assert Precision.of(problem.expected["z.o"].text).unit == 0.1


def test_an_expected_expression_is_judged_as_exact() -> None:
    text = BASE.replace("weights: [[0.4, 0.7]]", 'weights: [["1/3", 0]]').replace(
        "bias: 0.2", "bias: 0").replace("input: [1, 2]", "input: [0, 0]")
    # z.o = 0.1/3 + 0 (h1 = relu(0.1) = 0.1), exactly 1/30
    right = parse_problem(text + 'expected:\n  z.o: "1/30"\n')
    close = parse_problem(text + 'expected:\n  z.o: "1/30 + 1/10^7"\n')
    judged = {r.key: r.verdict for r in check_values(right, solve(right).values)}
    assert judged == {"z.o": "correct"}
    judged = {r.key: r.verdict for r in check_values(close, solve(close).values)}
    assert judged == {"z.o": "wrong"}  # 0.0333334 written as 0.0333334 would pass


@pytest.mark.parametrize("edit,message", [
    (("[[0.4, 0.7]]", '[[0.4, "0.7 x"]]'),
     '11:28: layer 2 weights row 1, column 2 "0.7 x": \'x\' is not a number: a number '
     'may be an expression of numbers and the constants e and pi'),
    (("learning_rate: 0.01", 'learning_rate: "-1/100"'),
     '14:16: learning_rate must be greater than 0, found -1/100'),
    (("learning_rate: 0.01", 'learning_rate: "0.01"'),
     "14:16: learning_rate must be a number, found a string ('0.01' is in quotes: remove "
     "them for a number)"),
    (("target: [1.0]", 'target: ["max(1, 2"]'),
     '16:19: target \'o\' "max(1, 2": the expression ends too early: expected \')\''),
    (("input: [1, 2]", "input: [1, 2/3]"),
     "15:12: input 'x2' must be a number, found a string ('2/3') (an expression of numbers "
     'goes in quotes: "2/3")'),
])
def test_expression_errors_name_the_place(edit: tuple[str, str], message: str) -> None:
    with pytest.raises(ProblemError) as caught:
        parse_problem(BASE.replace(*edit), path="p.yaml")
    assert str(caught.value).startswith(f"p.yaml:{message}")


# ------------------------------------------- issue 17: every error, better messages


def _errors(text: str) -> list[str]:
    from backprop_cli.errors import ProblemError

    try:
        parse_problem(text, "f.yaml")
    except ProblemError as error:
        return [str(e) for e in error.each()]
    raise AssertionError("the file should be invalid")


SAMPLES_FILE = """network:
  inputs: [x1]
  layers:
    - units: [h1]
      weights: [[0.5]]
loss: half_squared_error
learning_rate: 0.01
samples:
  - {input: [1], target: 1}
  - {input: [2], target: 0}
"""


def test_every_independent_error_is_reported() -> None:
    text = SAMPLES_FILE + ("optimizer: adamm\nweight_decay: -1\nexpected:\n  z.h1: 0.5\n"
                           "  a.h9@1: 3\n  loss: abc\nquiz: [grad.W1]\n")
    assert _errors(text) == [
        "f.yaml:11:12: unknown optimizer 'adamm' (did you mean 'adam'?)",
        "f.yaml:12:15: weight_decay must not be negative, found -1",
    ]  # the training settings first: the values below are read against them
    text = SAMPLES_FILE + "expected:\n  z.h1: 0.5\n  a.h9@1: 3\n  loss: abc\nquiz: [grad.W1]\n"
    errors = _errors(text)
    assert errors[0] == ("f.yaml:12:3: expected: unknown value key 'z.h1' (did you mean "
                         "'z.h1@1'? With samples, a sample's value ends in @k)")
    assert errors[1].startswith("f.yaml:13:3: expected: unknown value key 'a.h9@1'")
    assert errors[2] == "f.yaml:14:9: expected 'loss' must be a number, found a string ('abc')"
    assert errors[3].startswith("f.yaml:15:8: quiz: 'grad.W1' matches no value key")
    assert len(errors) == 4
    two_typos = "titel: x\n" + SAMPLES_FILE.replace("loss:", "los:")
    assert [e.split(": ", 1)[1] for e in _errors(two_typos)] == [
        "unknown key 'titel' in the problem (did you mean 'title'?)",
        "unknown key 'los' in the problem (did you mean 'loss'?)"]


def test_the_check_report_lists_every_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from backprop_cli.cli import cli

    path = tmp_path / "f.yaml"
    path.write_text(SAMPLES_FILE + "expected:\n  z.h1: 0.5\n  loss: abc\n")
    output = CliRunner().invoke(cli, ["check", str(path)]).output.splitlines()
    assert output[0] == f"{path}: invalid"
    assert output[1].startswith(f"  {path}:12:3: expected: unknown value key 'z.h1'")
    assert output[2].startswith(f"  {path}:13:9: expected 'loss' must be a number")


def test_top_level_network_keys_say_nest_it_under_network() -> None:
    text = SAMPLES_FILE.replace("network:\n  inputs: [x1]\n  layers:\n    - units: [h1]\n"
                                "      weights: [[0.5]]\n",
                                "inputs: [x1]\nlayers:\n  - {units: [h1], weights: [[0.5]]}\n")
    assert _errors(text) == ["f.yaml:1:1: 'inputs' belongs to the network: nest it under "
                             "network: (network:, then inputs: indented below it)"]


def test_a_matrix_without_its_outer_brackets_says_so() -> None:
    text = SAMPLES_FILE.replace("weights: [[0.5]]", "weights: [0.5], [0.7]")
    assert _errors(text) == ["f.yaml:5:16: weights: a matrix needs its outer brackets: "
                             "weights: [[0.5], [0.7]]"]


def test_a_quoted_name_as_a_target_keeps_its_message() -> None:
    with pytest.raises(ProblemError) as caught:
        parse_problem(BASE.replace("target: [1.0]", 'target: "o"'), path="p.yaml")
    assert str(caught.value) == ("p.yaml:16:9: target 'o' is not a number (naming the true "
                                 "unit is for cross_entropy only)")
    assert parse_problem(BASE.replace("target: [1.0]", 'target: "1/2"')).targets.tolist() == [
        [0.5]]


def test_network_keys_at_the_top_level_beside_network_say_indent_them() -> None:
    """Found by the fuzz job: network: with nothing below it, inputs: and layers: at its
    level. One error, at inputs:, that says what to do."""
    with pytest.raises(ProblemError) as error:
        parse_problem("  network:\n  inputs: 1\n  layers:", "p.yaml")
    assert str(error.value) == ("p.yaml:2:3: 'inputs' belongs to the network: indent it "
                                "below network:")
