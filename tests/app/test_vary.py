"""`backprop vary`: per-student variants, reproducible, valid, graded with --variants."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from backprop_cli.app.grading import question_keys
from backprop_cli.app.layered_generator import usable
from backprop_cli.app.variants import numbered_students, student_seed, variant
from backprop_cli.checking.checker import check_values
from backprop_cli.cli import cli
from backprop_cli.engine import solve
from backprop_cli.kinds.exercise import load_exercise, load_problem
from backprop_cli.kinds.layered import KIND
from backprop_cli.model.layered import LayeredProblem

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLE = ROOT / "problems" / "grading" / "exercise.yaml"
# network problems: derivative exercises and layered networks (conv, rnn) have no variants
PROBLEMS = sorted(p for p in (ROOT / "problems").glob("*.yaml")
                  if load_exercise(p).kind == "network")


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_the_same_seed_and_id_give_the_same_file() -> None:
    problem = load_problem(str(EXAMPLE))
    first = variant(problem, "ana", 7)
    assert variant(problem, "ana", 7) == first
    assert variant(problem, "ben", 7) != first
    assert variant(problem, "ana", 8) != first
    assert student_seed(7, "ana") == student_seed(7, "ana") != student_seed(7, "an")
    assert numbered_students(3) == ["s01", "s02", "s03"]
    assert numbered_students(100)[0] == "s001"


@pytest.mark.parametrize("path", PROBLEMS, ids=lambda p: p.stem)
def test_every_variant_passes_check_and_keeps_the_exercise(path: Path,
                                                           tmp_path: Path) -> None:
    problem = load_problem(str(path))
    file = tmp_path / "v.yaml"
    file.write_text(variant(problem, "s01", 1), encoding="utf-8")
    drawn = load_problem(str(file))
    results = check_values(drawn, solve(drawn).values)
    assert results and all(r.passed for r in results)
    assert drawn.input_names == problem.input_names
    assert [layer.units for layer in drawn.layers] == [layer.units for layer in problem.layers]
    assert [layer.weight_names for layer in drawn.layers] == [
        layer.weight_names for layer in problem.layers]
    assert [layer.activation.name for layer in drawn.layers] == [
        layer.activation.name for layer in problem.layers]
    assert (drawn.loss.name, drawn.learning_rate, drawn.steps, drawn.quiz, drawn.points) == (
        problem.loss.name, problem.learning_rate, problem.steps, problem.quiz, problem.points)
    assert list(drawn.expected) == question_keys(problem)
    # new numbers, from the grids `new --nice` draws from (tenths, small whole inputs)
    weights = [w for layer in drawn.layers for w in layer.weights.ravel()]
    assert all(abs(round(w * 10) - w * 10) < 1e-9 and 0 < abs(w) <= 1 for w in weights)
    assert set(drawn.inputs.ravel()) <= {-2.0, -1.0, 1.0, 2.0, 3.0}


def test_the_command_with_a_count_and_a_roster(tmp_path: Path) -> None:
    out = tmp_path / "variants"
    code, _, err = _run("vary", str(EXAMPLE), "--count", "3", "--seed", "7", "-o", str(out))
    assert code == 0
    assert err == f"3 variants of {EXAMPLE} in {out}/ (seed 7)\n"
    assert sorted(p.name for p in out.iterdir()) == ["s01.yaml", "s02.yaml", "s03.yaml"]
    code, stdout, _ = _run("check", str(out))
    assert code == 0 and "3 passed, 0 failed" in stdout
    roster = tmp_path / "roster.csv"
    roster.write_text("name,student\nAna Alves,ana\nBen Bauer,ben/../x\n", encoding="utf-8")
    again = tmp_path / "again"
    code, _, _ = _run("vary", str(EXAMPLE), "--students", str(roster), "--seed", "7",
                      "-o", str(again))
    assert code == 0
    assert sorted(p.name for p in again.iterdir()) == ["ana.yaml", "ben_.._x.yaml"]
    assert (again / "ana.yaml").read_text() == variant(load_problem(str(EXAMPLE)), "ana", 7)


def test_usage_and_problem_errors(tmp_path: Path) -> None:
    code, _, err = _run("vary", str(EXAMPLE), "--seed", "1", "-o", str(tmp_path))
    assert code == 2 and "--count" in err
    code, _, err = _run("vary", str(EXAMPLE), "--count", "1", "-o", str(tmp_path))
    assert code == 2 and "--seed" in err
    derivative = ROOT / "problems" / "003e_derivative_polynomial.yaml"
    code, _, err = _run("vary", str(derivative), "--count", "1", "--seed", "1",
                        "-o", str(tmp_path / "d"))
    assert code == 1 and err.startswith(str(derivative))
    roster = tmp_path / "roster.csv"
    roster.write_text("name\nana\n", encoding="utf-8")
    code, _, err = _run("vary", str(EXAMPLE), "--students", str(roster), "--seed", "1",
                        "-o", str(tmp_path / "r"))
    assert code == 1 and err == f"{roster}:1:1: no 'student' column\n"


def test_grade_with_variants(tmp_path: Path) -> None:
    folder = tmp_path / "variants"
    assert _run("vary", str(EXAMPLE), "--count", "2", "--seed", "3", "-o", str(folder))[0] == 0
    rows = ["student," + ",".join(question_keys(load_problem(str(EXAMPLE))))]
    for student in ("s01", "s02"):  # each student's answers: their own variant's key
        own = load_problem(str(folder / f"{student}.yaml"))
        rows.append(student + "," + ",".join(entry.text for entry in own.expected.values()))
    first = rows[1].split(",")
    rows.append("s03," + ",".join(first[1:]))  # no variant of s03
    answers = tmp_path / "class.csv"
    answers.write_text("\n".join(rows) + "\n", encoding="utf-8")
    code, out, err = _run("grade", str(EXAMPLE), str(answers), "--variants", str(folder),
                          "--format", "csv")
    assert code == 0
    scores = {row["student"]: row["score"] for row in csv.DictReader(io.StringIO(out))}
    assert scores == {"s01": "11", "s02": "11"}
    assert err == f"{answers}:4: no variant for student 's03': not graded\n"
    # against the one problem, s01's numbers are mostly wrong
    code, out, _ = _run("grade", str(EXAMPLE), str(answers), "--format", "csv")
    scores = {row["student"]: float(row["score"]) for row in csv.DictReader(io.StringIO(out))}
    assert scores["s01"] < 11


# ------------------------------------------------------------ layered networks

LAYERED = sorted(p for p in (ROOT / "problems").glob("*.yaml")
                 if load_exercise(p).kind == "layered")


def _layered(path: Path) -> LayeredProblem:
    problem = load_exercise(path)
    assert isinstance(problem, LayeredProblem)
    return problem


def test_layered_problems_exist() -> None:
    assert len(LAYERED) >= 3


@pytest.mark.parametrize("path", LAYERED, ids=lambda p: p.stem)
def test_layered_variants_pass_check_and_keep_the_exercise(path: Path, tmp_path: Path) -> None:
    problem = _layered(path)
    for student in ("s01", "ana"):
        text = variant(problem, student, 3)
        assert variant(problem, student, 3) == text  # reproducible from seed and id
        file = tmp_path / f"{student}.yaml"
        file.write_text(text, encoding="utf-8")
        drawn = _layered(file)
        report = KIND.check(drawn, str(file))
        assert report.results and all(r.passed for r in report.results)
        assert usable(drawn)  # no dead, saturated or tied unit
        # the same exercise: layers, names, settings, questions; new numbers
        assert [(s.type, s.name, s.units, s.kernel, s.stride, s.padding, s.rate,
                 s.output_shape) for s in drawn.layers] == [
            (s.type, s.name, s.units, s.kernel, s.stride, s.padding, s.rate, s.output_shape)
            for s in problem.layers]
        assert [p.element_keys() for _, p in drawn.parameters()] == [
            p.element_keys() for _, p in problem.parameters()]
        assert set(drawn.expected) == set(problem.expected)  # in hand order
        assert drawn.loss_at == problem.loss_at and drawn.quiz == problem.quiz
        assert drawn.learning_rate == problem.learning_rate
        before = np.concatenate([p.values.ravel() for _, p in problem.parameters()])
        after = np.concatenate([p.values.ravel() for _, p in drawn.parameters()])
        assert not np.array_equal(before, after)
        # nice numbers: tenths, small whole inputs
        assert np.allclose(after * 10, np.round(after * 10))
        assert set(drawn.inputs.ravel()) <= {-2, -1, 1, 2, 3}
    assert variant(problem, "s01", 3) != variant(problem, "s02", 3)
    assert variant(problem, "s01", 3) != variant(problem, "s01", 4)


def test_layered_variant_keeps_the_masks_shape_and_a_shared_bias(tmp_path: Path) -> None:
    problem = _layered(ROOT / "problems" / "030_conv_pool_dropout.yaml")
    drawn_masks = []
    for student in numbered_students(6):
        file = tmp_path / f"{student}.yaml"
        file.write_text(variant(problem, student, 1), encoding="utf-8")
        dropout = _layered(file).layers[2]
        assert dropout.mask is not None and problem.layers[2].mask is not None
        assert dropout.mask.shape == problem.layers[2].mask.shape
        assert dropout.rate == problem.layers[2].rate
        drawn_masks.append(dropout.mask.tolist())
    # the masks are redrawn (at the file's rate): not all the author's
    masks = [np.asarray(m).tolist() for m in (problem.layers[2].mask,)]
    assert any(mask != masks[0] for mask in drawn_masks)
    rnn = _layered(ROOT / "problems" / "031_rnn_bptt.yaml")
    text = variant(rnn, "s01", 1)
    assert "bias: 0.1" not in text and "bias_names: [b]" in text


def test_vary_command_on_a_layered_problem(tmp_path: Path) -> None:
    path = str(ROOT / "problems" / "031_rnn_bptt.yaml")
    code, _, err = _run("vary", path, "--count", "2", "--seed", "7", "-o", str(tmp_path))
    assert code == 0, err
    assert err == f"2 variants of {path} in {tmp_path}/ (seed 7)\n"
    code, out, _ = _run("check", str(tmp_path / "s01.yaml"), str(tmp_path / "s02.yaml"))
    assert code == 0 and "2 passed, 0 failed" in out


def test_layered_variant_asks_the_files_quiz(tmp_path: Path) -> None:
    source = tmp_path / "quiz.yaml"
    source.write_text((ROOT / "problems" / "030_conv_pool_dropout.yaml").read_text()
                      + 'quiz: ["grad.K[*]", loss]\n', encoding="utf-8")
    problem = _layered(source)
    file = tmp_path / "v.yaml"
    file.write_text(variant(problem, "s01", 3), encoding="utf-8")
    drawn = _layered(file)
    assert drawn.quiz == ["grad.K[*]", "loss"]
    # the quiz's questions, in hand order: the loss, then the kernel's four gradients
    assert list(drawn.expected) == ["loss", "grad.K[1,1,1,1]", "grad.K[1,1,1,2]",
                                    "grad.K[1,1,2,1]", "grad.K[1,1,2,2]"]
    report = KIND.check(drawn, str(file))
    assert all(r.passed for r in report.results)
