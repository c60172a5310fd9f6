"""The benchmark problems: Mazur's published numbers, and the reference loops agree.

`make bench` times the engine against hand-written NumPy loops; these tests
check that both compute the same thing (timings are never asserted here).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from backprop_cli.engine import make_engine, solve
from backprop_cli.engine.passes import Recorder
from backprop_cli.kinds.exercise import load_problem
from benchmarks import ref_mazur, ref_scale
from benchmarks.workloads import write_batch_folder, write_scale_problem
from tests.conftest import PROBLEMS

MAZUR = PROBLEMS / "mazur_2-2-2_sigmoid.yaml"


def test_mazur_reproduces_the_published_values() -> None:
    """Matt Mazur, "A Step by Step Backpropagation Example": E_total, w5⁺ and w1⁺."""
    problem = load_problem(MAZUR)
    values = solve(problem).values
    assert values["loss"] == pytest.approx(0.298371109, abs=5e-10)
    assert values["new.w5"] == pytest.approx(0.35891648, abs=5e-9)
    assert values["new.w1"] == pytest.approx(0.149780716, abs=5e-10)
    for key, entry in problem.expected.items():
        assert values[key] == pytest.approx(entry.value, abs=1e-8), key


def test_mazur_biases_are_shared_and_frozen() -> None:
    problem = load_problem(MAZUR)
    assert set(problem.parameters) == {f"w{i}" for i in range(1, 9)} | {"b1", "b2"}
    assert len(problem.parameters["b1"].uses) == 2 and problem.parameters["b1"].frozen
    values = solve(problem, ["final.b*"], steps=50).values
    assert values == {"final.b1": 0.35, "final.b2": 0.60}


def test_mazur_reference_loop_matches_the_engine() -> None:
    engine = make_engine(load_problem(MAZUR)).run(Recorder(["final.loss"]), steps=200)
    assert ref_mazur.train(200) == pytest.approx(engine.values["final.loss"], rel=1e-12)
    assert ref_mazur.train(0) == pytest.approx(0.298371109, abs=5e-10)


def test_scale_problem_and_its_reference_loop_agree(tmp_path: Path) -> None:
    path = write_scale_problem(tmp_path, steps=3)
    problem = load_problem(path)
    assert [layer.weights.shape for layer in problem.layers] == [(128, 784), (10, 128)]
    assert problem.inputs.shape == (64, 784) and problem.targets.shape == (64, 10)
    values = solve(problem, ["loss", "final.loss"]).values
    assert ref_scale.train(tmp_path, 3) == pytest.approx(values["final.loss"], rel=1e-9)
    assert values["final.loss"] < values["loss"]


def test_batch_folder_holds_correct_answers(tmp_path: Path) -> None:
    paths = write_batch_folder(tmp_path, count=25)
    assert len(paths) == 25 and len(set(paths)) == 25
    for path in paths:
        problem = load_problem(path)
        values = solve(problem).values
        assert problem.expected, path
        for key, entry in problem.expected.items():
            assert values[key] == pytest.approx(entry.value, rel=1e-5, abs=1e-9), (path, key)
