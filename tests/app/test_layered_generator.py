"""`backprop new --layers` with conv, pooling, dropout, flatten and rnn layers: the grammar,
its errors, and generated files that pass check for many seeds and layer combinations."""

from __future__ import annotations

import shlex
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_cli.app.generator import GeneratorError
from backprop_cli.app.layered_generator import (
    SHOWN_PER_TENSOR,
    LayeredOptions,
    LayerItem,
    generate_layered,
    is_layered,
    parse_architecture,
    usable,
)
from backprop_cli.cli import cli
from backprop_cli.engine.layered import solve_layered
from backprop_cli.kinds.exercise import parse_exercise
from backprop_cli.kinds.layered import KIND
from backprop_cli.model.layered import LayeredProblem


def _problem(text: str) -> LayeredProblem:
    problem = parse_exercise(text, "<test>")
    assert isinstance(problem, LayeredProblem)
    return problem


# ------------------------------------------------------------------ grammar


def test_dense_spellings_stay_the_dense_generator() -> None:
    assert not is_layered("2-3-1")
    assert not is_layered("2x3x1")  # today's other spelling of the same network
    assert not is_layered("2,3,1")
    assert is_layered("1x4x4-conv2d:1x2x2-1")
    assert is_layered("2-rnn:2-1")
    assert is_layered("2-flatten-1")


def test_the_grammar_of_each_item() -> None:
    arch = parse_architecture("2x5x5-conv2d:3x3x2/s2/p1-maxpool2d:2/s1-dropout:0.25-4-1")
    assert arch.input_shape == (2, 5, 5)
    assert not arch.sequence
    assert arch.items == (
        LayerItem("conv2d", "conv2d:3x3x2/s2/p1", size=3, kernel=(3, 2), stride=(2, 2),
                  padding=(1, 1)),
        LayerItem("maxpool2d", "maxpool2d:2/s1", size=2, kernel=(2, 2), stride=(1, 1)),
        LayerItem("dropout", "dropout:0.25", rate=0.25),
        LayerItem("flatten", ""),  # inserted before the dense layer that reads a tensor
        LayerItem("dense", "4", size=4),
        LayerItem("dense", "1", size=1),
    )
    # (5 + 2·1 − 3)//2 + 1 = 3 rows, (5 + 2 − 2)//2 + 1 = 3 columns; pool 2 stride 1: 2×2
    assert arch.shapes(1) == [(2, 5, 5), (3, 3, 3), (3, 2, 2), (3, 2, 2), (12,), (4,), (1,)]


def test_pool_stride_defaults_to_its_size_and_conv1d() -> None:
    arch = parse_architecture("1x8-conv1d:2x3/p1-avgpool1d:2-flatten-1")
    assert arch.items[0] == LayerItem("conv1d", "conv1d:2x3/p1", size=2, kernel=(3,),
                                      stride=(1,), padding=(1,))
    assert arch.items[1].stride == (2,)
    assert arch.shapes(1) == [(1, 8), (2, 8), (2, 4), (8,), (1,)]


def test_an_rnn_network_reads_a_sequence() -> None:
    arch = parse_architecture("3-rnn:2-1")
    assert arch.sequence
    assert arch.shapes(4) == [(4, 3), (4, 2), (4, 1)]


@pytest.mark.parametrize(("text", "message"), [
    ("1x4x4-conv3d:1-1", "'conv3d:1': unknown layer 'conv3d' (did you mean "
     "'conv2d' or 'conv1d'?); expected a number (dense units), conv2d:FxKxK, conv1d:FxK (F "
     "filters, a kernel of K; /sN stride, /pN padding), maxpool2d:K, avgpool2d:K, "
     "maxpool1d:K, avgpool1d:K (/sN stride), dropout:RATE, flatten or rnn:UNITS"),
    ("1x4x4-conv2d:1x2-1", "'conv2d:1x2': conv2d takes filters x kernel height "
     "x kernel width, each 1 to 64, e.g. conv2d:2x3x3 (2 filters of 3×3), with optional /s2 "
     "(stride) and /p1 (padding)"),
    ("1x8-conv1d:2-1", "'conv1d:2': conv1d takes filters x kernel length, each "
     "1 to 64, e.g. conv1d:2x3 (2 filters of length 3), with optional /s2 (stride) and /p1 "
     "(padding)"),
    ("1x4x4-conv2d:1x2x2/q2-1", "'conv2d:1x2x2/q2': unknown suffix '/q2': "
     "expected /sN (stride) or /pN (padding)"),
    ("1x4x4-maxpool2d:2/p1-1", "'maxpool2d:2/p1': unknown suffix '/p1': "
     "expected /sN (stride)"),
    ("1x4x4-conv2d:1x2x2/s0-1", "'conv2d:1x2x2/s0': the stride /s0 must be "
     "between 1 and 64"),
    ("1x4x4-maxpool2d:x-1", "'maxpool2d:x': maxpool2d takes the window's "
     "size, 1 to 64, e.g. maxpool2d:2, with an optional /s1 (stride; default the size)"),
    ("1x4x4-maxpool2d-1", "'maxpool2d': maxpool2d needs its setting after ':', "
     "e.g. maxpool2d:2"),
    ("4-dropout:1-1", "'dropout:1': dropout takes a rate at least 0 and below "
     "1, e.g. dropout:0.5"),
    ("4-dropout:half-1", "'dropout:half': dropout takes a rate at least 0 and "
     "below 1, e.g. dropout:0.5"),
    ("1x4x4-flatten:2-1", "'flatten:2': flatten takes no setting: write flatten"),
    ("2-rnn:0-1", "'rnn:0': an rnn layer needs 1 to 64 units, e.g. rnn:2"),
    ("2-rnn:2-maxpool1d:2-1", "'maxpool1d:2': after an rnn layer: dense and "
     "dropout layers only (they apply at every time step)"),
    ("1x4-conv1d:1x2-rnn:2-1", "'rnn:2': an rnn layer reads the sequence: only "
     "dense and dropout layers may come before it"),
    ("1x4x4-rnn:2-1", "'1x4x4': an rnn network's input is a number: the inputs "
     "of one time step"),
    ("1x4x4-conv2d:1x2x2", "'conv2d:1x2x2': the last layer is the output, whose "
     "units the loss reads: a number (dense units) or rnn:UNITS"),
    ("1x2x2-conv2d:1x3x3-1", "'conv2d:1x3x3': the kernel (3) is larger than the "
     "input (2)"),
    ("4-conv1d:1x2-1", "'conv1d:1x2': conv1d takes an input of channels × "
     "length, found one of shape [4]"),
    ("a-conv1d:1x2-1", "'a': the first item is the input: a number of inputs, "
     "CxL (conv1d: channels x length) or CxHxW (conv2d: channels x height x width), each 1 "
     "to 64, e.g. 1x4x4"),
    ("1x4x4-conv2d:1x2x2/s2/s3-1", "'conv2d:1x2x2/s2/s3': '/s3' repeats the "
     "stride"),
    ("1x4x4-conv2d:\u0661x2x2-1", "'conv2d:\u0661x2x2': conv2d takes filters x "
     "kernel height x kernel width, each 1 to 64, e.g. conv2d:2x3x3 (2 filters of 3×3), with "
     "optional /s2 (stride) and /p1 (padding)"),
    ("64x64x64-conv2d:1x2x2-1", "'64x64x64': the input has 262,144 values: at "
     "most 4,096 in an exercise"),
    ("16x16x16-conv2d:64x3x3-1", "'conv2d:64x3x3': its output would have 12,544 "
     "values: at most 4,096 in an exercise"),  # 64 filters × 14 × 14
    ("1x64x64-flatten-64-1", "'64': its weights would have 262,144 values: at "
     "most 4,096 in an exercise"),  # 64 units × 4096 inputs
    ("1x4x4--1", "'1x4x4--1' is not a network: write the input and each layer joined by "
     "'-', e.g. 1x4x4-conv2d:1x2x2-maxpool2d:2-1"),
])
def test_bad_items_name_the_item_and_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(GeneratorError) as error:
        parse_architecture(text)
    assert str(error.value) == message


def test_activations_count_per_layer_with_one() -> None:
    arch = parse_architecture("1x4x4-conv2d:1x2x2-maxpool2d:2-1")
    with pytest.raises(GeneratorError, match="3 activations for 2 layers with an activation "
                       r"\(conv, dense, rnn\)"):
        generate_layered(LayeredOptions(arch, activations=("relu", "relu", "sigmoid"), seed=1))
    with pytest.raises(GeneratorError, match="softmax is for dense layers, not 'rnn:2'"):
        generate_layered(LayeredOptions(parse_architecture("2-rnn:2-2"),
                                        activations=("softmax", "softmax"),
                                        loss="cross_entropy", seed=1))


# ------------------------------------------------------------------ generated files

COMBINATIONS = [
    "1x4x4-conv2d:1x2x2-maxpool2d:2-flatten-1",
    "1x5x5-conv2d:2x3x3/s2/p1-2",
    "2x4x4-conv2d:2x2x2-avgpool2d:2/s1-dropout:0.5-3-1",
    "1x8-conv1d:2x3/s2/p1-avgpool1d:2-dropout:0.5-1",
    "1x6-conv1d:1x2-maxpool1d:2-1",
    "1x6x6-conv2d:2x3x3-maxpool2d:2-conv2d:1x2x2/p1-2",
    "4-dropout:0.5-2",
    "2-rnn:2-1",
    "1-3-rnn:2-2",
    "2-rnn:2-dropout:0.5-1",
    "1-dropout:0.25-rnn:2-dropout:0.5-2-1",
]


def _check(text: str) -> LayeredProblem:
    problem = _problem(text)
    report = KIND.check(problem, "<test>")
    assert report.results and all(result.passed for result in report.results), text
    return problem


@pytest.mark.parametrize("layers", COMBINATIONS)
@pytest.mark.parametrize("nice", [False, True])
def test_generated_files_pass_check_for_many_seeds(layers: str, nice: bool) -> None:
    arch = parse_architecture(layers)
    for seed in range(8):
        for loss_at in ("last", "every") if arch.sequence else ("last",):
            options = LayeredOptions(arch, seed=seed, nice=nice, loss_at=loss_at,
                                     samples=1 + seed % 2)
            generated = generate_layered(options)
            problem = _check(generated.text)
            assert usable(problem, nice=nice)  # no dead unit, no pooling tie
            assert problem.loss_at == loss_at and problem.n_samples == 1 + seed % 2
            bare = _problem(generated.question)
            assert not bare.expected


def test_a_large_map_keeps_the_ties_no_draw_avoids() -> None:
    """64×64 after a ReLU: some 2×2 windows are all zeros whatever the kernel; the file is
    still made (the worked solution names the first maximum) and passes check."""
    arch = parse_architecture("1x64x64-conv2d:1x3x3-maxpool2d:2-1")
    problem = _check(generate_layered(LayeredOptions(arch, seed=1, nice=True)).text)
    assert usable(problem, ties=True)
    assert not usable(problem)  # the ties are there


def test_the_same_seed_gives_the_same_file() -> None:
    options = LayeredOptions(parse_architecture(COMBINATIONS[0]), seed=7, nice=True)
    assert generate_layered(options).text == generate_layered(options).text
    other = LayeredOptions(parse_architecture(COMBINATIONS[0]), seed=8, nice=True)
    assert generate_layered(other).text != generate_layered(options).text


def test_conv_answers_agree_with_a_hand_written_loop() -> None:
    """The published z of a strided, padded conv2d, recomputed by a plain loop over the
    file's numbers (cross-correlation, zeros around the input)."""
    text = generate_layered(LayeredOptions(parse_architecture("1x5x5-conv2d:2x3x3/s2/p1-2"),
                                           seed=3, nice=True)).text
    doc = yaml.safe_load(text)
    x = np.pad(np.array(doc["input"], dtype=float), [(0, 0), (1, 1), (1, 1)])
    conv = doc["network"]["layers"][0]
    kernel = np.array(conv["weights"], dtype=float)
    bias = np.array(conv["bias"], dtype=float)
    for f in range(2):
        for i in range(3):
            for j in range(3):
                total = bias[f]
                for c in range(1):
                    for p in range(3):
                        for q in range(3):
                            total += kernel[f, c, p, q] * x[c, 2 * i + p, 2 * j + q]
                key = f"z.L1[{f + 1},{i + 1},{j + 1}]"
                if key in doc["expected"]:
                    assert float(doc["expected"][key]) == pytest.approx(total, abs=5e-4 * max(
                        1, abs(total)))


def test_nice_draws_tenths_and_small_whole_inputs() -> None:
    text = generate_layered(LayeredOptions(parse_architecture(COMBINATIONS[2]), seed=2,
                                           nice=True)).text
    doc = yaml.safe_load(text)
    inputs = np.array(doc["input"], dtype=float)
    assert set(inputs.ravel()) <= {-2, -1, 1, 2, 3}
    weights = np.array(doc["network"]["layers"][0]["weights"], dtype=float)
    assert np.allclose(weights * 10, np.round(weights * 10)) and not np.any(weights == 0)
    mask = np.array(doc["network"]["layers"][2]["mask"])
    assert set(mask.ravel()) <= {0, 1} and mask.any()


def test_big_tensors_publish_their_first_values_and_say_so() -> None:
    text = generate_layered(LayeredOptions(parse_architecture("1x6x6-conv2d:2x3x3-2"),
                                           seed=1, nice=True)).text
    assert "# step 1's values; of a tensor of more than 12 values the first 12" in text
    problem = _problem(text)
    grads = [key for key in problem.expected if key.startswith("grad.W1[")]
    assert len(grads) == SHOWN_PER_TENSOR
    assert grads[0] == "grad.W1[1,1,1,1]" and grads[-1] == "grad.W1[2,1,1,3]"
    values = solve_layered(problem).values
    assert len([k for k in values if k.startswith("grad.W1[")]) == 18


def test_generated_rnn_file_has_the_sequence_and_every_steps_targets() -> None:
    text = generate_layered(LayeredOptions(parse_architecture("2-rnn:2-1"), seed=5,
                                           nice=True, sequence_length=4,
                                           loss_at="every")).text
    problem = _check(text)
    assert problem.sequence and problem.time_steps == 4 and problem.targets.shape == (1, 4, 1)
    assert "loss#4" in solve_layered(problem).values
    assert "--sequence-length 4 --loss-at every" in text.splitlines()[0]


# ------------------------------------------------------------------ the command


def _help_examples() -> list[str]:
    result = CliRunner().invoke(cli, ["new", "--help"])
    return [line.strip() for line in result.output.splitlines()
            if line.strip().startswith("backprop new ")]


def test_help_has_layered_examples() -> None:
    examples = _help_examples()
    assert any("conv2d" in e for e in examples) and any("rnn" in e for e in examples)


@pytest.mark.parametrize("example", _help_examples())
def test_each_help_example_runs(example: str, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = shlex.split(example.split("#")[0])[1:]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    written = [tmp_path / a for a in args if a.endswith(".yaml")]
    if not written:
        written = [tmp_path / "out.yaml"]
        written[0].write_text(result.stdout, encoding="utf-8")
    if "--no-answers" not in args and "--layers" in args:
        checked = CliRunner().invoke(cli, ["check", str(written[0])])
        assert checked.exit_code == 0 and "passed" in checked.output, checked.output


def test_command_errors() -> None:
    result = CliRunner().invoke(cli, ["new", "--layers", "1x4x4-conv2d:1x2-1"])
    assert result.exit_code == 2
    assert "Invalid value for --layers: 'conv2d:1x2': conv2d takes" in result.output
    result = CliRunner().invoke(cli, ["new", "--layers", "1x4x4-conv2d:1x2x2-1",
                                      "--loss-at", "every"])
    assert result.exit_code == 2
    assert "--loss-at is for a network with an rnn layer" in result.output
    result = CliRunner().invoke(cli, ["new", "--layers", "2-3-1", "--sequence-length", "4"])
    assert result.exit_code == 2
    assert "--sequence-length is for a network with an rnn layer" in result.output


def test_command_writes_a_file_quiz_and_solve_take(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    result = CliRunner().invoke(cli, ["new", "--layers", COMBINATIONS[0], "--seed", "7",
                                      "--nice", "--samples", "2", "--loss",
                                      "binary_cross_entropy", "--learning-rate", "0.5",
                                      "-o", str(path)])
    assert result.exit_code == 0, result.output
    problem = _check(path.read_text())
    assert problem.n_samples == 2 and problem.learning_rate == 0.5
    assert problem.loss.name == "binary_cross_entropy"
    solved = CliRunner().invoke(cli, ["solve", str(path), "--format", "plain"])
    assert solved.exit_code == 0 and "b4[1]ⁿᵉʷ = b4[1] − η·∂L/∂b4[1] = " in solved.output
    quiz = CliRunner().invoke(cli, ["quiz", str(path), "--keys", "loss"], input="0\n")
    assert quiz.exit_code in (0, 1) and "loss" in quiz.output


@st.composite
def _architectures(draw: st.DrawFn) -> str:
    """A random --layers: conv1d or conv2d (stride, padding), pooling, dropout, dense; or an
    rnn with dense layers around it."""
    if draw(st.booleans()):  # dense and dropout layers on either side of the rnn
        around = st.sampled_from(["", "2", "dropout:0.5"])
        return "-".join(item for item in [
            str(draw(st.integers(1, 3))), draw(around), f"rnn:{draw(st.integers(1, 3))}",
            draw(around), str(draw(st.integers(1, 2)))] if item)
    dims = draw(st.sampled_from([1, 2]))
    size = draw(st.integers(4, 7))
    channels = draw(st.integers(1, 2))
    kernel = draw(st.integers(1, 3))
    stride = draw(st.integers(1, 2))
    padding = draw(st.integers(0, 1))
    conv = f"conv{dims}d:{draw(st.integers(1, 2))}" + f"x{kernel}" * dims
    conv += (f"/s{stride}" if stride > 1 else "") + (f"/p{padding}" if padding else "")
    items = ["x".join([str(channels), *[str(size)] * dims]), conv]
    out = (size + 2 * padding - kernel) // stride + 1
    if out >= 2 and draw(st.booleans()):
        items.append(f"{draw(st.sampled_from(['max', 'avg']))}pool{dims}d:2")
    if draw(st.booleans()):
        items.append(f"dropout:{draw(st.sampled_from(['0.25', '0.5']))}")
    items.append(str(draw(st.integers(1, 2))))
    return "-".join(items)


@settings(max_examples=40, deadline=None)
@given(_architectures(), st.integers(0, 10_000), st.booleans(), st.sampled_from(["last", "every"]),
       st.integers(1, 3))
def test_any_combination_passes_check(layers: str, seed: int, nice: bool, loss_at: str,
                                      samples: int) -> None:
    arch = parse_architecture(layers)
    options = LayeredOptions(arch, seed=seed, nice=nice, samples=samples,
                             loss_at=loss_at if arch.sequence else "last")
    try:
        generated = generate_layered(options)
    except GeneratorError as error:  # a draw that finds no usable numbers says so
        assert "could not draw" in str(error)
        return
    _check(generated.text)


def test_a_dropout_after_an_rnn_is_generated_and_solved(tmp_path: Path) -> None:
    # new refused it while solve could not write it (a dropout's mask per step and unit):
    # both work now
    path = tmp_path / "g.yaml"
    result = CliRunner().invoke(cli, ["new", "--layers", "2-rnn:2-dropout:0.5-1", "--seed",
                                      "4", "-o", str(path)])
    assert result.exit_code == 0, result.output
    assert "type: dropout" in path.read_text(encoding="utf-8")
    for args in (["check"], *[["solve", "--format", fmt] for fmt in
                              ("plain", "markdown", "latex", "html", "json")]):
        result = CliRunner().invoke(cli, [args[0], str(path), *args[1:]])
        assert result.exit_code == 0, (args, result.output)


def test_a_draw_that_overflows_is_a_usage_error_not_a_crash() -> None:
    # dropout 0.999 scales kept values by 1,000: the softmax saturates and ∂L/∂a = −y/a
    # overflows; the generator says so (it ended in an internal error)
    result = CliRunner().invoke(cli, ["new", "--layers",
                                      "1x8-conv1d:2x3/s2-dropout:0.999-maxpool1d:2-2",
                                      "--loss", "cross_entropy", "--seed", "4"])
    assert result.exit_code == 2
    assert "Error: the drawn exercise overflows (grad.a.o1 is -inf: the numbers overflow); " \
           "try another seed, a smaller dropout rate or learning rate" in result.output
