"""The numbers a worked solution shows are the engine's.

Every equation is read back from the plain ASCII output: its result must be
the engine's value written to the digits shown, and every line with numbers
substituted (``0.5*1 + 0.6*2 + 0.1``), evaluated as arithmetic, must give that
value too, which catches a number substituted for the wrong symbol. Run on
every seed problem and on random networks.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given

from backprop_cli.files.loader import parse_problem
from backprop_cli.kinds.exercise import load_problem
from backprop_cli.model.problem import Problem
from backprop_cli.numfmt import format_number
from backprop_cli.render import solve_for_display
from backprop_cli.render.document import BuildOptions, build_document
from backprop_cli.render.model import Equation, Section
from backprop_cli.render.notation import AsciiNotation
from backprop_cli.render.plain import write_plain
from backprop_cli.render.text import context_notation, equation_text
from tests.conftest import seed_files
from tests.netgen import dump, problem_documents

DIGITS = 15  # enough that re-evaluating the shown numbers is exact to ~1e-14: a saturated
# output's 1 − a keeps 9 of them (12 left 1 − 0.999997739676 off by 2e-7, past the rel 1e-7)


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


ARITHMETIC = {"sigmoid": sigmoid, "tanh": math.tanh, "exp": math.exp, "log": math.log,
              "sqrt": math.sqrt, "ReLU": lambda x: max(x, 0.0),
              "softplus": lambda x: math.log1p(math.exp(x)),
              "SiLU": lambda x: x * sigmoid(x)}


def arithmetic(text: str) -> float | None:
    """The value of a line of numbers, or None when it still has symbols."""
    if " if " in text or "LeakyReLU" in text or "ELU" in text:
        return None  # a piecewise formula, or an activation with a hidden alpha
    try:
        value = eval(text.replace("^", "**"), {"__builtins__": {}}, ARITHMETIC)
    except (NameError, SyntaxError):
        return None
    return float(value)


def equations(section: Section) -> Iterator[tuple[Equation, int]]:
    for block in section.blocks:
        if isinstance(block, Section):
            yield from equations(block)
        elif isinstance(block, Equation):
            yield block, section.context


def check_numbers(problem: Problem) -> int:
    """Check every equation of ``problem``'s worked solution; the number checked."""
    solution = solve_for_display(problem)
    doc = build_document(problem, solution, BuildOptions(digits=DIGITS))
    notation = AsciiNotation(problem, DIGITS)
    shown = write_plain(doc, notation, width=100_000, ascii_only=True)
    decimals = problem.round
    checked = 0
    for section in doc.sections:
        for equation, context in equations(section):
            text = equation_text(equation, context_notation(notation, context))
            line = " = ".join([text.lhs, *text.parts])
            assert line in shown, line
            if equation.key is None:
                continue
            raw = solution.values[equation.key]
            result = text.parts[-1]
            if decimals is None:
                written = format_number(raw, DIGITS, ascii_only=True)
                # a sum that cancels to rounding noise is shown as the exact 0
                assert result == written or (result == "0" and abs(raw) < 1e-9), line
            else:
                assert abs(float(result) - raw) <= 0.5 * 10.0 ** -decimals + 1e-12, line
            for part in text.parts[:-1]:
                value = arithmetic(part)
                if value is None:
                    continue
                if decimals is None:
                    assert value == pytest.approx(float(result), rel=1e-7, abs=1e-9), (part, line)
                else:  # the rounded operands, before the result is rounded
                    slack = 10.0 ** -decimals * 10 * max(1.0, abs(value))
                    assert abs(value - float(result)) <= slack, (part, line)
                checked += 1
    return checked


@pytest.mark.parametrize("path", seed_files(), ids=lambda p: p.stem)
def test_seed_numbers_are_the_engines(path: Path) -> None:
    assert check_numbers(load_problem(path)) > 0


@given(problem_documents())
def test_random_network_numbers_are_the_engines(document: dict) -> None:  # type: ignore[type-arg]
    check_numbers(parse_problem(dump(document)))
