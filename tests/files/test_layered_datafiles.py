"""A layered network's samples in NumPy files: `samples: {inputs: x.npy, targets: y.npy}`
(`sequences:` for a recurrent network) give the same run as the samples written inline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from backprop_cli.cli import cli
from backprop_cli.engine.layered import solve_layered
from backprop_cli.files.schema import problem_schema
from backprop_cli.files.yamlio import parse_yaml, to_python
from backprop_cli.kinds.exercise import load_exercise
from backprop_cli.model.layered import LayeredProblem
from tests.files.test_schema import Validator
from tests.kinds.test_layered import CONV_TEXT

INLINE_INPUT = "input: [[[1, 2, 0, 1], [0, 1, 3, 1], [2, 1, 0, 0], [1, 0, 1, 2]]]\ntarget: [1]\n"

RNN_TEXT = """\
network:
  inputs: [x]
  layers:
    - type: rnn
      units: [h]
      activation: tanh
      weights: [[0.5]]
      weight_names: [[w]]
      recurrent: [[0.9]]
      recurrent_names: [[u]]
      bias: 0.1
    - units: [y]
      weights: [[1.5]]
      weight_names: [[v]]
loss: half_squared_error
learning_rate: 0.1
"""


def load(path: Path) -> LayeredProblem:
    exercise = load_exercise(str(path))
    assert isinstance(exercise, LayeredProblem)
    return exercise


def inline_samples(inputs: np.ndarray, targets: np.ndarray, key: str) -> str:
    rows = [f"  - {{{key}: {x.tolist()}, target: {y.tolist()}}}"
            for x, y in zip(inputs, targets, strict=True)]
    return "samples:\n" + "\n".join(rows) + "\n"


def test_conv_samples_from_npy_files_equal_the_same_samples_inline(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    inputs = rng.integers(-2, 3, (3, 1, 4, 4)).astype(float)
    targets = np.array([1.0, 0.0, 0.5])
    np.save(tmp_path / "x.npy", inputs)
    np.save(tmp_path / "y.npy", targets)  # (N,) for one output
    base = CONV_TEXT.replace(INLINE_INPUT, "")
    (tmp_path / "files.yaml").write_text(
        base + "samples: {inputs: x.npy, targets: y.npy}\n", encoding="utf-8")
    (tmp_path / "inline.yaml").write_text(
        base + inline_samples(inputs, targets[:, None], "input"), encoding="utf-8")
    from_files = solve_layered(load(tmp_path / "files.yaml")).values
    written = solve_layered(load(tmp_path / "inline.yaml")).values
    assert from_files == written
    assert "grad.K[1,1,2,2]@3" in from_files


def test_rnn_sequences_from_npy_files_equal_the_same_sequences_inline(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    sequences = rng.normal(size=(2, 3))  # (N, T): one input per time step
    targets = np.array([[0.5], [-0.25]])
    np.save(tmp_path / "seq.npy", sequences)
    np.save(tmp_path / "y.npy", targets)
    (tmp_path / "files.yaml").write_text(
        RNN_TEXT + "samples: {sequences: seq.npy, targets: y.npy}\n", encoding="utf-8")
    (tmp_path / "inline.yaml").write_text(
        RNN_TEXT + inline_samples(sequences[:, :, None], targets, "sequence"),
        encoding="utf-8")
    assert solve_layered(load(tmp_path / "files.yaml")).values == solve_layered(
        load(tmp_path / "inline.yaml")).values


@pytest.mark.parametrize(("samples", "message"), [
    ("{inputs: x.npy, targets: x.npy}",
     "files.yaml:23:35: samples targets: the file has shape 2×1×4×4 but needs 2×1 (a sample "
     "per row, 1 output)"),
    ("{inputs: y.npy, targets: y.npy}",
     "files.yaml:23:19: samples inputs: the file has shape 2 but needs N×1×4×4"),
    ("{inputs: x.npy}", "files.yaml:23:10: missing required key 'targets' in samples"),
    ("{inputs: x.npy, targets: y.npy, extra: 1}",
     "files.yaml:23:42: unknown key 'extra' in samples"),
    ("{inputs: ../x.npy, targets: y.npy}",
     "files.yaml:23:19: samples inputs: '../x.npy' leads outside the problem file's folder"),
    ("{inputs: nothere.npy, targets: y.npy}",
     "files.yaml:23:19: samples inputs: no such file 'nothere.npy'"),
])
def test_a_data_file_that_does_not_fit_is_one_error_at_its_place(
        tmp_path: Path, samples: str, message: str) -> None:
    folder = tmp_path / "course"
    folder.mkdir()
    np.save(folder / "x.npy", np.ones((2, 1, 4, 4)))
    np.save(tmp_path / "x.npy", np.ones((2, 1, 4, 4)))
    np.save(folder / "y.npy", np.array([1.0, 0.0]))
    (folder / "files.yaml").write_text(
        CONV_TEXT.replace(INLINE_INPUT, f"samples: {samples}\n"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", str(folder / "files.yaml")])
    assert result.exit_code == 1
    assert f"{folder / message.split(':', 1)[0]}:{message.split(':', 1)[1]}" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("text", [
    CONV_TEXT.replace(INLINE_INPUT, "samples: {inputs: x.npy, targets: y.npy}\n"),
    RNN_TEXT + "samples: {sequences: seq.npy, targets: y.npy}\n",
])
def test_the_schema_knows_the_samples_files(text: str) -> None:
    validator = Validator(problem_schema())
    assert validator.errors(to_python(parse_yaml(text))) == []
    wrong = text.replace("targets: y.npy", "target: y.npy")
    assert validator.errors(to_python(parse_yaml(wrong))) != []


def test_parameters_from_npy_files_equal_the_same_numbers_inline(tmp_path: Path) -> None:
    np.save(tmp_path / "k.npy", np.array([[[[1.0, 0.0], [0.0, -1.0]]]]))
    np.save(tmp_path / "w.npy", np.array([[0.1, -0.2, 0.3, 0.4]]))
    np.save(tmp_path / "c.npy", np.array([0.5]))
    text = (CONV_TEXT.replace("weights: [[[[1, 0], [0, -1]]]]", "weights: {file: k.npy}")
            .replace("bias: [0.5]", "bias: {file: c.npy}")
            .replace("weights: [[0.1, -0.2, 0.3, 0.4]]", "weights: {file: w.npy}"))
    assert text.count("{file:") == 3
    (tmp_path / "files.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "inline.yaml").write_text(CONV_TEXT, encoding="utf-8")
    assert solve_layered(load(tmp_path / "files.yaml")).values == solve_layered(
        load(tmp_path / "inline.yaml")).values
    validator = Validator(problem_schema())
    assert validator.errors(to_python(parse_yaml(text))) == []


def test_a_parameter_file_of_another_shape_is_refused(tmp_path: Path) -> None:
    np.save(tmp_path / "k.npy", np.ones((1, 1, 3, 3)))
    path = tmp_path / "files.yaml"
    path.write_text(CONV_TEXT.replace("weights: [[[[1, 0], [0, -1]]]]",
                                      "weights: {file: k.npy}"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 1
    assert (f"{path}:8:23: layer 1 weights: the file has shape 1×1×3×3 but needs 1×1×2×2"
            in result.output)
