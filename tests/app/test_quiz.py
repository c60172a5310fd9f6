"""Quiz mode: reading answers, verdicts through the checker, carried errors, the command."""

from __future__ import annotations

import math
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import assume, given
from hypothesis import strategies as st

from backprop_cli.app.generator import answer_text
from backprop_cli.app.quiz import MIN_SIGNIFICANT, QuizSession, parse_answer, student_precision
from backprop_cli.checking.checker import check_values
from backprop_cli.cli import cli
from backprop_cli.engine import solve
from backprop_cli.errors import ProblemError
from backprop_cli.files.loader import parse_problem
from backprop_cli.kinds.base import QuizError
from backprop_cli.kinds.exercise import load_problem
from backprop_cli.model.formulas import Formulas
from backprop_cli.model.keyspace import ordered_keys, parse_key
from backprop_cli.model.questions import DEFAULT_LIMIT, default_keys, exercise_keys, is_given
from tests.conftest import PROBLEMS, seed_files
from tests.netgen import dump, problem_documents

SEED = PROBLEMS / "001b_two_layer_relu_sigmoid.yaml"

# exact: z.h = 4, a.h = 4, z.y = 2, a.y = 2, loss = 0.5*(20-2)^2 = 162, grad.z.y = -18,
# grad.w2 = -72, grad.z.h = -9, grad.w1 = -18, new.w1 = 2.18, new.w2 = 1.22
CHAIN = """\
title: chain
network:
  inputs: [x]
  layers:
    - {units: [h], activation: relu, weights: [[2]], weight_names: [[w1]]}
    - {units: [y], weights: [[0.5]], weight_names: [[w2]]}
loss: half_squared_error
learning_rate: 0.01
input: [2]
target: 20
"""


def session(text: str = CHAIN, patterns: list[str] | None = None) -> QuizSession:
    return QuizSession(parse_problem(text), patterns)


# ------------------------------------------------------------------ answers


@pytest.mark.parametrize("typed,kind,value,text", [
    ("-0.0455", "number", -0.0455, "-0.0455"),
    (".5", "number", 0.5, ".5"),
    ("1e-3", "number", 0.001, "1e-3"),
    ("  2  ", "number", 2.0, "2"),
    ("\u22120.5", "number", -0.5, "-0.5"),   # the minus sign a phone or Word types
    ("0,25", "number", 0.25, "0.25"),       # a decimal comma
    ("1/2", "number", 0.5, "1/2"),
    ("-3 / 4", "number", -0.75, "-3/4"),
    ("", "skip", 0.0, ""),
    ("skip", "skip", 0.0, ""),
    ("Q", "quit", 0.0, ""),
    ("?", "hint", 0.0, ""),
    ("abc", "invalid", 0.0, ""),
    ("1/0", "invalid", 0.0, ""),
    ("1e999", "invalid", 0.0, ""),
    ("0.5.1", "invalid", 0.0, ""),
])
def test_answers_as_students_type_them(typed: str, kind: str, value: float, text: str) -> None:
    answer = parse_answer(typed)
    assert answer.kind == kind
    if kind == "number":
        assert answer.value == pytest.approx(value, rel=1e-15)
        assert answer.text == text


def test_a_fraction_claims_an_exact_value() -> None:
    third = parse_answer("1/3")
    assert third.exact and third.precision.unit == 0.0
    assert third.precision.agrees(third.value, 1 / 3)
    assert not third.precision.agrees(third.value, 0.3333)


@pytest.mark.parametrize("typed,exact,agrees", [
    ("0.825", 0.824914, True),    # three significant digits
    ("0.82", 0.824914, False),    # two are not enough in a quiz
    ("0.8249", 0.824914, True),
    ("1.8", 1.8, True),           # exactly short needs no padding
    (".5", 0.5, True),
    ("-0.0455", -0.0455182, True),
    ("-0.045", -0.0455182, False),
    ("162", 162.0, True),
    ("162", 162.004, False),      # integers are judged tightly, as in check
    ("0", 0.0, True),
])
def test_student_precision(typed: str, exact: float, agrees: bool) -> None:
    answer = parse_answer(typed)
    assert student_precision(answer.precision, exact).agrees(answer.value, exact) is agrees


# ----------------------------------------------------------------- questions


def test_default_questions_in_computation_order() -> None:
    quiz = session()
    assert [q.key for q in quiz.questions] == [
        "z.h", "a.h", "z.y", "a.y", "loss", "grad.z.y", "grad.w2", "grad.z.h", "grad.w1",
        "new.w1", "new.w2"]
    assert quiz.questions[0].prompt == "z.h (pre-activation z_h) = "
    assert quiz.questions[6].prompt == "grad.w2 (gradient ∂L/∂w2) = "


def test_a_parameter_may_be_called_like_a_step() -> None:
    keys = exercise_keys(parse_problem(CHAIN.replace("[[w1]]", "[[step1]]")))
    assert keys[-3:] == ["grad.step1", "new.step1", "new.w2"]


def test_default_questions_with_samples_take_the_batch_gradient() -> None:
    text = CHAIN.replace("input: [2]\ntarget: 20\n",
                         "samples:\n  - {input: [2], target: 20}\n  - {input: [1], target: 2}\n")
    keys = exercise_keys(parse_problem(text))
    assert keys[:5] == ["z.h@1", "a.h@1", "z.y@1", "a.y@1", "loss@1"]
    assert "loss" in keys and "grad.w1" in keys and "grad.z.h@2" in keys
    assert not any(k.startswith("grad.w1@") for k in keys)


def test_a_large_network_follows_one_path() -> None:
    rows = "[" + ", ".join(["[0.1, 0.2, 0.3]"] * 12) + "]"
    wide = "[" + ", ".join(["[" + ", ".join(["0.1"] * 12) + "]"] * 12) + "]"
    out = "[" + ", ".join(["[" + ", ".join(["0.1"] * 12) + "]"] * 2) + "]"
    text = f"""\
network:
  inputs: 3
  layers:
    - {{units: 12, activation: relu, weights: {rows}, bias: 0.1}}
    - {{units: 12, activation: relu, weights: {wide}, bias: 0.1}}
    - {{units: 2, activation: sigmoid, weights: {out}}}
loss: half_squared_error
learning_rate: 0.1
input: [1, 2, 3]
target: [1, 0]
"""
    problem = parse_problem(text)
    assert len(exercise_keys(problem)) > DEFAULT_LIMIT
    keys = default_keys(problem)
    assert 0 < len(keys) <= DEFAULT_LIMIT
    assert keys[:4] == ["z.h1_1", "a.h1_1", "z.h2_1", "a.h2_1"]
    assert "loss" in keys and "grad.z.o1" in keys and "grad.w_h1_1_x1" in keys
    assert "z.h1_2" not in keys
    assert keys == [k for k in ordered_keys(problem) if k in set(keys)]


def test_keys_and_globs_choose_the_questions() -> None:
    quiz = session(patterns=["grad.*", "a.y"])
    assert [q.key for q in quiz.questions] == [
        "a.y", "grad.a.y", "grad.z.y", "grad.w2", "grad.a.h", "grad.z.h", "grad.w1"]
    with pytest.raises(QuizError, match=r"'grad.w3' matches no value key "
                                        r"\(did you mean 'grad.w2' or 'grad.w1'"):
        session(patterns=["grad.w3"])
    with pytest.raises(QuizError, match=r"'input\.x' names only given values"):
        session(patterns=["input.x"])


def test_quiz_key_in_the_file() -> None:
    quiz = session(CHAIN + "quiz: [loss, 'grad.w*']\n")
    assert [q.key for q in quiz.questions] == ["loss", "grad.w2", "grad.w1"]
    assert [q.key for q in session(CHAIN + "quiz: 'new.*'\n").questions] == ["new.w1", "new.w2"]


@pytest.mark.parametrize("entry,message", [
    ("[grad.w3]", "11:8: quiz: 'grad.w3' matches no value key (did you mean 'grad.w2' or "
                  "'grad.w1' or 'grad.z.y'?)"),
    ("[loss, input.x]", "11:14: quiz: 'input.x' names only given values (inputs, targets, "
                        "starting parameters)"),
    ("[]", "11:7: quiz is empty: list value keys or patterns, or leave it out"),
    ("[[loss]]", "11:8: quiz entry must be a string, found a list"),
])
def test_quiz_key_is_validated_where_it_is_written(entry: str, message: str) -> None:
    with pytest.raises(ProblemError) as info:
        parse_problem(CHAIN + f"quiz: {entry}\n", "p.yaml")
    assert str(info.value) == f"p.yaml:{message}"


# ----------------------------------------------------------------- verdicts


def test_right_carried_forward_and_wrong() -> None:
    quiz = session()
    feedback = quiz.run(["4", "5", "2.5", "2.5", "153.125", "-17.5", "-60"])
    assert [f.kind for f in feedback] == [
        "correct", "wrong", "consistent", "consistent", "consistent", "consistent", "wrong"]
    # a.h = 5 is wrong, and carried: z.y = 0.5*5 = 2.5 is right from it
    assert feedback[1].lines == ["✗ wrong: a.h = 4", "  a_h = ReLU(z_h) = ReLU(4) = 4"]
    assert feedback[2].lines == [
        "≈ right from your earlier answers: follows from your wrong a.h = 5 (carried "
        "forward); the exact value is 2"]
    # grad.w2 = grad.z.y*a.h = (-17.5)*5 = -87.5 from the student's numbers, not -60
    assert feedback[6].lines == [
        "✗ wrong: grad.w2 = -72",
        "  ∂L/∂w2 = δ_y·a_h = −17.5·5 = −87.5 from your earlier answers"]
    assert quiz.score.line() == ("Score: 5/7 (1 right, 4 carried forward, 2 wrong, "
                                 "0 skipped); stopped after 7 of 11 questions")


def test_a_skipped_value_is_recomputed_from_the_students_answers() -> None:
    quiz = session()
    feedback = quiz.run(["4", "5", "", "2.5"])
    assert feedback[2].kind == "skipped"
    assert feedback[2].lines == ["skipped: z.y = 2"]
    assert feedback[3].kind == "consistent"  # a.y from z.y = 0.5*5, from a.h = 5
    assert quiz.score.skipped == 1


def test_too_few_digits_asks_again() -> None:
    text = CHAIN.replace("activation: relu", "activation: sigmoid")  # a.h = σ(4) = 0.98201
    quiz = session(text)
    quiz.run(["4"])
    feedback = quiz.answer("0.99")  # 0.98201 to two decimals, give or take carried rounding
    assert feedback.kind == "retry"
    assert feedback.lines == ["0.99 is right only to fewer digits than asked: give at least 3 "
                              "significant digits"]
    assert quiz.current is not None and quiz.current.key == "a.h"
    assert quiz.answer("0.982").kind == "correct"
    assert quiz.score.asked == 2


def test_hint_invalid_and_quit_do_not_count() -> None:
    quiz = session()
    assert quiz.answer("?").lines == ["z_h = w1·x"]
    assert quiz.answer("four").kind == "retry"
    assert quiz.answer("q").kind == "quit"
    assert quiz.finished
    assert quiz.answer("4").kind == "done"
    assert quiz.score.line() == ("Score: 0/0 (0 right, 0 carried forward, 0 wrong, 0 skipped); "
                                 "stopped after 0 of 11 questions")


def test_the_files_own_expected_values_play_no_part() -> None:
    text = CHAIN + "expected:\n  a.h: 5\n"
    quiz = session(text, ["z.y"])
    assert quiz.answer("2.5").kind == "wrong"  # the file's a.h = 5 is not the student's


def test_published_answers_get_the_checkers_verdicts() -> None:
    """Typing a seed's published values gives what `check` says of them."""
    for path in seed_files():
        problem = load_problem(path)
        results = check_values(problem, solve(problem).values, min_digits=MIN_SIGNIFICANT)
        computed = [key for key in problem.expected
                    if not is_given(parse_key(key, problem))]  # type: ignore[arg-type]
        quiz = QuizSession(problem, computed)
        by_key = {r.key: r for r in results}
        for question in quiz.questions:
            result = by_key[question.key]
            feedback = quiz.answer(result.text)
            if result.verdict == "imprecise":
                assert feedback.kind == "retry", (path, question.key)
                quiz.answer("")  # skip it
            elif result.verdict in ("correct", "consistent"):
                assert feedback.kind == result.verdict, (path, question.key)
            else:  # an erratum: the published value is wrong, perhaps carried forward
                carried = result.recomputed is not None and math.isclose(
                    result.expected, result.recomputed, rel_tol=1e-3)
                assert feedback.kind in (("consistent", "wrong") if carried else ("wrong",)), (
                    path, question.key, feedback.kind)


def _honest_answers(problem: Any, asked: list[str], slip: str | None) -> dict[str, str]:
    """A student computing by hand, rounding what they write down to 4 significant
    digits and going on from their own numbers (with one slip, +1, at ``slip``)."""
    exact = solve(problem).values
    formulas = Formulas(problem)
    own: dict[str, float] = {}
    typed: dict[str, str] = {}
    wanted = set(asked)

    def value(key: str) -> float:
        if key not in own:
            expr = formulas.for_key(key)
            result = exact[key] if expr is None else expr.evaluate(
                {ref: value(ref) for ref in expr.refs()})
            assume(math.isfinite(result))  # a sigmoid rounded to 1.000 makes log(0)
            if key == slip:
                result += 1.0
            if key in wanted:
                typed[key] = answer_text(result)
                result = float(typed[key])
            own[key] = result
        return own[key]

    for key in asked:
        value(key)
    return typed


@given(problem_documents(max_layers=3, max_units=3), st.booleans())
def test_one_slip_costs_one_mark(document: dict[str, Any], slip: bool) -> None:
    problem = parse_problem(dump(document))
    quiz = QuizSession(problem, limit=10_000)
    keys = [q.key for q in quiz.questions]
    answers = _honest_answers(problem, keys, keys[0] if slip else None)
    verdicts = [quiz.answer(answers[key]).kind for key in keys]
    if slip:
        assert verdicts[0] == "wrong"
        verdicts = verdicts[1:]
    assert set(verdicts) <= {"correct", "consistent"}
    assert quiz.finished and quiz.score.wrong == int(slip)


# ------------------------------------------------------------------ command


def run(*args: str, answers: str = "") -> Any:
    return CliRunner().invoke(cli, ["quiz", *args], input=answers)


def test_command_transcript(tmp_path: Any) -> None:
    path = tmp_path / "chain.yaml"
    path.write_text(CHAIN)
    result = run(str(path), answers="4\n5\n2.5\nabc\n\n?\n")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "chain",
        "Given:",
        "  input x = 2; target y = 20",
        "  layer 1, ReLU: h",
        "    h: w1 = 2 (from x)",
        "  layer 2, identity: y",
        "    y: w2 = 0.5 (from h)",
        "  loss: half squared error ½·Σ(y − a)²; learning rate 0.01",
        "11 questions in computation order. Type a number (0.824, -.5, 1e-3, 1/2); Enter to "
        "skip, '?' for the formula, 'q' to stop.",
        "[1/11] z.h (pre-activation z_h) = 4",
        "  ✓ right (z.h = 4)",
        "[2/11] a.h (activation a_h) = 5",
        "  ✗ wrong: a.h = 4",
        "    a_h = ReLU(z_h) = ReLU(4) = 4",
        "[3/11] z.y (pre-activation z_y) = 2.5",
        "  ≈ right from your earlier answers: follows from your wrong a.h = 5 (carried "
        "forward); the exact value is 2",
        "[4/11] a.y (activation ŷ) = abc",
        "  'abc' is not a number: type a number like 0.824, -.5, 1e-3 or 1/2; Enter or 'skip' "
        "to skip, '?' for the formula, 'q' to stop",
        "[4/11] a.y (activation ŷ) = ",
        "  skipped: a.y = 2",
        "[5/11] loss (loss L) = ?",
        "  L = ½·(y − ŷ)²",
        "[5/11] loss (loss L) = ",
        "Score: 2/4 (1 right, 1 carried forward, 1 wrong, 1 skipped); stopped after 4 of "
        "11 questions",
    ]


def test_command_to_the_end_without_the_givens(tmp_path: Any) -> None:
    path = tmp_path / "chain.yaml"
    path.write_text(CHAIN + "quiz: [loss, grad.w1]\n")
    result = run(str(path), "--no-given", answers="162\n-18\n")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "chain",
        "2 questions in computation order. Type a number (0.824, -.5, 1e-3, 1/2); Enter to "
        "skip, '?' for the formula, 'q' to stop.",
        "[1/2] loss (loss L) = 162",
        "  ✓ right (loss = 162)",
        "[2/2] grad.w1 (gradient ∂L/∂w1) = -18",
        "  ✓ right (grad.w1 = -18)",
        "Score: 2/2 (2 right, 0 carried forward, 0 wrong, 0 skipped)",
    ]


def test_command_keys_option_and_quit() -> None:
    result = run(str(SEED), "--no-given", "--keys", "a.o", "--keys", "loss",
                 answers="0.824\nq\n")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[2:] == [
        "[1/2] a.o (activation ŷ) = 0.824",
        "  ✓ right (a.o = 0.824914)",
        "[2/2] loss (loss L) = q",
        "Score: 1/1 (1 right, 0 carried forward, 0 wrong, 0 skipped); stopped after 1 of 2 "
        "questions",
    ]


def test_command_errors(tmp_path: Any) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(CHAIN.replace("learning_rate: 0.01", "learning_rate: fast"))
    result = run(str(bad))
    assert result.exit_code == 1
    assert result.output == (f"{bad}:8:16: learning_rate must be a number, found a string "
                             "('fast')\n")
    result = run(str(SEED), "--keys", "grad.v9")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        "Error: Invalid value for --keys: 'grad.v9' matches no value key (did you mean "
        "'grad.v2' or 'grad.v1' or 'grad.w4'?)")


def test_the_givens_name_the_training_settings() -> None:
    from backprop_cli.kinds.network_quiz import given_lines

    lines = given_lines(load_problem(PROBLEMS / "010_xor_csv_momentum.yaml"))
    assert lines[1] == "  sample 1: input x1 = 0, x2 = 0; target y = 0"
    assert lines[-3:] == [
        "  loss: binary cross-entropy −Σ[y·log a + (1 − y)·log(1 − a)] (mean over each "
        "batch); learning rate 0.5",
        "  optimizer: momentum (beta = 0.9)",
        "  batches of 2: step 1 uses samples 1–2"]
    rounded = given_lines(load_problem(PROBLEMS / "003h_sigmoid_two_inputs_rounded.yaml"))
    assert rounded[-1] == "  round every value to 4 decimals as you go"


TANH_2_3_1 = """network:
  inputs: [x1, x2]
  layers:
    - {units: [h1, h2, h3], activation: tanh, weights: [[0.1, 0.2], [0.3, -0.4], [0.5, 0.6]],
       bias: [0.1, 0.1, 0.1]}
    - {units: [y], weights: [[0.7, -0.8, 0.9]], bias: 0.2}
loss: half_squared_error
learning_rate: 0.1
samples:
  - {input: [1, 2], target: 1}
  - {input: [0, 1], target: 0}
"""


def test_a_large_quiz_asks_about_every_unit_and_says_what_it_leaves_out(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Issue 17: a 2-3-1 network with 2 samples (53 values) asked one path, h2 and h3 never,
    and said nothing about it."""
    from backprop_cli.model.questions import default_selection

    problem = parse_problem(TANH_2_3_1)
    keys, note = default_selection(problem)
    assert len(exercise_keys(problem)) == 53 and len(keys) == DEFAULT_LIMIT
    for unit in ("h1", "h2", "h3", "y"):
        assert {f"z.{unit}@1", f"a.{unit}@1", f"grad.z.{unit}@1"} <= set(keys), unit
    assert not any(key.endswith("@2") for key in keys)
    assert note == ("40 of the exercise's 53 values (every unit for sample 1; every parameter). "
                    "Ask for the others with --keys, e.g. --keys '*@2' (sample 2).")
    path = tmp_path / "tanh.yaml"
    path.write_text(TANH_2_3_1)
    lines = CliRunner().invoke(cli, ["quiz", str(path), "--no-given"], input="q\n").output
    assert lines.splitlines()[1] == note
    small = CliRunner().invoke(cli, ["quiz", str(SEED), "--no-given"], input="q\n").output
    assert "of the exercise's" not in small  # nothing left out, nothing said
