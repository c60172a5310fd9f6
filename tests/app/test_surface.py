"""`backprop surface`: the loss over two weights, the valley w1·w2 = 10 and the descent path."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from backprop_cli.app.surface import (
    SurfaceError,
    cell,
    json_document,
    loss_surface,
    parse_range,
    terminal_map,
)
from backprop_cli.cli import cli
from backprop_cli.kinds.exercise import load_problem
from tests.conftest import PROBLEMS

CHAIN = PROBLEMS / "003d_chain_trained_to_convergence.yaml"
SIGMOID = PROBLEMS / "003c_sigmoid_two_inputs.yaml"


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["surface", *args])


def test_the_chain_walks_into_the_valley_at_the_seeds_weights() -> None:
    surface = loss_surface(load_problem(CHAIN), "w1", "w2")
    assert surface.start == (2, 0.5)
    end_w1, end_w2 = surface.end
    assert (round(end_w1, 3), round(end_w2, 3)) == (3.391, 2.949)
    assert surface.path_loss[0] == 162
    assert surface.path_loss[-1] == pytest.approx(0, abs=1e-20)
    assert np.all(np.diff(surface.path_loss) <= 0)  # downhill all the way


def test_the_grid_is_the_loss_and_its_floor_is_the_hyperbola() -> None:
    surface = loss_surface(load_problem(CHAIN), "w1", "w2", size=(41, 31))
    w1, w2 = np.meshgrid(surface.xs, surface.ys)
    assert surface.loss == pytest.approx(0.5 * (20 - 2 * w1 * w2) ** 2)
    # the lowest point of each column lies next to w2 = 10 / w1
    step = surface.ys[1] - surface.ys[0]
    for i, x in enumerate(surface.xs):
        lowest = surface.ys[int(np.argmin(surface.loss[:, i]))]
        if surface.ys[0] < 10 / x < surface.ys[-1]:
            assert abs(lowest - 10 / x) <= step
    mx, my, _ = surface.minimum
    assert mx * my == pytest.approx(10, rel=0.05)


def test_other_parameters_are_held_or_trained() -> None:
    problem = load_problem(SIGMOID)
    held = loss_surface(problem, "w3", "w1", steps=20)
    assert held.fixed == {"w2": -0.3}
    # the path lies on the drawn slice: w2 did not move
    assert held.final["final.w2"] == -0.3
    both = loss_surface(problem, "w3", "w1", steps=20, train_others=True)
    assert both.final["final.w2"] != -0.3
    assert both.end != held.end


def test_ranges_and_cells() -> None:
    assert parse_range("0:4") == (0, 4)
    assert parse_range("−1:1") == (-1, 1)
    for bad in ("4:0", "1", "a:b", "0:inf"):
        with pytest.raises(SurfaceError):
            parse_range(bad)
    surface = loss_surface(load_problem(CHAIN), "w1", "w2", size=(11, 11),
                           x_range=(0, 10), y_range=(0, 10))
    assert list(surface.xs) == list(range(11))
    assert cell(surface, 0, 10) == (0, 0)  # the top left
    assert cell(surface, 10, 0) == (10, 10)
    assert cell(surface, 11, 0) is None


def test_parameter_mistakes() -> None:
    problem = load_problem(CHAIN)
    with pytest.raises(SurfaceError, match="no parameter 'w3'"):
        loss_surface(problem, "w1", "w3")
    with pytest.raises(SurfaceError, match="two different"):
        loss_surface(problem, "w1", "w1")


def test_terminal_map_marks_the_path() -> None:
    surface = loss_surface(load_problem(CHAIN), "w1", "w2", size=(61, 21))
    lines = terminal_map(surface)
    grid = [line.split("│", 1)[1] for line in lines[:21]]
    assert all(len(row) == 61 for row in grid)
    assert sum(row.count("S") for row in grid) == 1
    assert sum(row.count("E") for row in grid) == 1
    assert sum(row.count("•") for row in grid) >= 4
    start_row = next(r for r, row in enumerate(grid) if "S" in row)
    end_row = next(r for r, row in enumerate(grid) if "E" in row)
    assert start_row > end_row  # w2 grows: the end is higher up
    assert lines[-1].startswith("levels: (blank) ≥") and lines[-1].endswith("(log scale)")
    # the valley is the lightest band: blank or '·' cells where w1·w2 ≈ 10
    assert any(" " in row or "·" in row for row in grid[:6])


def test_json_has_no_nan_and_round_trips() -> None:
    surface = loss_surface(load_problem(CHAIN), "w1", "w2", size=(5, 4),
                           x_range=(-1e200, 1e200), y_range=(-1e200, 1e200))
    text = json.dumps(json_document(surface), allow_nan=False)  # raises on NaN or Infinity
    doc = json.loads(text)
    assert doc["grid"]["loss"][0][0] is None  # overflow
    assert doc["path"][0] == {"step": 0, "x": 2.0, "y": 0.5, "loss": 162.0}


def test_surface_command_plain() -> None:
    result = run(str(CHAIN), "w1", "w2")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "start  w1 = 2, w2 = 0.5, loss 162" in lines
    assert "end    w1 = 3.391, w2 = 2.949, loss 0 after 30 steps" in lines
    assert any(line.startswith("levels:") for line in lines)


def test_surface_command_json_and_options() -> None:
    result = run(str(CHAIN), "w1", "w2", "--steps", "10", "--x-range", "1:5", "--y-range",
                 "0:4", "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["grid"]["x"][0] == 1 and doc["grid"]["x"][-1] == 5
    assert doc["steps_run"] == 10 and len(doc["path"]) == 11
    assert doc["values"]["final.w1"] == pytest.approx(doc["path"][-1]["x"])


def test_surface_command_errors() -> None:
    assert run(str(CHAIN), "w1", "w9").exit_code == 2
    assert "no parameter 'w9'" in run(str(CHAIN), "w1", "w9").output
    assert run(str(CHAIN), "w1", "w2", "--x-range", "5:1").exit_code == 2
    assert run(str(CHAIN), "w1").exit_code == 2
    assert run(str(CHAIN), "w1", "w2", "--plot", "a.jpg").exit_code == 2
    assert run("nope.yaml", "w1", "w2").exit_code == 1
