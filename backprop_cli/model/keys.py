"""Value keys: the one grammar that builds and parses the name of every number.

Grammar (see the README's "Value keys"):

    key      := [prefix] body [ "[" i { "," i } "]" ] [ "#" t ] [ "@" k ]
    prefix   := "step" k "." (k >= 2) | "final."
    body     := "z." unit | "a." unit | "dadz." unit | "loss"
              | "grad.a." unit | "grad.z." unit | "grad." param
              | param | "new." param | "change." param
              | "error." unit | "grad.input." input
              | "epoch" k "." ("loss" | "loss_sum" | "errors")   (never prefixed)
              | "predict." ("z" | "a") "." unit "@" k | "predict.accuracy"
              | "accuracy"                              (final.accuracy only)
              | ("v" | "m" | "s" | "mhat" | "shat") "." param   (the optimizer's)
              | "input." input | "target." unit        (data, never prefixed)
              | "grad.input." input | "change." param     (layered networks)

Layered networks (issue 19, :mod:`backprop_cli.model.layered`) add a tensor index after
the name, 1-based (``z.C[1,2,3]``, ``K[1,1,2,2]``, ``input.x[1,2,3]``), and a time step
``#t`` (1-based) before any ``@k`` (``z.h#2``, ``grad.a.h#1@2``, ``loss#3``). A glob
pattern over keys with brackets is :func:`key_glob`'s (``grad.K[*]``: the whole tensor).

Per-sample quantities carry ``@k`` (k from 1) when the file uses ``samples``;
plain ``loss`` and ``grad.<param>`` are then the batch's, and
``grad.<param>@k`` is sample k's contribution to it.

k is always the sample's place in the data (its row in the file), whatever
the step: with ``batch_size``, step s only has the keys of the samples in its
batch (``step2.z.h1@3`` with batches of 2), the data keys ``input.x1@3`` are
the same for every step, and ``final.`` keys cover every sample.

The optimizer's values exist for the steps that update (like ``new.``):
``v.<param>`` (momentum), ``m.``, ``s.``, ``mhat.``, ``shat.<param>`` (Adam).

This module is the only place that writes or reads that grammar, and a leaf: it
knows no problem. Build a key with :func:`value_key` (or :meth:`KeyParts.text`), or in
a loop over units and samples with :func:`compose` / :func:`keys_of` from a
:func:`prefix_for` and a :func:`suffix_for`; split one with :func:`split_key`.
Whether a key names a value of a given problem (its units, parameters, steps
and samples), and the keys of a problem in hand order, are
:mod:`backprop_cli.model.keyspace`'s.

A new key kind is one entry in :data:`KeyKind` and :data:`_HEADS` here (its
text before the name), then its rules in ``keyspace.parse_key``,
``keyspace.ordered_keys`` and ``keyspace.key_rank`` (held together by
tests/engine/test_engine.py), and its value where the engine records it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from backprop_cli.records import record

KeyKind = Literal["z", "a", "dadz", "grad.a", "grad.z", "grad", "new", "v", "m", "s", "mhat",
                  "shat", "input", "target", "loss", "param", "change", "error", "grad.input",
                  "epoch.loss", "epoch.loss_sum", "epoch.errors", "predict.z", "predict.a",
                  "accuracy", "predict.accuracy"]

# the text of each kind before the name ("param" has none: its key is the name)
_HEADS: dict[KeyKind, str] = {
    "z": "z.", "a": "a.", "dadz": "dadz.", "grad.a": "grad.a.", "grad.z": "grad.z.",
    "grad": "grad.", "new": "new.", "v": "v.", "m": "m.", "s": "s.", "mhat": "mhat.",
    "shat": "shat.", "input": "input.", "target": "target.", "loss": "loss", "param": "",
    "change": "change.", "error": "error.", "grad.input": "grad.input.",
    # an epoch's values, epoch<k>.loss (k is the parts' name): built by epoch_key alone
    "epoch.loss": "epoch", "epoch.loss_sum": "epoch", "epoch.errors": "epoch",
    # predictions with the final parameters on the rows of `predict:` (always @k), and the
    # share of samples classified right: final.accuracy (the kind's step is None, as every
    # final. key's), predict.accuracy
    "predict.z": "predict.z.", "predict.a": "predict.a.", "accuracy": "accuracy",
    "predict.accuracy": "predict.accuracy",
}
KEY_KINDS: tuple[KeyKind, ...] = tuple(_HEADS)
UNIT_KINDS: tuple[KeyKind, ...] = ("z", "a", "dadz", "grad.a", "grad.z")
# the conventions of issue 16: the error term −∂L/∂z of a unit (Mitchell's δ), the
# change new − old of a parameter, ∂L/∂x of an input
CONVENTION_KINDS: tuple[KeyKind, ...] = ("error", "change", "grad.input")
# epoch<k>.loss (the mean of the step losses of epoch k), epoch<k>.loss_sum (their sum),
# epoch<k>.errors (the perceptron's misclassified samples of epoch k); k from 1
EPOCH_KINDS: tuple[KeyKind, ...] = ("epoch.loss", "epoch.loss_sum", "epoch.errors")
_EPOCH_WORDS = {kind: kind.partition(".")[2] for kind in EPOCH_KINDS}
_EPOCH_BY_WORD = {word: kind for kind, word in _EPOCH_WORDS.items()}
DATA_KINDS: tuple[KeyKind, ...] = ("input", "target")
# the kinds only layered networks have (the dense format's schema has none of them)
# the optimizers' values (model/optimizers.py: ALL_UPDATE_KINDS, held equal by a test)
OPTIMIZER_KINDS: tuple[KeyKind, ...] = ("v", "m", "s", "mhat", "shat")
# kinds whose body is "<kind>.<name>" (the word before the first '.')
_NAMED_KINDS: dict[str, KeyKind] = {
    head[:-1]: kind for kind, head in _HEADS.items() if head.endswith(".") and "." not in head[:-1]
}
# a key named in a sentence before " = " (a checker's reason: "your rounded a.o = 0.824")
KEY_BEFORE_EQUALS = re.compile(r"(?<![\w.])((?:step[0-9]+\.|final\.)?[A-Za-z_][\w.^]*(?:@[0-9]+)?)"
                               r"(?= = )")
# what every data key begins with
DATA_PREFIXES = tuple(_HEADS[kind] for kind in DATA_KINDS)
# a step or a sample number has at most this many digits (int() has a digit limit)
_MAX_DIGITS = 9


def head(kind: KeyKind) -> str:
    """The text of a kind's key between the step prefix and the name (``grad.a.``)."""
    return _HEADS[kind]


def stem(prefix: str, kind: KeyKind) -> str:
    """A key without its name and suffix (``step2.grad.``), to ask a pattern about."""
    return prefix + _HEADS[kind]


def named_kind(word: str) -> KeyKind:
    """The kind whose keys begin with ``word.`` (``v`` -> "v"); KeyError if none."""
    return _NAMED_KINDS[word]


FINAL_PREFIX = "final."  # the prefix of the final forward pass's keys


def prefix_for(step: int | None) -> str:
    """Key prefix of step ``step`` (1-based); None means the final forward pass."""
    if step is None:
        return FINAL_PREFIX
    return "" if step == 1 else f"step{step}."


def suffix_for(sample: int | None) -> str:
    """Key suffix of sample ``sample`` (0-based): '@k' with k from 1; '' for None."""
    return "" if sample is None else f"@{sample + 1}"


def compose(prefix: str, kind: KeyKind, name: str = "", suffix: str = "") -> str:
    """The key of ``kind`` and ``name`` from a :func:`prefix_for` and a :func:`suffix_for`."""
    if kind in _EPOCH_WORDS:
        return epoch_key(kind, int(name))
    return prefix + _HEADS[kind] + name + suffix


def epoch_key(kind: KeyKind, epoch: int) -> str:
    """``epoch<k>.loss``, ``epoch<k>.loss_sum`` or ``epoch<k>.errors`` (k from 1)."""
    return f"epoch{epoch}.{_EPOCH_WORDS[kind]}"


def keys_of(prefix: str, kind: KeyKind, names: Iterable[str], suffix: str = "") -> list[str]:
    """:func:`compose` for each of ``names`` (a layer's units, the parameters...)."""
    if kind in _EPOCH_WORDS:
        return [epoch_key(kind, int(name)) for name in names]
    start = prefix + _HEADS[kind]
    return [start + name + suffix for name in names]


def keys_by_name(prefix: str, kinds: Iterable[KeyKind], names: Iterable[str],
                 suffix: str = "") -> list[str]:
    """:func:`compose` for each of ``names`` and, name by name, each of ``kinds``
    (z.h1, a.h1, z.h2, a.h2: the order of a hand calculation)."""
    starts = [prefix + _HEADS[kind] for kind in kinds]
    return [start + name + suffix for name in names for start in starts]


def for_sample(keys: Iterable[str], suffix: str) -> list[str]:
    """Keys built without a suffix, with a :func:`suffix_for` (one sample's of a block
    of keys, listed once for every sample)."""
    return [key + suffix for key in keys] if suffix else list(keys)


def value_key(kind: KeyKind, name: str = "", step: int | None = 1,
              sample: int | None = None, index: tuple[int, ...] | None = None,
              time: int | None = None) -> str:
    """The key of a value: ``kind`` of ``name`` at ``step`` (None: the final pass) for
    ``sample`` (0-based; None: no '@k', for a file without samples or a batch value);
    ``index`` a tensor element's (1-based, ``[1,2]``), ``time`` a time step's (``#t``)."""
    if kind in _EPOCH_WORDS:
        return epoch_key(kind, int(name))
    return (prefix_for(step) + _HEADS[kind] + name + index_suffix(index) + time_suffix(time)
            + suffix_for(sample))


def index_suffix(index: tuple[int, ...] | None) -> str:
    """``[1,2,3]`` for a 1-based tensor index; '' for None."""
    return "" if index is None else "[" + ",".join(map(str, index)) + "]"


def element_names(name: str, shape: tuple[int, ...]) -> list[str]:
    """``name[i,j,…]`` of every element of a tensor of ``shape``, row-major, 1-based."""
    names = [name + "["]
    for axis, size in enumerate(shape):
        last = axis == len(shape) - 1
        numbers = [f"{i}{']' if last else ','}" for i in range(1, size + 1)]
        names = [start + number for start in names for number in numbers]
    return names if shape else [name]


def time_suffix(time: int | None) -> str:
    """``#t`` for a 1-based time step; '' for None."""
    return "" if time is None else f"#{time}"


def key_glob(pattern: str) -> re.Pattern[str]:
    """A glob over keys as a regex: ``*`` and ``?`` as in fnmatch, but brackets are the
    keys' own (a tensor index), not character classes: ``grad.K[1,1,2,2]`` matches that
    key, and ``[*]`` any index (``grad.K[*]``: every element of K)."""
    parts = []
    for char in pattern:
        parts.append(".*" if char == "*" else "." if char == "?" else re.escape(char))
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


@record(frozen=True)
class KeyParts:
    step: int | None  # None for final.; 1 for the data
    kind: KeyKind
    name: str  # unit, param or input name ('' for loss)
    sample: int | None  # 0-based sample index, or None
    index: tuple[int, ...] | None = None  # a tensor element's, 1-based (layered networks)
    time: int | None = None  # a time step, 1-based (layered networks' sequences)

    @property
    def prefix(self) -> str:
        return prefix_for(self.step)

    @property
    def suffix(self) -> str:
        return suffix_for(self.sample)

    @property
    def text(self) -> str:
        """The key these parts name (``split_key(parts.text) == parts``)."""
        return value_key(self.kind, self.name, self.step, self.sample, self.index, self.time)


def _digits(text: str, limit: int = _MAX_DIGITS) -> bool:
    return 0 < len(text) <= limit and text.isascii() and text.isdigit()


def step_number(text: str) -> int | None:
    """k of a text (a key, or the literal start of a pattern) that begins with
    "step<k>.", whatever k; None when it does not begin so."""
    if not text.startswith("step"):
        return None
    number, dot, _ = text[4:].partition(".")
    return int(number) if dot and _digits(number, 4000) else None


def may_be_later_step(literal: str) -> bool:
    """Whether a key of step 2 or later (or a parameter named step…) can begin with
    ``literal`` (a pattern's text before its first wildcard)."""
    return literal.startswith("step") or "step".startswith(literal)


def steps_reached(literal: str) -> set[int] | None:
    """The steps whose keys can begin with ``literal`` (a pattern's text before its
    first wildcard): {k} for "step<k>.…", None (any) when the step number is not
    written out yet ("st", "step1"), {1} otherwise (data and final. keys included)."""
    if (step := step_number(literal)) is not None:
        return {step}
    if "step".startswith(literal) or (literal.startswith("step") and (
            literal == "step" or _digits(literal[4:], 4000))):
        return None
    return {1}


def value_key_pattern(name: str, layered: bool = False) -> str:
    """The grammar of a dense network's keys as one regex (JSON Schema's dialect), with
    ``name`` the regex of a name (no tensor index or time step).

    Stricter than :func:`split_key` on one point: no '@01'. ``layered``: a layered
    network's keys (tensor indices, time steps) instead.
    """
    kinds = "|".join(re.escape(kind) for kind, text in _HEADS.items() if text.endswith("."))
    if layered:
        time = r"(#[1-9][0-9]*)?"
        index = r"(\[[1-9][0-9]*(,[1-9][0-9]*)*\])?"
        return (rf"^(step[1-9][0-9]*\.|final\.)?(loss{time}|(({kinds})\.)?{name}{index}{time})"
                r"(@[1-9][0-9]*)?$")
    epochs = "|".join(_EPOCH_WORDS.values())
    return (rf"^((step[1-9][0-9]*\.|final\.)?(loss|(({kinds})\.)?{name})"
            rf"(@[1-9][0-9]*)?|epoch[1-9][0-9]*\.({epochs})|predict\.accuracy)$")


def prefix_of(text: str) -> str:
    """The step prefix a key begins with ("step<k>." or "final."), or ''."""
    if text.startswith("final."):
        return "final."
    number = step_number(text)
    return "" if number is None else text[: text.index(".") + 1]


def step_of(text: str) -> int | None:
    """The step a key belongs to (1 for data keys), None for ``final.`` keys."""
    if text.startswith("final."):
        return None
    number = step_number(text)
    return 1 if number is None else number


def split_key(text: str) -> KeyParts | None:
    """The parts of a key, or None when the text does not follow the grammar.

    It knows no problem: whether the names, the step and the sample exist is
    ``keyspace.parse_key``'s question.
    """
    step: int | None = 1
    sample: int | None = None
    body = text
    prefixed = False
    if "@" in body:
        body, _, number = body.rpartition("@")
        if not _digits(number) or number == "0" * len(number):
            return None
        sample = int(number) - 1  # '@01' is read as '@1' (as it always was), written '@1'
    time: int | None = None
    if "#" in body:
        body, _, number = body.rpartition("#")
        if not _digits(number) or number[0] == "0":
            return None
        time = int(number)
    index: tuple[int, ...] | None = None
    if body.endswith("]"):
        opening = body.rfind("[")
        numbers = body[opening + 1:-1].split(",")
        if opening < 0 or not all(_digits(n) and n[0] != "0" for n in numbers):
            return None
        index, body = tuple(map(int, numbers)), body[:opening]
    if body.startswith(("step", "final.")):
        if body.startswith("final."):
            step, body, prefixed = None, body[6:], True
        elif (step := step_number(body)) is not None:
            digits = len(str(step))
            if step < 2 or digits > _MAX_DIGITS or body[4 + digits] != ".":
                return None  # step1., step02. and step<a billion>. are no prefixes
            body, prefixed = body[5 + digits:], True
        else:
            step = 1
    kind: KeyKind
    if body == "loss":
        return None if index is not None else KeyParts(step, "loss", "", sample, None, time)
    if (index is not None or time is not None) and body.startswith(("predict.", "epoch",
                                                                    "accuracy")):
        return None  # predictions, epochs and accuracy have no tensor index or time step
    if body.startswith("predict.") and not prefixed:
        rest = body[8:]
        if rest == "accuracy":
            return KeyParts(1, "predict.accuracy", "", None) if sample is None else None
        sub, dot, unit = rest.partition(".")
        if not dot or sub not in ("z", "a") or sample is None or not unit or "." in unit or (
                "\n" in unit):
            return None
        return KeyParts(1, "predict.z" if sub == "z" else "predict.a", unit, sample)
    if body == "accuracy" and step is None:
        return KeyParts(None, "accuracy", "", None) if sample is None else None
    if body.startswith("epoch") and not prefixed:
        number, dot, word = body[5:].partition(".")
        if dot and word in _EPOCH_BY_WORD:
            if not _digits(number) or number[0] == "0" or sample is not None:
                return None
            return KeyParts(1, _EPOCH_BY_WORD[word], number, None)
    head, dot, name = body.partition(".")
    if not dot:
        if not head or sample is not None or time is not None or "\n" in head or (
                "[" in head or "]" in head):
            return None  # a parameter is never per sample nor per time step
        return KeyParts(step, "param", head, None, index)
    if head == "grad":
        sub, dot, unit = name.partition(".")
        if dot and (sub == "a" or sub == "z" or sub == "input"):
            kind, name = ("grad.a" if sub == "a" else "grad.z" if sub == "z"
                          else "grad.input"), unit
        else:
            kind = "grad"
        if step is None:
            return None  # the final pass is forward only
        if kind == "grad" and time is not None:
            return None  # a parameter's gradient: one for every time step
    else:
        found = _NAMED_KINDS.get(head)
        if found is None:
            return None
        kind = found
        if kind == "input" or kind == "target":
            if prefixed:
                return None  # data keys are never prefixed
        elif kind == "error":
            if step is None:
                return None  # the final pass is forward only
        elif kind != "z" and kind != "a" and kind != "dadz" and (
                step is None or sample is not None or time is not None):
            return None  # new, change and the optimizer's: a step's update, not a sample's
    if not name or "." in name or "@" in name or "\n" in name or "[" in name or (
            "]" in name or "#" in name):
        return None
    return KeyParts(step, kind, name, sample, index, time)


# ------------------------------------------------------- derivative exercises' keys
#
# A derivative exercise (``kind: derivative``) names its numbers and formulas with a
# grammar of its own (no steps, no samples; names hold no dots):
#
#     key      := "value" ["." y]                  f at the point, or intermediate y there
#               | "derivative." v                  ∂f/∂v (v independent or intermediate)
#               | "derivative." a "." b            one link of the chain, ∂a/∂b
#               | "derivative2." x "." y           ∂/∂y (∂f/∂x)
#               | "new_value" | "predicted_change" | "actual_change" | "difference"
#               | "formula." v | "formula." a "." b | "formula2." x "." y   (formulas)

ExerciseHead = Literal["value", "derivative", "derivative2", "formula", "formula2"]
EXERCISE_HEADS: tuple[ExerciseHead, ...] = ("value", "derivative", "derivative2", "formula",
                                             "formula2")
# the values of a small change of the variables (``step``)
EXERCISE_STEP_KEYS = ("new_value", "predicted_change", "actual_change", "difference")
_EXERCISE_ARITY: dict[str, tuple[int, ...]] = {
    "value": (0, 1), "derivative": (1, 2), "derivative2": (2,), "formula": (1, 2),
    "formula2": (2,),
}


def exercise_key(head: ExerciseHead, *names: str) -> str:
    """A derivative exercise's key: ``exercise_key("derivative", "x")`` is
    ``derivative.x``, ``exercise_key("formula2", "x", "y")`` is ``formula2.x.y``."""
    return ".".join((head, *names))


def split_exercise_key(text: str) -> tuple[str, tuple[str, ...]] | None:
    """The head and names of a derivative exercise's key (("derivative", ("z", "y")));
    a change key is its own head with no names; None when the text is not such a key."""
    if text in EXERCISE_STEP_KEYS:
        return text, ()
    head, *names = text.split(".")
    arity = _EXERCISE_ARITY.get(head)
    if arity is None or len(names) not in arity or not all(names):
        return None
    return head, tuple(names)


def is_formula_key(text: str) -> bool:
    """Whether a derivative exercise's key names a formula (``formula.x``, ``formula2.x.y``)."""
    return text.startswith(("formula.", "formula2."))
