"""`backprop vary` on a layered network (conv, pooling, dropout, rnn: issue 19).

A variant keeps the author's file (layers, names, settings, activations, loss, learning
rate, ``loss_at``, ``initial``, ``quiz:`` and ``points:``) and redraws the numbers as
``backprop new --nice`` draws a layered exercise
(:func:`backprop_cli.app.layered_generator.draw_layered`): weights, recurrent weights and
biases in tenths, small whole inputs or sequences, targets the output can reach, and the
dropout masks (redrawn at the file's rate: which elements are dropped is part of the
numbers, not of the exercise). A draw is kept when the written file still has no dead or
saturated unit, and no tie in max pooling where half the draws find one without
(:func:`~backprop_cli.app.layered_generator.usable`: a bias the author wrote as one number
is written as one number), and passes ``backprop check``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from backprop_cli.app.generator import GeneratorError, answer_text
from backprop_cli.app.layered_generator import (
    LayeredOptions,
    answer_keys,
    architecture_of,
    draw_layered,
    usable,
)
from backprop_cli.engine.layered import solve_layered
from backprop_cli.kinds.exercise import parse_exercise
from backprop_cli.kinds.layered import KIND
from backprop_cli.model.keys import key_glob
from backprop_cli.model.layered import LayeredProblem

Numbers = Callable[[Any], Any]


def answers_usable(values: dict[str, float], keys: Sequence[str]) -> bool:
    """Every question a finite number, and no zero loss (it teaches nothing)."""
    return all(math.isfinite(values[key]) for key in keys) and not any(
        value == 0.0 for key, value in values.items() if key.startswith("loss"))


def with_answers(doc: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    """The variant's file with its ``expected`` answers, ``quiz:`` and ``points:`` after
    them as in the original files."""
    doc["expected"] = expected
    if "quiz" in doc or "points" in doc:
        doc = {**{k: v for k, v in doc.items() if k not in ("quiz", "points")},
               **{k: doc[k] for k in ("quiz", "points") if k in doc}}
    return doc


def variant_header(path: str, seed: int, student: str) -> str:
    return f"# backprop vary {path} --seed {seed}: the variant for student {student}\n"


def layered_keys(problem: LayeredProblem, values: dict[str, float]) -> list[str]:
    """The questions of a variant: the file's ``quiz:`` keys, else its ``expected`` keys,
    else what ``backprop new`` publishes (in hand order)."""
    if problem.quiz:
        patterns = [key_glob(pattern) for pattern in problem.quiz]
        return [key for key in values if any(p.match(key) for p in patterns)]
    if problem.expected:
        return [key for key in values if key in problem.expected]
    return answer_keys(problem, values)[0]


def layered_variant(problem: LayeredProblem, document: dict[str, Any], student: str,
                    seed: int, rng: np.random.Generator, tries: int, number: Numbers,
                    dump: Callable[[dict[str, Any]], str], plain: Callable[[str], Any]
                    ) -> str | None:
    """The text of ``student``'s variant, or None when no draw in ``tries`` makes one."""
    options = LayeredOptions(architecture_of(problem), loss=problem.loss.name, nice=True,
                             samples=problem.n_samples, sequence_length=problem.time_steps or 1,
                             loss_at=problem.loss_at)
    activations = [layer.activation.name for layer in problem.layers
                   if layer.activation is not None]
    keys = layered_keys(problem, solve_layered(problem).values)
    for attempt in range(tries):
        try:
            net = draw_layered(options, activations, rng)
        except GeneratorError:
            continue
        doc = _write_numbers(problem, document, student, seed, net, number)
        drawn = parse_exercise(dump(doc), problem.path)
        assert isinstance(drawn, LayeredProblem)
        # a max-pooling tie is avoided where the first half of the draws can
        if not usable(drawn, ties=attempt >= tries // 2):
            continue
        values = solve_layered(drawn).values
        if not answers_usable(values, keys):
            continue
        doc = with_answers(doc, {key: plain(answer_text(values[key])) for key in keys})
        text = variant_header(problem.path, seed, student) + dump(doc)
        final = parse_exercise(text, problem.path)
        assert isinstance(final, LayeredProblem)
        report = KIND.check(final, problem.path)
        if report.results and all(result.passed for result in report.results):
            return text
    return None


def _nested(values: np.ndarray[Any, Any], number: Numbers) -> Any:
    if values.ndim == 0:
        return number(float(values))
    return [_nested(row, number) for row in values]


def _write_numbers(problem: LayeredProblem, document: dict[str, Any], student: str,
                   seed: int, net: Any, number: Numbers) -> dict[str, Any]:
    doc = copy.deepcopy(document)
    doc["title"] = f"{problem.title} (variant for {student})"
    doc["description"] = (f"A variant of \"{problem.title}\" for student {student}: the same "
                          "network and questions, new numbers (`backprop vary`, seed "
                          f"{seed}). The answers are under `expected`.")
    for spec, layer, drawn in zip(problem.layers, doc["network"]["layers"], net.layers,
                                  strict=True):
        for param in spec.params:
            values = drawn.params[param.role]
            if param.role == "bias" and not isinstance(layer.get("bias"), list):
                layer["bias"] = number(float(values[0]))  # one number for every unit
            else:
                layer[param.role] = _nested(values, number)
        if spec.type == "dropout":
            assert drawn.mask is not None and spec.mask is not None
            shared = spec.mask.ndim == len(spec.input_shape)
            layer["mask"] = _nested(drawn.mask[0] if shared else drawn.mask, number)
    for key in ("input", "sequence", "target", "targets", "expected"):
        doc.pop(key, None)
    data = "sequence" if problem.sequence else "input"
    target = "targets" if problem.loss_at == "every" and problem.sequence else "target"
    if problem.has_samples:
        samples = []
        for given, x, y in zip(doc["samples"], net.inputs, net.targets, strict=True):
            sample = {k: v for k, v in given.items() if k not in (data, "target", "targets")}
            samples.append({data: _nested(x, number), target: _nested(y, number), **sample})
        doc["samples"] = samples
    else:
        doc[data] = _nested(net.inputs[0], number)
        doc[target] = _nested(net.targets[0], number)
    return doc
