"""Per-student variants of an exercise: the same network, new numbers (`backprop vary`).

A variant keeps everything of the problem file (topology, names, activations, loss,
learning rate, training settings, ``quiz:`` and ``points:``) and redraws the
weights, biases, inputs and targets as ``backprop new --nice`` draws them
(:func:`backprop_cli.app.generator.draw_network`: tenths, small whole inputs, no
dead or saturated unit, no zero loss), from a seed made of ``--seed`` and the
student's id, so the same roster and seed always give the same files. Each file has
its own ``expected`` answers (the questions graded, to 4 significant digits) and
passes ``backprop check``; ``backprop grade --variants DIR`` grades each student
against ``DIR/<student>.yaml``.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from backprop_cli.app.generator import (
    ALIVE_Z,
    MAX_SAMPLES,
    NICE_Z_LIMIT,
    Options,
    answer_text,
    draw_network,
    plain_number,
)
from backprop_cli.app.grading import STUDENT_COLUMN, GradingError, file_stem, question_keys
from backprop_cli.app.layered_variants import (
    answers_usable,
    layered_variant,
    variant_header,
    with_answers,
)
from backprop_cli.checking.checker import check_values
from backprop_cli.engine import solve
from backprop_cli.errors import Mark, ProblemError, suggest
from backprop_cli.files.loader import parse_problem
from backprop_cli.files.yamlio import parse_yaml, read_text, to_python
from backprop_cli.model.activations import ACTIVATIONS
from backprop_cli.model.layered import LayeredProblem
from backprop_cli.model.problem import Problem
from backprop_cli.model.questions import exercise_keys

# Draws tried for one student before giving up (a draw is refused when the file it
# makes does not pass `check` or has a zero loss: rare).
TRIES = 50


class VariantError(ValueError):
    """A problem that cannot be varied, or a roster that cannot be read."""


class _Plain(str):
    """A number written as given (0.4700 keeps its digits: they are its precision)."""


class _Dumper(yaml.SafeDumper):
    pass


def _plain(dumper: yaml.SafeDumper, value: _Plain) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:float", str(value))


def _list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.SequenceNode:
    """Rows and matrices on one line ([[0.5, 0.6], [0.2, 0.3]]); lists of mappings in blocks."""
    flow = not any(isinstance(item, dict) for item in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


_Dumper.add_representer(_Plain, _plain)
_Dumper.add_representer(list, _list)


def student_seed(seed: int, student: str) -> int:
    """The seed of one student's variant: the same for the same seed and id, anywhere."""
    digest = hashlib.sha256(f"{seed}\0{student}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def numbered_students(count: int) -> list[str]:
    """Ids for ``--count N``: s01, s02, ... (zero-padded to N's width, at least 2)."""
    width = max(2, len(str(count)))
    return [f"s{i:0{width}d}" for i in range(1, count + 1)]


def read_roster(path: str | Path) -> list[str]:
    """The student ids of a roster CSV (a ``student`` column; other columns ignored)."""
    text = read_text(path)
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise ProblemError("empty roster: the first row names the columns, one of them "
                           f"'{STUDENT_COLUMN}'", path=str(path))
    columns = [name.strip() for name in rows[0]]
    if STUDENT_COLUMN not in columns:
        raise ProblemError(f"no '{STUDENT_COLUMN}' column{suggest(STUDENT_COLUMN, columns)}",
                           Mark(1, 1), str(path))
    index = columns.index(STUDENT_COLUMN)
    students: list[str] = []
    for line, row in enumerate(rows[1:], start=2):
        student = row[index].strip() if index < len(row) else ""
        if not student:
            if any(cell.strip() for cell in row):
                raise ProblemError("a row without a student id", Mark(line, 1), str(path))
            continue
        if student in students:
            raise ProblemError(f"student '{student}' is listed twice", Mark(line, 1), str(path))
        students.append(student)
    return students


def variant(problem: Problem | LayeredProblem, student: str, seed: int) -> str:
    """The text of ``student``'s variant of ``problem`` (a problem file with answers)."""
    if isinstance(problem, LayeredProblem):
        return _layered(problem, student, seed)
    if problem.kind != "network":
        raise VariantError("only network problems have variants")
    if not 1 <= problem.n_samples <= MAX_SAMPLES:
        raise VariantError(f"a variant has at most {MAX_SAMPLES} samples; this problem has "
                           f"{problem.n_samples}")
    document = to_python(parse_yaml(read_text(problem.path)))
    try:
        keys = question_keys(problem)
    except GradingError:  # no quiz and no expected: the answers `new` gives
        keys = exercise_keys(problem)
    sizes = (len(problem.input_names), *(len(layer.units) for layer in problem.layers))
    # loss: none draws its upstream as half_squared_error draws targets (any numbers)
    loss = "half_squared_error" if problem.loss.given else problem.loss.name
    options = Options(layers=sizes, loss=loss, nice=True, samples=problem.n_samples)
    activations = [layer.activation.name for layer in problem.layers]
    rng = np.random.default_rng(student_seed(seed, student))
    for _ in range(TRIES):
        net = draw_network(options, activations, rng)
        text = _render(problem, document, student, seed, keys, net.weights, net.biases,
                       net.inputs, net.targets)
        if text is not None:
            return text
    raise VariantError(f"no usable draw for student '{student}' in {TRIES} tries")


def _layered(problem: LayeredProblem, student: str, seed: int) -> str:
    """A layered network's variant (conv, pooling, dropout, rnn): app/layered_variants.py."""
    if not 1 <= problem.n_samples <= MAX_SAMPLES:
        raise VariantError(f"a variant has at most {MAX_SAMPLES} samples; this problem has "
                           f"{problem.n_samples}")
    document = to_python(parse_yaml(read_text(problem.path)))
    rng = np.random.default_rng(student_seed(seed, student))
    text = layered_variant(problem, document, student, seed, rng, TRIES, _number, _dump, _Plain)
    if text is None:
        raise VariantError(f"no usable draw for student '{student}' in {TRIES} tries")
    return text


def _render(problem: Problem, document: dict[str, Any], student: str, seed: int,
            keys: Sequence[str], weights: Sequence[Any], biases: Sequence[Any], inputs: Any,
            targets: Any) -> str | None:
    """The variant's file, or None when its draw does not make a good exercise."""
    doc = copy.deepcopy(document)
    doc["title"] = f"{problem.title} (variant for {student})"
    doc["description"] = (f"A variant of \"{problem.title}\" for student {student}: the same "
                          "network and questions, new numbers (`backprop vary`, seed "
                          f"{seed}). The answers are under `expected`.")
    for layer, spec, w, b in zip(problem.layers, doc["network"]["layers"], weights, biases,
                                 strict=True):
        spec["weights"] = [[_number(v) for v in row] for row in w]
        if spec.pop("weights_by", None) is not None or (
                isinstance(spec.get("bias"), dict) and "in_weights" in spec["bias"]):
            # written by input or with the bias in the weights (issue 16): the variant is
            # written in the model's layout, a row per unit and the bias apart
            if layer.explicit_weight_names is not None:
                spec["weight_names"] = layer.explicit_weight_names
            if layer.explicit_bias_names is not None:
                spec["bias_names"] = layer.explicit_bias_names
            spec["bias"] = [0] * len(layer.units)
        if layer.bias is None:
            continue
        shared = layer.bias_names is not None and len(set(layer.bias_names)) == 1
        one = shared or not isinstance(spec.get("bias"), list)  # one number for every unit
        spec["bias"] = _number(b[0]) if one else [_number(v) for v in b]
    for key in ("input", "target", "samples", "expected", "upstream"):
        doc.pop(key, None)
    if problem.loss.given:  # loss: none: the drawn targets are the upstream gradients
        doc["upstream"] = [[_number(v) for v in y] for y in targets]
        if problem.has_samples:
            doc["samples"] = [{"input": [_number(v) for v in x]} for x in inputs]
        else:
            doc["input"] = [_number(v) for v in inputs[0]]
            doc["upstream"] = doc["upstream"][0]
    elif problem.has_samples:
        doc["samples"] = [{"input": [_number(v) for v in x], "target": [_number(v) for v in y]}
                          for x, y in zip(inputs, targets, strict=True)]
    else:
        doc["input"] = [_number(v) for v in inputs[0]]
        doc["target"] = [_number(v) for v in targets[0]]
    drawn = parse_problem(_dump(doc), problem.path)
    drawn.shown_kinds = problem.shown_kinds  # the same questions (error., change.…)
    if not _nice(drawn):
        return None
    values = solve(drawn).values
    if not answers_usable(values, keys):
        return None
    doc = with_answers(doc, {key: _Plain(answer_text(values[key])) for key in keys})
    text = variant_header(problem.path, seed, student) + _dump(doc)
    final = parse_problem(text, problem.path)
    if not all(result.passed for result in check_values(final, solve(final).values)):
        return None
    return text


def _nice(problem: Problem) -> bool:
    """No dead unit (z > 0 for some sample), no saturated one (|z| ≤ 3), as `new --nice`:
    the draw's own test, redone on the file (a shared bias is one number for all units)."""
    a = problem.inputs
    for layer in problem.layers:
        z = a @ layer.weights.T + (layer.bias if layer.bias is not None else 0.0)
        spec = ACTIVATIONS[layer.activation.name]
        if not layer.activation.per_layer:
            if spec.dies and not bool(np.all(np.any(z > ALIVE_Z, axis=0))):
                return False
            if spec.saturating and bool(np.any(np.abs(z) > NICE_Z_LIMIT)):
                return False
        a = layer.activation.forward(z)
    return True


def _number(value: float) -> int | float:
    text = plain_number(float(value))
    return int(text) if "." not in text and "e" not in text else float(text)


def _dump(doc: dict[str, Any]) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=4096)


def write_variants(problem: Problem | LayeredProblem, students: Sequence[str], seed: int,
                   folder: str | Path) -> list[Path]:
    """Each student's variant in ``folder/<student>.yaml``; the paths written."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for student in students:
        path = target / f"{file_stem(student)}.yaml"
        path.write_text(variant(problem, student, seed), encoding="utf-8")
        written.append(path)
    return written
