"""Probe: nudge parameters and compare the linear prediction of the loss change with the real one.

The seed document checks ∂L/∂w2 = −72 by raising w2 by 0.1: the gradient
predicts ΔL ≈ −72·0.1 = −7.2, and a forward pass with w2 = 0.6 gives a drop
of 7.12. In general, for changes Δp of some parameters,

    predicted ΔL = Σ ∂L/∂p · Δp        actual ΔL = L(p + Δp) − L(p)

and their difference is the part of the change the first derivative does not
see (½·Δpᵀ·H·Δp and smaller terms), which shrinks like Δp².

A nudge is a change, ``w2+=0.1``, ``w1-=0.05`` or ``w2=+0.1`` (a plus sign), or a new
value, ``w2=0.6`` or ``w1:=-0.3``. ``w1=-0.3`` could be read either way (set to −0.3, or
lower by 0.3), so it is refused with both spellings that say which. A layered network's
parameters are its elements' keys: ``K[1,1,2,2]+=0.1``, ``c[1]=0.4``, an rnn's ``u-=0.1``
(:mod:`backprop_cli.engine.layered_loss`).

Value keys: ``loss``, ``<p>``, ``grad.<p>``, ``nudged.<p>``, ``nudged.loss``,
``predicted_change``, ``actual_change``, ``difference`` (actual − predicted).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from backprop_cli.engine.layered_loss import LayeredLoss
from backprop_cli.engine.paramspace import Point, exact, no_parameter
from backprop_cli.model.keys import split_key, value_key
from backprop_cli.model.layered import LayeredProblem
from backprop_cli.model.problem import Problem
from backprop_cli.numfmt import format_number
from backprop_cli.render.jsonout import finite_only

# the name is a parameter's key: a name, and a tensor element's index in brackets
# (K[1,1,2,2]); model/keys.split_key checks it
_NUDGE = re.compile(r"^\s*(?P<name>[^\W\d][\w^]*(?:\[[^\]]*\])?)\s*(?P<op>:=|\+=|-=|−=|=)\s*"
                    r"(?P<number>\S+)\s*$")


class NudgeError(ValueError):
    """A nudge that cannot be read, or names no parameter."""


@dataclass(frozen=True)
class Nudge:
    """Move ``name`` by ``change`` (relative) or to ``value`` (absolute)."""

    name: str
    change: float | None = None
    value: float | None = None

    def new_value(self, start: float) -> float:
        if self.value is not None:
            return self.value
        assert self.change is not None
        return start + self.change


def parse_nudge(text: str) -> Nudge:
    match = _NUDGE.match(text)
    if match is None:
        raise NudgeError(f"'{text}' is not NAME+=CHANGE, NAME-=CHANGE, NAME=+CHANGE, "
                         "NAME=VALUE or NAME:=VALUE (e.g. w2+=0.1)")
    number = match.group("number").replace("−", "-")
    try:
        amount = float(number)
    except ValueError:
        raise NudgeError(f"'{text}': '{number}' is not a number") from None
    if not math.isfinite(amount):
        raise NudgeError(f"'{text}': the number must be finite")
    name, op = match.group("name"), match.group("op")
    parts = split_key(name)
    if parts is None or parts.kind != "param" or parts.text != name:
        raise NudgeError(f"'{text}': '{name}' is not a parameter's name (a tensor element's "
                         "indices count from 1: K[1,1,2,2])")
    if op == ":=":
        return Nudge(name, value=amount)
    if op == "+=":
        return Nudge(name, change=amount)
    if op in ("-=", "−="):
        return Nudge(name, change=-amount)
    if number[0] == "+":  # w2=+0.1: a plus sign makes it a change
        return Nudge(name, change=amount)
    if number[0] == "-":  # w1=-0.3: set, or lower? Refused, with both unambiguous spellings
        size = number[1:]
        raise NudgeError(f"'{text}' is ambiguous: write {name}-={size} to lower {name} by "
                         f"{size}, or {name}:={number} to set it to {number}")
    return Nudge(name, value=amount)


@dataclass
class Moved:
    name: str
    start: float
    new: float
    gradient: float
    given_change: float | None = None  # w2=+0.1: exactly 0.1, not 0.6 − 0.5 in binary

    @property
    def change(self) -> float:
        return self.new - self.start if self.given_change is None else self.given_change

    @property
    def contribution(self) -> float:
        return self.gradient * self.change


@dataclass
class ProbeResult:
    problem: Problem | LayeredProblem
    loss: float
    new_loss: float
    moved: list[Moved] = field(default_factory=list)

    @property
    def predicted(self) -> float:
        return math.fsum(m.contribution for m in self.moved)

    @property
    def actual(self) -> float:
        return self.new_loss - self.loss

    @property
    def difference(self) -> float:
        return self.actual - self.predicted

    def values(self) -> dict[str, float]:
        values = {value_key("loss"): self.loss}
        for m in self.moved:
            values[m.name] = m.start
            values[value_key("grad", m.name)] = m.gradient
            values[f"nudged.{m.name}"] = m.new
        values["nudged.loss"] = self.new_loss
        values["predicted_change"] = self.predicted
        values["actual_change"] = self.actual
        values["difference"] = self.difference
        return values

    def sentence(self, digits: int = 4) -> str:
        """The seed's words: "If w2 grows by 0.1 the loss should drop by about 7.2; it drops
        by 7.12." """

        def num(value: float) -> str:
            return format_number(abs(value), digits)

        moves = [f"{m.name} {'grows' if m.change > 0 else 'shrinks'} by {num(m.change)}"
                 for m in self.moved if m.change != 0]
        if not moves:
            return "Nothing moves, so the loss stays the same."
        said = moves[0] if len(moves) == 1 else ", ".join(moves[:-1]) + " and " + moves[-1]
        comma = "," if len(moves) > 1 else ""
        predicted, actual = self.predicted, self.actual
        should = ("stay the same" if predicted == 0 else
                  f"{'drop' if predicted < 0 else 'rise'} by about {num(predicted)}")
        does = ("stays the same" if actual == 0 else
                f"{'drops' if actual < 0 else 'rises'} by {num(actual)}")
        return f"If {said}{comma} the loss should {should}; it {does}."


def probe(problem: Problem | LayeredProblem, nudges: list[Nudge]) -> ProbeResult:
    """The loss, its gradient, and the loss with the nudged parameters."""
    point: Point | LayeredLoss
    if isinstance(problem, LayeredProblem):
        point = LayeredLoss(problem)
        names = point.names
    else:
        problem = exact(problem)
        point = Point(problem)
        names = list(problem.parameters)
    seen: set[str] = set()
    for nudge in nudges:
        if nudge.name not in names:
            raise NudgeError(no_parameter(nudge.name, names))
        if nudge.name in seen:
            raise NudgeError(f"'{nudge.name}' is nudged twice")
        seen.add(nudge.name)
    loss, gradients = point.gradients()
    moved = []
    for nudge in nudges:
        start = point.get(nudge.name)
        new = nudge.new_value(start)
        moved.append(Moved(nudge.name, start, new, gradients[nudge.name], nudge.change))
        point.set(nudge.name, new)
    nudged = point.loss()
    if not math.isfinite(nudged):  # issue 18: never "rises by ∞" with exit status 0
        where = ", ".join(f"{m.name} = {m.new:g}" for m in moved)
        raise NudgeError(f"the loss is not a finite number at {where} (it overflows): nudge "
                         "by less")
    return ProbeResult(problem, loss, nudged, moved)


def json_document(result: ProbeResult, path: str) -> dict[str, object]:
    """JSON: each nudge, the values and the sentence (null for what is not finite: JSON
    has no NaN or Infinity)."""
    return finite_only({
        "file": path,
        "title": result.problem.title,
        "nudges": [{"name": m.name, "from": m.start, "to": m.new, "change": m.change,
                    "gradient": m.gradient} for m in result.moved],
        "values": dict(result.values()),
        "sentence": result.sentence(),
    })


def report_lines(result: ProbeResult, digits: int) -> list[str]:
    """The text report: each nudge, the predicted and the actual change of the loss."""
    def num(value: float) -> str:
        return format_number(value, digits)

    def wide(value: float) -> str:  # two losses close together: their difference shows
        return format_number(value, digits + 2)

    def factor(value: float) -> str:
        text = num(value)
        return f"({text})" if text.startswith("−") else text

    def signed(value: float) -> str:
        text = num(value)
        return text if text.startswith("−") else f"+{text}"

    lines = [result.problem.title, ""]
    for m in result.moved:
        lines.append(f"{m.name}: {num(m.start)} → {num(m.new)} (Δ{m.name} = {signed(m.change)}),"
                     f" ∂L/∂{m.name} = {num(m.gradient)}")
    symbols = " + ".join(f"∂L/∂{m.name}·Δ{m.name}" for m in result.moved)
    products = " + ".join(f"{factor(m.gradient)}·{factor(m.change)}" for m in result.moved)
    predicted = f"predicted  ΔL ≈ {symbols} = {products}"
    if len(result.moved) > 1:
        predicted += " = " + " + ".join(factor(m.contribution) for m in result.moved)
    changes = ", ".join(f"{m.name} = {num(m.new)}" for m in result.moved)
    lines += [
        "",
        f"{predicted} = {num(result.predicted)}",
        f"actual     ΔL = L({changes}) − L = {wide(result.new_loss)} − {wide(result.loss)} = "
        f"{num(result.actual)}",
        f"difference actual − predicted = {num(result.difference)}",
        "",
        result.sentence(digits),
    ]
    return lines
