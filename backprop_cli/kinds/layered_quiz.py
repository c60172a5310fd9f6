"""`backprop quiz` on a layered network (issue 19): the questions, their exact values, and
the verdict on each answer by the rule of checking/verdicts.py, the student's own earlier
answers standing where an author's values stand in `check` (errors carried forward through
the carried pass: :class:`backprop_cli.checking.layered.LayeredWork`)."""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import numpy as np

from backprop_cli.checking.checker import KeyResult, Precision
from backprop_cli.checking.layered import LayeredWork
from backprop_cli.engine.layered import solve_layered
from backprop_cli.errors import suggest
from backprop_cli.kinds.base import QuizError, verdict_lines
from backprop_cli.kinds.layered_text import describe as describe_layer
from backprop_cli.kinds.network_quiz import schedule_lines
from backprop_cli.model.keys import KeyParts, compose, key_glob, split_key
from backprop_cli.model.layered import Array, LayeredProblem
from backprop_cli.numfmt import format_number

# what a question asks, by the kind of its key
_WORDS = {
    "z": "the pre-activation of", "a": "the output of", "dadz": "f'(z) of",
    "loss": "the loss", "grad.a": "∂L/∂(the output) of", "grad.z": "the delta ∂L/∂z of",
    "grad": "∂L/∂", "new": "after the update:", "change": "the update's change of",
    "grad.input": "∂L/∂(the input)",
}
_HINTS = {
    "z": "z = Σ weight·input (over the kernel's window for a conv layer) + bias",
    "a": "a = f(z); max pooling: the window's maximum; average pooling: its mean; "
         "dropout: mask·a_below/(1 − rate)",
    "dadz": "f'(z), from z or from a = f(z)",
    "loss": "the loss of the output against the target",
    "grad.a": "from the loss at the output; below: Σ weight·δ of the layer above (pooling: "
              "the window's gradient to its winner; dropout: mask/(1 − rate)·gradient)",
    "grad.z": "δ = ∂L/∂a · f'(z)",
    "grad": "Σ δ·(the input the weight multiplies) over positions, time steps and samples "
            "(δ alone for a bias)",
    "new": "new = p − η·grad",
    "change": "new − p = −η·grad",
    "grad.input": "Σ weight·δ of the first layer",
}
_GIVEN = ("input", "target", "param")
# a given tensor of more values, or with longer rows, is named by its shape, not listed
MAX_GIVEN = 64
MAX_ROW = 12


class LayeredQuiz:
    """The numbers of one layered network's problem, and the verdict on each answer."""

    def __init__(self, problem: LayeredProblem, patterns: Sequence[str] | None, limit: int,
                 digits: int, min_digits: int) -> None:
        self.problem = problem
        self.title = problem.title
        self.digits = digits
        self.min_digits = min_digits
        self.note: str | None = None
        self.values = solve_layered(problem).values
        self.work = LayeredWork(problem, self.values, min_digits)
        computed = [key for key in self.values if not _given(split_key(key))]
        self.askable = computed
        patterns = patterns or problem.quiz or None
        if patterns:
            regexes = [key_glob(pattern) for pattern in patterns]
            for pattern, regex in zip(patterns, regexes, strict=True):
                if not any(regex.match(key) for key in computed):
                    raise QuizError(f"'{pattern}' matches no computed value key"
                                    f"{suggest(pattern, computed)}")
            self.keys = [key for key in computed if any(r.match(key) for r in regexes)]
        else:
            first = [key for key in computed if (parts := split_key(key)) is not None
                     and parts.step == 1]
            self.keys = first[:limit]
            if len(first) > limit:
                self.note = (f"{limit} of step 1's {len(first)} values; ask for the others "
                             "with --keys (grad.K[*]: a whole tensor)")

    def fresh(self) -> LayeredQuiz:
        other = copy.copy(self)  # the values and the questions, shared
        other.work = LayeredWork(self.problem, self.values, self.min_digits)
        return other

    def given(self) -> list[str]:
        """The layers (a dropout's rate, scale and mask), the loss, the data and the
        starting parameters: each tensor as rows (a matrix per leading index), one too
        large for a screen named with where to find it."""
        problem = self.problem
        lines = ["Given:"]
        for layer in problem.layers:
            lines.append(f"  layer {layer.index} {layer.name}: {describe_layer(layer)}")
            if layer.type == "dropout":
                assert layer.mask is not None
                scale = self._num(1.0 / (1.0 - layer.rate))
                lines.append(f"    a kept value (mask 1) is scaled by 1/(1 - "
                             f"{self._num(layer.rate)}) = {scale}, a dropped one (mask 0) "
                             "is 0")
                per_sample = layer.mask.ndim > len(layer.input_shape)
                for k in range(len(layer.mask) if per_sample else 1):
                    lines += self.tensor_lines(
                        "mask", layer.mask[k] if per_sample else layer.mask, "    ",
                        f" of sample {k + 1}" if per_sample else "")
        lines.append(f"  loss {problem.loss.name}, learning rate "
                     f"{self._num(problem.learning_rate)}")
        lines += schedule_lines(problem)
        lines += self.data_lines()
        named: list[str] = []  # parameters named one by one: w = 0.5, u = 0.9, in a line
        for _, param in problem.parameters():
            if param.element_names is not None:
                named += [f"{name} = {self._num(float(value))}" for name, value in zip(
                    param.element_names, param.values.ravel(), strict=True)]
            else:
                lines += self.tensor_lines(param.tensor_name, param.values, "  ")
        lines += ["  " + ", ".join(named[start:start + 6]) for start in range(0, len(named), 6)]
        return lines

    def data_lines(self) -> list[str]:
        """Each sample's input and target (a sequence: a row per time step)."""
        problem = self.problem
        lines = []
        for k in range(problem.n_samples):
            indent = "  "
            if problem.has_samples:
                lines.append(f"  sample {k + 1}:")
                indent = "    "
            inputs, targets = problem.inputs[k], problem.targets[k]
            outputs = ", ".join(problem.output.units)
            if problem.sequence:
                lines += self.tensor_lines("input", inputs, indent, axes=(
                    f"a row per time step t, a column per input {', '.join(problem.input_names)}"))
            elif problem.input_names:
                lines.append(indent + ", ".join(
                    f"{name} = {self._num(float(value))}"
                    for name, value in zip(problem.input_names, inputs, strict=True)))
            else:
                lines += self.tensor_lines(compose("", "input", problem.input_name), inputs,
                                           indent)
            if targets.ndim > 1:
                lines += self.tensor_lines("target", targets, indent, axes=(
                    f"a row per time step t, a column per output {outputs}"))
            else:
                lines.append(f"{indent}target " + ", ".join(
                    f"{name} = {self._num(float(value))}"
                    for name, value in zip(problem.output.units, targets, strict=True)))
        return lines

    def tensor_lines(self, name: str, values: Array, indent: str, whose: str = "",
                     axes: str = "row i, column j") -> list[str]:
        """``name``'s values (``name[…]`` in keys) as rows: a vector on one line, a
        matrix a line per row, a larger tensor a matrix per index of its leading axes;
        one of more than :data:`MAX_GIVEN` values (or rows longer than :data:`MAX_ROW`)
        by its shape. ``whose``: words after the name (of sample 2)."""
        shape = "×".join(map(str, values.shape))
        if values.size > MAX_GIVEN or values.shape[-1] > MAX_ROW:
            return [f"{indent}{name}{whose} ({shape}): {values.size} values, too many to "
                    "list here: backprop solve FILE --statement gives them all"]
        if values.ndim == 1:
            numbers = "  ".join(self._num(float(v)) for v in values)
            if values.size == 1:
                return [f"{indent}{name}[1]{whose} = {numbers}"]
            return [f"{indent}{name}[j]{whose}, j = 1 to {values.size}: {numbers}"]
        texts = [[self._num(float(v)) for v in row] for row in values.reshape(
            -1, values.shape[-1])]
        width = max(len(text) for row in texts for text in row)
        rows = ["  ".join(text.rjust(width) for text in row) for row in texts]
        if values.ndim == 2:
            return [f"{indent}{name}{whose} ({shape}, {axes}):",
                    *[f"{indent}  {row}" for row in rows]]
        lines = [f"{indent}{name}{whose} ({shape}):"]
        height = values.shape[-2]
        for block, lead in enumerate(np.ndindex(*values.shape[:-2])):
            at = ",".join(str(i + 1) for i in lead)
            lines.append(f"{indent}  {name}[{at},i,j] ({axes}):")
            lines += [f"{indent}    {row}" for row in rows[block * height:(block + 1) * height]]
        return lines

    def describe(self, key: str) -> str:
        parts = split_key(key)
        if parts is None:
            return key
        words = _WORDS.get(parts.kind, parts.kind)
        name = parts.name + ("" if parts.index is None else
                             "[" + ",".join(map(str, parts.index)) + "]")
        where = "" if parts.time is None else f" at time step {parts.time}"
        sample = "" if parts.sample is None else f", sample {parts.sample + 1}"
        step = "" if parts.step == 1 else " (after training)" if parts.step is None else (
            f" (step {parts.step})")
        if parts.kind == "loss":
            return f"the loss{where}{sample}{step}"
        if parts.kind == "grad":
            return f"∂L/∂{name}{sample}{step}"
        return f"{words} {name}{where}{sample}{step}"

    def exact(self, key: str) -> float:
        return self.values[key]

    def judge(self, key: str, value: float, typed: Precision, text: str) -> KeyResult | None:
        """The verdict on an answer for ``key``, or None when it has too few digits."""
        judged = self.work.judge(key, value, typed)
        if judged.verdict == "imprecise":
            return None  # right only at a precision coarser than a quiz asks for
        return KeyResult(key=key, expected=value, text=text, actual=self.values[key],
                         verdict=judged.verdict, recomputed=judged.recomputed,
                         reason=judged.reason, diagnosis=judged.diagnosis)

    def accept(self, key: str, value: float, typed: Precision, text: str) -> None:
        """The student's answer becomes their value of ``key`` for the later questions."""
        self.work.give(key, value, typed, text)

    def hint(self, key: str) -> str:
        parts = split_key(key)
        return _HINTS.get(parts.kind, key) if parts is not None else key

    def explain(self, result: KeyResult) -> list[str]:
        lines = verdict_lines(result, self._num(result.actual))
        if result.verdict != "wrong":
            return lines
        lines[0] += " (backprop solve shows how)"
        own = result.recomputed
        if own is not None and not math.isclose(own, result.actual, rel_tol=1e-9,
                                                abs_tol=1e-12):
            lines.append(f"  {result.reason}")  # what the student's own answers give
        return lines

    def _num(self, value: float) -> str:
        return format_number(value, self.digits, ascii_only=True) if math.isfinite(
            value) else str(value)


def _given(parts: KeyParts | None) -> bool:
    return parts is not None and parts.kind in _GIVEN
