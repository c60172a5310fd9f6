"""Layered networks (issue 19) end to end: reading, keys, the runner, check and solve."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_cli.cli import cli
from backprop_cli.engine.layered import final_loss, solve_layered
from backprop_cli.errors import ProblemError
from backprop_cli.kinds.exercise import kind_of, load_exercise, parse_exercise
from backprop_cli.model.layered import LayeredProblem
from backprop_cli.model.layered_keyspace import layered_keys
from backprop_cli.records import replace
from tests.conftest import PROBLEMS

CONV = PROBLEMS / "030_conv_pool_dropout.yaml"
RNN = PROBLEMS / "031_rnn_bptt.yaml"
CONV1D = PROBLEMS / "032_conv1d_stride_padding_avgpool.yaml"

CONV_TEXT = """\
network:
  inputs: {shape: [1, 4, 4]}
  layers:
    - type: conv2d
      name: C
      filters: 1
      kernel: [2, 2]
      weights: [[[[1, 0], [0, -1]]]]
      weight_name: K
      bias: [0.5]
      bias_name: c
      activation: relu
    - type: maxpool2d
      name: P
      size: 2
      stride: 1
    - type: flatten
    - units: [o]
      activation: sigmoid
      weights: [[0.1, -0.2, 0.3, 0.4]]
loss: half_squared_error
learning_rate: 0.1
input: [[[1, 2, 0, 1], [0, 1, 3, 1], [2, 1, 0, 0], [1, 0, 1, 2]]]
target: [1]
"""


def layered(text: str, steps: int | None = None) -> LayeredProblem:
    exercise = parse_exercise(text, "t.yaml", steps=steps)
    assert isinstance(exercise, LayeredProblem)
    return exercise


def run(*args: str, code: int = 0, input_text: str | None = None) -> str:
    result = CliRunner().invoke(cli, list(args), input=input_text)
    assert result.exit_code == code, result.output
    return result.output


# ------------------------------------------------------------------ reading


def test_the_issues_layers_are_read_as_a_layered_network() -> None:
    problem = layered(CONV_TEXT)
    assert [layer.type for layer in problem.layers] == ["conv2d", "maxpool2d", "flatten",
                                                        "dense"]
    assert [layer.output_shape for layer in problem.layers] == [(1, 3, 3), (1, 2, 2), (4,),
                                                                (1,)]
    assert problem.input_shape == (1, 4, 4)
    assert kind_of(problem).name == "layered"


def test_the_docs_numbers_of_the_core() -> None:
    # docs/layers.md: the same network through the layers directly
    values = solve_layered(layered(CONV_TEXT)).values
    assert [values[f"z.C[1,1,{j}]"] for j in (1, 2, 3)] == [0.5, -0.5, -0.5]
    assert round(values["a.o"], 6) == 0.832018


@pytest.mark.parametrize(("change", "message"), [
    (("type: conv2d", "type: conv2"), "t.yaml:4:13: layer 1: unknown layer type 'conv2' "
                                      "(did you mean 'conv2d'"),
    (("kernel: [2, 2]", "kernal: [2, 2]"), "t.yaml:7:7: unknown key 'kernal' in layer 1 "
                                           "(conv2d) (did you mean 'kernel'"),
    (("weights: [[[[1, 0], [0, -1]]]]", "weights: [[[[1, 0, 2], [0, -1, 2]]]]"),
     "t.yaml:8:19: layer 1 weights: expected shape 1×1×2×2, found 3 entries along axis 4"),
    (("size: 2\n      stride: 1", "size: 2\n      stride: 2"),
     # the message points back through flatten to the pooling stride that made the shape
     "t.yaml:20:17: layer 4 weights (a column per value of the output of layer 3 L3 "
     "(flatten: 1×1×1 -> 1), after layer 2 P (maxpool2d size 2×2 stride 2×2: 1×3×3 -> "
     "1×1×1)): expected shape 1×1, found 4 entries along axis 2"),
    (("    - type: flatten\n", ""), "t.yaml:17:7: layer 3 (dense): a dense layer takes a "
                                     "vector, found an input of shape [1, 2, 2]"),
    (("size: 2", "size: 5"), "t.yaml:13:7: layer 2 (maxpool2d): the window (5) is larger "
                             "than the input (3)"),
    (("input: [[[1, 2, 0, 1]", "input: [[[1, 2, 0]"),
     "t.yaml:23:10: input: expected shape 1×4×4, found 3 entries along axis 3"),
    (("bias_name: c", "bias_name: K"), "t.yaml:11:18: bias name 'K' is used twice"),
    (("[0, -1]]]]", "[0, x]]]]"), "t.yaml:8:31: layer 1 weights[1][1][2][2] must be a number, "
                                  "found a string ('x')"),
])
def test_mistakes_are_reported_at_their_place(change: tuple[str, str], message: str) -> None:
    with pytest.raises(ProblemError) as error:
        layered(CONV_TEXT.replace(*change))
    assert str(error.value).startswith(message), str(error.value)


def test_the_issues_example_as_printed_names_the_pooling_stride_behind_its_mask() -> None:
    # The issue's example pools its 3×3 conv output with size 2, stride 2 (1×1 out) but gives
    # a 2×2 mask and 4 dense weights: the error points back to the stride that made the shape.
    text = CONV_TEXT.replace("size: 2\n      stride: 1", "size: 2\n      stride: 2").replace(
        "    - type: flatten\n", "    - type: dropout\n      rate: 0.5\n"
        "      mask: [[[1, 0], [1, 1]]]\n    - type: flatten\n")
    with pytest.raises(ProblemError) as error:
        layered(text)
    assert "layer 3 mask, the shape of the output of layer 2 P (maxpool2d size 2×2 stride " \
           "2×2: 1×3×3 -> 1×1×1): expected shape 1×1×1, found 2 entries along axis 2" in str(
               error.value)


@pytest.mark.parametrize(("change", "message"), [
    (("loss: half_squared_error", "loss: binary_cross_entropy"), None),
    (("target: [1]", "target: [2]"), "target has 2, but binary_cross_entropy needs targets in "
                                     "[0, 1]"),
    (("target: [1]", "target: [-0.5]"), "target has -0.5, but binary_cross_entropy needs "
                                        "targets in [0, 1]"),
])
def test_targets_are_in_the_range_the_loss_takes_the_log_of(
        change: tuple[str, str], message: str | None) -> None:
    text = CONV_TEXT.replace("loss: half_squared_error", "loss: binary_cross_entropy").replace(
        *change)
    if message is None:
        assert layered(text).loss.name == "binary_cross_entropy"
        return
    with pytest.raises(ProblemError, match=re.escape(message)):
        layered(text)


def test_a_mistake_on_the_command_line_is_one_line_and_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(CONV_TEXT.replace("type: maxpool2d", "type: maxpool"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["solve", str(path), "--format", "plain"])
    assert result.exit_code == 1
    assert result.output.strip().endswith(
        "bad.yaml:12:13: layer 2: unknown layer type 'maxpool' (did you mean 'maxpool1d', "
        "'maxpool2d'?)") or "unknown layer type 'maxpool'" in result.output


def test_an_unknown_expected_key_suggests_the_nearest() -> None:
    with pytest.raises(ProblemError) as error:
        layered(CONV_TEXT + "expected:\n  grad.K[1,1,2,3]: 0\n")
    assert "unknown value key 'grad.K[1,1,2,3]'" in str(error.value)
    assert "did you mean" in str(error.value)


# ------------------------------------------------------------------ keys and values


@pytest.mark.parametrize("path", [CONV, RNN, CONV1D], ids=lambda p: p.stem)
def test_every_key_is_computed_in_hand_order(path: Path) -> None:
    problem = load_exercise(path)
    assert isinstance(problem, LayeredProblem)
    values = solve_layered(problem).values
    assert list(values) == layered_keys(problem)
    assert len(set(values)) == len(values)


def test_the_rnn_keys_carry_the_time_step() -> None:
    values = solve_layered(load_exercise(RNN)).values  # type: ignore[arg-type]
    assert {"z.h#2", "a.y#3", "grad.a.h#1", "grad.input.x#3", "final.a.y#3"} - set(values) == set()
    assert "grad.w" in values and "grad.w#1" not in values


def _loss(problem: LayeredProblem) -> float:
    return solve_layered(replace(problem, steps=0)).values["loss"]


@pytest.mark.parametrize("path", [CONV, RNN, CONV1D], ids=lambda p: p.stem)
def test_gradients_are_the_slopes_of_the_loss(path: Path) -> None:
    problem = load_exercise(path)
    assert isinstance(problem, LayeredProblem)
    _finite_differences(problem, rel=1e-5, abs_tolerance=1e-9)


def test_an_update_moves_every_parameter_by_the_rate_times_its_gradient() -> None:
    values = solve_layered(layered(CONV_TEXT, steps=2)).values
    for key in ("K[1,1,1,1]", "c[1]", "W4[1,3]"):
        assert values["new." + key] == values[key] - 0.1 * values["grad." + key]
        assert values["step2." + key] == values["new." + key]
        assert values["change." + key] == values["new." + key] - values[key]


def test_loss_at_every_sums_the_steps_losses() -> None:
    text = RNN.read_text(encoding="utf-8").replace("target: [0.5]",
                                                   "targets: [[0.2], [0.4], [0.5]]")
    values = solve_layered(layered(text.replace("loss_at: last", "loss_at: every").split(
        "expected:")[0])).values
    assert values["loss"] == pytest.approx(values["loss#1"] + values["loss#2"] + values["loss#3"])
    assert values["target.y#2"] == 0.4


def test_samples_carry_their_number() -> None:
    text = CONV_TEXT.replace("input: [[[1, 2, 0, 1]", "samples:\n  - input: [[[1, 2, 0, 1]")
    text = text.replace("target: [1]", "    target: [1]\n  - input: "
                        "[[[0, 1, 0, 1], [0, 1, 3, 1], [2, 1, 0, 0], [1, 0, 1, 2]]]\n"
                        "    target: [0]")
    text = text.replace("\n  - input: [[[0", "\n  - input: [[[0")
    text = text.replace("1, 2]]]\n    target", "1, 2]]]\n    target")
    values = solve_layered(layered(text)).values
    assert values["loss"] == pytest.approx((values["loss@1"] + values["loss@2"]) / 2)
    assert "z.C[1,1,1]@2" in values and "grad.input.x[1,1,1]@1" in values


# ------------------------------------------------------------------ check and solve


@pytest.mark.parametrize("path", [CONV, RNN, CONV1D], ids=lambda p: p.stem)
def test_the_hand_worked_problems_pass_check(path: Path) -> None:
    output = run("check", str(path))
    assert "passed" in output and "wrong" not in output


def test_a_wrong_value_fails_check(tmp_path: Path) -> None:
    path = tmp_path / "wrong.yaml"
    path.write_text(CONV.read_text(encoding="utf-8").replace("grad.c[1]: -1.569e-4",
                                                             "grad.c[1]: -1.6e-3"),
                    encoding="utf-8")
    output = run("check", str(path), code=1)
    assert "grad.c[1]" in output


def test_json_has_every_key_and_a_glob_selects_a_whole_tensor() -> None:
    everything = json.loads(run("solve", str(CONV), "--format", "json"))["values"]
    assert len(everything) == len(layered_keys(load_exercise(CONV)))  # type: ignore[arg-type]
    kernel = json.loads(run("solve", str(CONV), "--format", "json", "--keys",
                            "grad.K[*]"))["values"]
    assert list(kernel) == ["grad.K[1,1,1,1]", "grad.K[1,1,1,2]", "grad.K[1,1,2,1]",
                            "grad.K[1,1,2,2]"]
    one = json.loads(run("solve", str(CONV), "--format", "json", "--keys",
                         "grad.K[1,1,2,1]"))["values"]
    assert list(one) == ["grad.K[1,1,2,1]"]
    typo = run("solve", str(CONV), "--format", "json", "--keys", "z.C[9,9,9]", code=1)
    assert typo.strip() == (f"{CONV}: --keys 'z.C[9,9,9]' matches no value key (did you mean "
                            "'z.C[1,3,3]' or 'z.C[1,3,2]' or 'z.C[1,3,1]'?)")


def test_the_rnn_solution_sums_over_time() -> None:
    text = run("solve", str(RNN), "--format", "plain")
    assert "∂L/∂w = δ_h⟨1⟩·x⟨1⟩ + δ_h⟨2⟩·x⟨2⟩ + δ_h⟨3⟩·x⟨3⟩" in text
    assert "∂L/∂u = δ_h⟨1⟩·0 + δ_h⟨2⟩·a_h⟨1⟩ + δ_h⟨3⟩·a_h⟨2⟩" in text


def test_the_format_reference_examples_solve() -> None:
    text = (PROBLEMS.parent / "docs" / "format.md").read_text(encoding="utf-8")
    section = text.split("## Layers beyond dense", 1)[1].split("\n## ", 1)[0]
    blocks = section.split("```yaml\n")[1:]
    assert len(blocks) == 2
    for block in blocks:
        problem = layered(block.split("```", 1)[0])
        assert solve_layered(problem).values["loss"] > 0


@pytest.mark.parametrize("args", [
    ["solve", "{file}", "--format", "latex"], ["check", "{file}"], ["gradcheck", "{file}"],
    ["probe", "{file}", "w+=0.1"], ["train", "{file}", "--steps", "5"],
    ["surface", "{file}", "w", "u", "--steps", "2"], ["diagram", "{file}"],
    ["vary", "{file}", "--seed", "1", "--count", "1", "-o", "{tmp}"],
    ["export", "moodle", "{file}", "-o", "{tmp}/quiz.xml"],
], ids=lambda args: args[0] if args[0] != "export" else "export")
def test_every_network_command_takes_a_layered_network(tmp_path: Path, args: list[str]) -> None:
    run(*[arg.format(file=RNN, tmp=tmp_path) for arg in args])


def test_quiz_asks_the_keys_and_judges_the_answers() -> None:
    result = CliRunner().invoke(cli, ["quiz", str(RNN), "--keys", "z.h#*", "--keys",
                                      "grad.w"], input="0.6\n0.833\n0.25\n0.1189\n")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "[1/4] z.h#1 (the pre-activation of h at time step 1) = " in out
    assert "✓ right (z.h#1 = 0.6)" in out
    assert "✓ right (z.h#2 = 0.833345)" in out  # 0.833: truncated
    assert "✗ wrong: z.h#3 = 0.214041" in out
    assert "[4/4] grad.w (∂L/∂w) = " in out
    assert "✓ right (grad.w = 0.118886)" in out
    assert "Score: 3/4" in out


def test_quiz_glob_with_brackets_selects_a_tensor() -> None:
    result = CliRunner().invoke(cli, ["quiz", str(CONV), "--keys", "grad.K[*]"], input="q\n")
    assert "4 questions" in result.output
    missing = CliRunner().invoke(cli, ["quiz", str(CONV), "--keys", "grad.Q[*]"])
    assert missing.exit_code != 0 and "matches no computed value key" in missing.output


# ------------------------------------------------------------------ random networks


def _finite_differences(problem: LayeredProblem, rel: float = 1e-4,
                        abs_tolerance: float = 1e-7) -> None:
    """Every parameter's recorded gradient is the slope of the recorded loss."""
    values = solve_layered(problem).values
    for layer, param in problem.parameters():
        for flat, name in enumerate(param.element_keys()):
            h = 1e-6
            losses = []
            for sign in (1, -1):
                nudged = param.values.copy()
                nudged.flat[flat] += sign * h
                params = tuple(replace(p, values=nudged) if p is param else p
                               for p in layer.params)
                layers = [replace(spec, params=params) if spec is layer else spec
                          for spec in problem.layers]
                losses.append(_loss(replace(problem, layers=layers)))
            numeric = (losses[0] - losses[1]) / (2 * h)
            assert values["grad." + name] == pytest.approx(numeric, rel=rel,
                                                           abs=abs_tolerance), name


@settings(max_examples=12, deadline=None)
@given(st.data())
def test_random_conv_networks_have_the_slopes_of_their_loss(data: st.DataObject) -> None:
    dims = data.draw(st.sampled_from([1, 2]))
    size = data.draw(st.integers(4, 6))
    shape = [data.draw(st.integers(1, 2)), *([size] * dims)]
    kernel = data.draw(st.integers(1, 3))
    stride = data.draw(st.integers(1, 2))
    padding = data.draw(st.integers(0, 1))
    samples = data.draw(st.integers(1, 2))
    rng = np.random.default_rng(data.draw(st.integers(0, 10**6)))
    activation = data.draw(st.sampled_from(["tanh", "sigmoid", "identity", "leaky_relu"]))
    pool = data.draw(st.sampled_from(["max", "avg", None]))
    conv_out = (size + 2 * padding - kernel) // stride + 1
    pool_layer = ""
    spatial = conv_out
    if pool is not None and conv_out >= 2:
        pool_layer = f"    - {{type: {pool}pool{dims}d, size: 2, stride: 1}}\n"
        spatial = conv_out - 1
    filters = 2
    flat = filters * spatial**dims
    loss, out_act, outputs = data.draw(st.sampled_from([
        ("half_squared_error", "identity", 1), ("cross_entropy", "softmax", 3),
        ("binary_cross_entropy", "sigmoid", 1)]))
    mask = rng.integers(0, 2, (filters, *([spatial] * dims))).tolist()
    weights = rng.normal(0, 0.5, (filters, shape[0], *([kernel] * dims))).round(3).tolist()
    dense = rng.normal(0, 0.5, (outputs, flat)).round(3).tolist()

    def sample() -> str:
        x = rng.normal(0, 1, shape).round(2).tolist()
        if loss == "cross_entropy":
            target = [0.0] * outputs
            target[int(rng.integers(outputs))] = 1.0
        else:
            target = [float(rng.integers(0, 2))]
        return f"  - {{input: {x}, target: {target}}}\n"

    text = (f"network:\n  inputs: {{shape: {shape}}}\n  layers:\n"
            f"    - {{type: conv{dims}d, filters: {filters}, kernel: {kernel}, stride: {stride},"
            f" padding: {padding}, weights: {weights}, bias: 0.1, activation: {activation}}}\n"
            f"{pool_layer}"
            f"    - {{type: dropout, rate: 0.25, mask: {mask}}}\n"
            f"    - {{type: flatten}}\n"
            f"    - {{units: {outputs}, activation: {out_act}, weights: {dense}, bias: 0}}\n"
            f"loss: {loss}\nlearning_rate: 0.1\nsteps: 2\nsamples:\n"
            + "".join(sample() for _ in range(samples)))
    _finite_differences(layered(text))


@settings(max_examples=12, deadline=None)
@given(st.data())
def test_random_rnns_have_the_slopes_of_their_loss(data: st.DataObject) -> None:
    rng = np.random.default_rng(data.draw(st.integers(0, 10**6)))
    hidden = data.draw(st.integers(1, 3))
    inputs = data.draw(st.integers(1, 2))
    steps = data.draw(st.integers(1, 4))
    every = data.draw(st.booleans())
    activation = data.draw(st.sampled_from(["tanh", "sigmoid", "relu", "identity"]))

    def m(rows: int, cols: int) -> list[list[float]]:
        return rng.normal(0, 0.6, (rows, cols)).round(3).tolist()  # type: ignore[no-any-return]

    sequence = rng.normal(0, 1, (steps, inputs)).round(2).tolist()
    target = (f"targets: {rng.normal(0, 1, (steps, 1)).round(2).tolist()}" if every
              else f"target: [{rng.normal(0, 1):.2f}]")
    text = (f"network:\n  inputs: {[f'x{i + 1}' for i in range(inputs)]}\n  layers:\n"
            f"    - {{type: rnn, units: {hidden}, activation: {activation}, "
            f"weights: {m(hidden, inputs)}, recurrent: {m(hidden, hidden)}, bias: 0.05, "
            f"initial: {rng.normal(0, 0.3, hidden).round(2).tolist()}}}\n"
            f"    - {{units: [y], weights: {m(1, hidden)}, bias: [0.1]}}\n"
            f"sequence: {sequence}\n{target}\nloss_at: {'every' if every else 'last'}\n"
            "loss: half_squared_error\nlearning_rate: 0.1\n")
    _finite_differences(layered(text))


def test_final_loss_without_recording_is_the_solutions() -> None:
    problem = layered(CONV_TEXT, steps=3)
    assert final_loss(problem) == solve_layered(problem).values["final.loss"]


def test_an_overflow_is_an_invalid_file_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(CONV_TEXT.replace("weights: [[0.1, -0.2, 0.3, 0.4]]",
                                      "weights: [[1e308, 1e308, 1e308, 1e308]]").replace(
        "activation: sigmoid", "activation: identity") + "expected:\n  loss: 1\n",
        encoding="utf-8")
    output = run("check", str(path), code=1)
    assert "overflow" in output


def test_each_samples_parameter_gradients_average_to_the_batchs() -> None:
    text = RNN.read_text(encoding="utf-8").split("expected:")[0]
    text = text.replace("sequence: [[1], [0.5], [-1]]\ntarget: [0.5]\n",
                        "samples:\n  - {sequence: [[1], [0.5], [-1]], target: [0.5]}\n"
                        "  - {sequence: [[0], [2], [1]], target: [-0.5]}\n")
    values = solve_layered(layered(text)).values
    for name in ("w", "u", "b", "v"):
        assert values[f"grad.{name}"] == pytest.approx(
            (values[f"grad.{name}@1"] + values[f"grad.{name}@2"]) / 2, rel=1e-12)
    conv = CONV_TEXT.replace("input: [[[1, 2, 0, 1]", "samples:\n  - input: [[[1, 2, 0, 1]")
    conv = conv.replace("target: [1]", "    target: [1]")
    values = solve_layered(layered(conv)).values
    assert values["grad.K[1,1,1,1]@1"] == pytest.approx(values["grad.K[1,1,1,1]"], rel=1e-12)


DENSE = """\
network:
  inputs: [x1, x2]
  layers:
    - units: [h1, h2]
      activation: tanh
      weights: [[0.3, -0.2], [0.5, 0.4]]
      weight_names: [[w1, w2], [w3, w4]]
      bias: [0.1, -0.1]
      bias_names: [b1, b2]
    - units: [o]
      activation: sigmoid
      weights: [[0.7, -0.6]]
      weight_names: [[w5, w6]]
loss: half_squared_error
learning_rate: 0.5
steps: 3
{optimizer}
samples:
  - {{input: [1, 2], target: [1]}}
  - {{input: [-1, 0.5], target: [0]}}
"""


@pytest.mark.parametrize("optimizer", ["", "optimizer: momentum",
                                       "optimizer: adam\nweight_decay: 0.01"])
def test_a_dense_network_as_layers_has_the_dense_engines_values(optimizer: str) -> None:
    from backprop_cli import api as bp

    text = DENSE.format(optimizer=optimizer)
    dense = dict(bp.solve(bp.loads(text)).values)
    typed = text.replace("    - units:", "    - type: dense\n      units:")
    values = solve_layered(layered(typed)).values
    common = [key for key in dense if key in values]
    assert len(common) > 100
    assert any(key.startswith(("v.", "m.", "step3.s.")) for key in common) or not optimizer
    for key in common:
        assert values[key] == pytest.approx(dense[key], rel=1e-12, abs=1e-15), key


def test_frozen_parameters_keep_their_values() -> None:
    values = solve_layered(layered(CONV_TEXT.replace("learning_rate: 0.1", "learning_rate: 0.1\n"
                                                     "freeze: ['K[*]', 'W4[1,?]']"))).values
    assert values["new.K[1,1,1,1]"] == values["K[1,1,1,1]"] != values["final.c[1]"] - 1
    assert values["new.W4[1,2]"] == values["W4[1,2]"]
    assert values["grad.K[1,1,1,1]"] != 0
    assert values["new.c[1]"] != values["c[1]"]
    with pytest.raises(ProblemError, match=r"freeze: 'Q\[\*\]' matches no parameter"):
        layered(CONV_TEXT + "freeze: 'Q[*]'\n")


@pytest.mark.parametrize("path", [CONV, RNN, CONV1D], ids=lambda p: p.stem)
def test_input_gradients_are_the_slopes_of_the_loss(path: Path) -> None:
    problem = load_exercise(path)
    assert isinstance(problem, LayeredProblem)
    values = solve_layered(problem).values
    names = problem.input_value_names()
    for flat in range(problem.inputs[0].size):
        losses = []
        for sign in (1, -1):
            nudged = problem.inputs.copy()
            nudged.flat[flat] += sign * 1e-6
            losses.append(_loss(replace(problem, inputs=nudged)))
        numeric = (losses[0] - losses[1]) / 2e-6
        if problem.sequence:
            t, j = divmod(flat, len(names))
            key = f"grad.input.{names[j]}#{t + 1}"
        else:
            key = "grad.input." + names[flat]
        assert values[key] == pytest.approx(numeric, rel=1e-4, abs=1e-9), key


@pytest.mark.parametrize(("text", "message"), [
    (RNN.read_text(encoding="utf-8").replace("sequence: [[1], [0.5], [-1]]\n", "input: [1]\n"),
     "an rnn layer takes a sequence"),
    (CONV_TEXT + "loss_at: every\n", "loss_at is for a sequence (sequence:)"),
    (RNN.read_text(encoding="utf-8").replace("target: [0.5]", "targets: [[0.5]]"),
     "targets (one per step) need loss_at: every"),
    (RNN.read_text(encoding="utf-8").replace("loss_at: last", "loss_at: evry"),
     "loss_at must be one of last, every, found 'evry' (did you mean 'every'"),
    (CONV_TEXT.replace("    - units: [o]\n      activation: sigmoid\n"
                       "      weights: [[0.1, -0.2, 0.3, 0.4]]\n", ""),
     "the output layer (layer 3) is flatten: end the network with a dense layer"),
    (CONV_TEXT.replace("type: flatten", "type: dropout\n      rate: 0.5\n"
                       "      mask: [[[1, 2], [1, 1]]]"),
     "layer 3 mask must hold only 0 (dropped) and 1 (kept)"),
])
def test_more_mistakes_are_reported(text: str, message: str) -> None:
    with pytest.raises(ProblemError) as error:
        layered(text)
    assert message in str(error.value), str(error.value)
    assert str(error.value).startswith("t.yaml:")


def test_a_files_quiz_list_is_what_quiz_asks(tmp_path: Path) -> None:
    path = tmp_path / "q.yaml"
    path.write_text(CONV_TEXT + "quiz: ['grad.K[*]', loss]\n", encoding="utf-8")
    assert "5 questions" in run("quiz", str(path), input_text="q\n")
    with pytest.raises(ProblemError, match=r"t.yaml:25:8: quiz: 'grad.Q\[\*\]' matches no"):
        layered(CONV_TEXT + "quiz: ['grad.Q[*]']\n")


def test_a_small_layered_file_cannot_ask_for_unbounded_work(tmp_path: Path) -> None:
    """Issue 18 for the layered kind (found by the fuzz job): steps: 1000000 on the conv
    exercise was read by listing every key of every step (gigabytes) before any budget;
    the budget now comes first, and a run that would record too many values is refused."""
    from backprop_cli.errors import ProblemError
    from backprop_cli.kinds.exercise import load_exercise

    path = tmp_path / "big.yaml"
    path.write_text(CONV.read_text(encoding="utf-8") + "steps: 1000000\n", encoding="utf-8")
    with pytest.raises(ProblemError) as error:
        load_exercise(path)
    assert "over the work budget" in str(error.value) and "--allow-big" in str(error.value)
    path.write_text(CONV.read_text(encoding="utf-8") + "steps: 200000\n", encoding="utf-8")
    with pytest.raises(ProblemError) as error:
        load_exercise(path)
    assert "values, over the limit of 2,000,000" in str(error.value)
