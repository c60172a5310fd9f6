"""Samples from CSV and .npy files, weights and biases from .npy, random initialisation."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from backprop_cli.engine import solve
from backprop_cli.errors import ProblemError
from backprop_cli.files.datafiles import initialise
from backprop_cli.kinds.exercise import load_problem

NETWORK = """
network:
  inputs: [x1, x2]
  layers:
    - units: [h1, h2]
      activation: sigmoid
      weights: {weights}
      {bias}
    - units: [y]
      activation: sigmoid
      weights: [[0.7, 0.8]]
loss: binary_cross_entropy
learning_rate: 0.5
"""

XOR_CSV = "x1,x2,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n"


def write_problem(folder: Path, data: str, weights: str = "[[0.5, -0.4], [-0.3, 0.6]]",
                  bias: str = "bias: [0.1, -0.1]", name: str = "p.yaml") -> Path:
    path = folder / name
    path.write_text(NETWORK.format(weights=weights, bias=bias) + data, encoding="utf-8")
    return path


def load_error(path: Path) -> str:
    with pytest.raises(ProblemError) as caught:
        load_problem(path)
    text = str(caught.value)
    assert text.startswith(f"{path}:"), text  # path:line:col: message
    assert caught.value.mark is not None
    return text


# ---------------------------------------------------------------------- CSV


def test_csv_samples_in_any_column_order(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "xor.csv").write_text("y, x2, x1\n0, 0, 0\n1, 1, 0\n\n1,0,1\n0,1,1\n")
    problem = load_problem(write_problem(tmp_path, "samples: {file: data/xor.csv}\n"))
    assert problem.has_samples
    assert problem.inputs.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert problem.targets.tolist() == [[0], [1], [1], [0]]
    assert "input.x2@4" in solve(problem, ["input.*"]).values


def test_data_paths_are_relative_to_the_problem_file(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "xor.csv").write_text(XOR_CSV)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    problem = load_problem(write_problem(tmp_path, "samples: {file: xor.csv}\n"))
    assert problem.n_samples == 4


@pytest.mark.parametrize("csv,message", [
    ("x1,x2\n0,0\n", "has no column for 'y'"),
    ("x1,x2,y,z\n0,0,0,1\n", "column 4: 'z' is not an input or output of the network"),
    ("x1,x_2,y\n0,0,0\n", "'x_2' is not an input or output of the network (did you mean 'x2'?)"),
    ("0,0,0\n1,1,0\n", "'0' is a number; the first row names the columns"),
    ("x1,x2,y,x1\n0,0,0,0\n", "column 'x1' appears twice"),
    ("x1,x2,y\n0,0,0\n0,abc,1\n", "line 3, column 'x2': 'abc' is not a finite number"),
    ("x1,x2,y\n0,0,0\n0,nan,1\n", "line 3, column 'x2': 'nan' is not a finite number"),
    ("x1,x2,y\n0,0\n", "line 2 has 2 values but the header has 3 columns"),
    ("x1,x2,y\n", "has a header but no samples"),
    ("", "is empty: it needs a header row"),
    ("x1,x2,y\n0,0,2\n", "sample 1 (line 2), column 'y' is 2, but binary_cross_entropy needs "
                         "targets in [0, 1]"),
])
def test_csv_errors_name_the_file_line_and_column(tmp_path: Path, csv: str,
                                                  message: str) -> None:
    (tmp_path / "d.csv").write_text(csv)
    text = load_error(write_problem(tmp_path, "samples: {file: d.csv}\n"))
    assert message in text
    if "'d.csv'" not in text:
        assert "samples targets" in text


def test_csv_file_errors(tmp_path: Path) -> None:
    assert "no such file 'missing.csv' (paths are relative to the problem file)" in load_error(
        write_problem(tmp_path, "samples: {file: missing.csv}\n"))
    (tmp_path / "folder.csv").mkdir()
    assert "is a folder" in load_error(write_problem(tmp_path, "samples: {file: folder.csv}\n"))
    np.save(tmp_path / "x.npy", np.zeros((4, 2)))
    assert "a .npy array has no header" in load_error(
        write_problem(tmp_path, "samples: {file: x.npy}\n"))
    (tmp_path / "latin1.csv").write_bytes("x1,x2,y\n0,0,0\n# \xe9\n".encode("latin-1"))
    assert "not UTF-8" in load_error(write_problem(tmp_path, "samples: {file: latin1.csv}\n"))
    assert "unknown key 'fil' in samples" in load_error(
        write_problem(tmp_path, "samples: {fil: d.csv}\n"))


# --------------------------------------------------------------------- .npy


def test_npy_samples_and_weights(tmp_path: Path) -> None:
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.int64)  # integers are numbers
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.array([0.0, 1.0, 1.0, 0.0]))  # one output: 1-D is fine
    w = np.array([[0.25, -0.5], [0.75, 0.125]])
    np.save(tmp_path / "w.npy", w)
    np.save(tmp_path / "b.npy", np.array([[0.5], [-0.25]]))  # a column is fine for a bias
    problem = load_problem(write_problem(
        tmp_path, "samples: {inputs: x.npy, targets: y.npy}\n",
        weights="{file: w.npy}", bias="bias: {file: b.npy}"))
    assert problem.inputs.dtype == np.float64 and problem.inputs.tolist() == x.tolist()
    assert problem.targets.shape == (4, 1)
    assert problem.layers[0].weights.tolist() == w.tolist()
    assert problem.layers[0].bias is not None
    assert problem.layers[0].bias.tolist() == [0.5, -0.25]
    values = solve(problem).values
    assert values["z.h1@4"] == pytest.approx(0.25 - 0.5 + 0.5)


@pytest.mark.parametrize("arrays,weights,bias,message", [
    ({"w.npy": np.zeros((2, 3))}, "{file: w.npy}", "",
     "layer 1 weights: the file has shape 2×3 but the layer needs 2×2"),
    ({"w.npy": np.zeros((1, 2))}, "{file: w.npy}", "",
     "the file has shape 1×2 but the layer needs 2×2"),
    ({"b.npy": np.zeros(3)}, "[[1, 2], [3, 4]]", "bias: {file: b.npy}",
     "layer 1 bias: the file has shape 3 but the layer needs 2 values, one per unit"),
    ({"w.npy": np.array([[1.0, np.inf], [0, 0]])}, "{file: w.npy}", "",
     "has inf at index [0, 1]: every value must be a finite number"),
    ({"w.npy": np.array([["a", "b"], ["c", "d"]])}, "{file: w.npy}", "", "not real numbers"),
])
def test_npy_shape_and_content_errors(tmp_path: Path, arrays: dict[str, np.ndarray],
                                      weights: str, bias: str, message: str) -> None:
    for name, array in arrays.items():
        np.save(tmp_path / name, array)
    (tmp_path / "d.csv").write_text(XOR_CSV)
    text = load_error(write_problem(tmp_path, "samples: {file: d.csv}\n", weights=weights,
                                    bias=bias))
    assert message in text


def test_npy_samples_shape_errors(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.zeros((4, 3)))
    np.save(tmp_path / "x2.npy", np.zeros((4, 2)))
    np.save(tmp_path / "y3.npy", np.zeros(3))
    text = load_error(write_problem(tmp_path, "samples: {inputs: x.npy, targets: y3.npy}\n"))
    assert "samples inputs: the file has shape 4×3" in text and "2 columns" in text
    text = load_error(write_problem(tmp_path, "samples: {inputs: x2.npy, targets: y3.npy}\n"))
    assert "4 rows of inputs but 3 rows of targets" in text


def test_pickled_arrays_are_never_loaded(tmp_path: Path) -> None:
    np.save(tmp_path / "w.npy", np.array([[{"a": 1}, None], [1, 2]], dtype=object),
            allow_pickle=True)
    (tmp_path / "d.csv").write_text(XOR_CSV)
    text = load_error(write_problem(tmp_path, "samples: {file: d.csv}\n",
                                    weights="{file: w.npy}"))
    # no hint at allow_pickle: the fix it suggests would be unsafe
    assert "holds Python objects (pickled data)" in text and "allow_pickle" not in text


def test_npz_archives_are_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "w.npz", w=np.zeros((2, 2)))
    (tmp_path / "d.csv").write_text(XOR_CSV)
    text = load_error(write_problem(tmp_path, "samples: {file: d.csv}\n",
                                    weights="{file: w.npz}"))
    assert ".npz archive" in text


# ------------------------------------------------------------ initialisation


def test_init_is_the_documented_draw_and_biases_start_at_zero(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text(XOR_CSV)
    problem = load_problem(write_problem(tmp_path, "samples: {file: d.csv}\n",
                                         weights="{init: he, seed: 3}", bias=""))
    layer = problem.layers[0]
    # the recipe in the README: default_rng(seed).normal(0, √(2/fan_in), (units, inputs))
    expected = np.random.default_rng(3).normal(0.0, math.sqrt(2 / 2), size=(2, 2))
    assert layer.weights.tolist() == expected.tolist()
    assert layer.bias is not None and layer.bias.tolist() == [0.0, 0.0]
    assert "grad.b_h1" in solve(problem).values  # initialised biases are parameters
    again = load_problem(write_problem(tmp_path, "samples: {file: d.csv}\n",
                                       weights="{init: he, seed: 3}", bias=""))
    assert again.layers[0].weights.tolist() == layer.weights.tolist()
    other = load_problem(write_problem(tmp_path, "samples: {file: d.csv}\n",
                                       weights="{init: he, seed: 4}", bias=""))
    assert other.layers[0].weights.tolist() != layer.weights.tolist()
    no_bias = load_problem(write_problem(tmp_path, "samples: {file: d.csv}\n",
                                         weights="{init: xavier, seed: 3}", bias="bias: null"))
    assert no_bias.layers[0].bias is None
    given = load_problem(write_problem(tmp_path, "samples: {file: d.csv}\n",
                                       weights="{init: uniform, low: -1, high: 1, seed: 3}",
                                       bias="bias: 0.5"))
    assert given.layers[0].bias is not None and given.layers[0].bias.tolist() == [0.5, 0.5]
    assert given.layers[0].weights.tolist() == np.random.default_rng(3).uniform(
        -1, 1, size=(2, 2)).tolist()


def test_init_statistics() -> None:
    rows, cols = 300, 400  # fan_out, fan_in
    he = initialise("he", rows, cols, seed=1)
    assert he.shape == (rows, cols)
    assert abs(he.mean()) < 0.003
    assert he.std() == pytest.approx(math.sqrt(2 / cols), rel=0.01)
    xavier = initialise("xavier", rows, cols, seed=1)
    limit = math.sqrt(6 / (rows + cols))
    assert np.abs(xavier).max() <= limit
    assert np.abs(xavier).max() > 0.99 * limit
    assert xavier.var() == pytest.approx(limit ** 2 / 3, rel=0.02)  # uniform's variance
    uniform = initialise("uniform", rows, cols, seed=1, low=-0.2, high=0.6)
    assert uniform.min() >= -0.2 and uniform.max() < 0.6
    assert uniform.mean() == pytest.approx(0.2, abs=0.005)
    assert initialise("he", 3, 2, seed=9).tolist() == initialise("he", 3, 2, seed=9).tolist()


@pytest.mark.parametrize("weights,message", [
    ("{init: hee, seed: 1}", "unknown init 'hee' (did you mean 'he'?)"),
    ("{init: he}", "init needs a seed"),
    ("{init: he, seed: -1}", "seed must be a whole number ≥ 0"),
    ("{init: uniform, seed: 1}", "init uniform needs low and high"),
    ("{init: uniform, seed: 1, low: 1, high: -1}", "low (1) must be below high (-1)"),
    ("{init: he, seed: 1, low: 0}", "low is for init uniform"),
    ("{init: he, seed: 1, sead: 2}", "unknown key 'sead' in layer 1 weights (did you mean "
                                     "'seed'?)"),
    ("{fiel: w.npy}", "unknown key 'fiel' in layer 1 weights (did you mean 'file'?)"),
    ("{}", "give a matrix, {file: w.npy} or {init: he, seed: 1}"),
])
def test_init_errors(tmp_path: Path, weights: str, message: str) -> None:
    (tmp_path / "d.csv").write_text(XOR_CSV)
    text = load_error(write_problem(tmp_path, "samples: {file: d.csv}\n", weights=weights))
    assert message in text


def test_round_rounds_initialised_weights(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text(XOR_CSV)
    problem = load_problem(write_problem(tmp_path, "samples: {file: d.csv}\nround: 3\n",
                                         weights="{init: xavier, seed: 5}"))
    values = solve(problem).values
    drawn = problem.layers[0].weights[0, 0]
    assert drawn != round(drawn, 3)
    assert values["w_h1_x1"] == round(drawn, 3)
