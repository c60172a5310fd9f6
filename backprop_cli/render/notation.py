"""Symbols and typesetting: how every value key is written, in Unicode, ASCII or LaTeX.

One class decides *what* a key denotes (:meth:`MathNotation.symbol`): ``z.h1``
is z with subscript h1, the single output's activation is ŷ, ``grad.z.o`` is
δ_o, ``grad.w1`` is ∂L/∂w1, sample k adds a superscript (k), a value of
another step than the section's gets a mark (``new`` after the update). Three
subclasses decide *how* it looks: :class:`UnicodeNotation` for the terminal,
:class:`AsciiNotation` for ``--ascii`` and :class:`LatexNotation` for Markdown.
Each is a :class:`~backprop_cli.expr.Notation`, so formulas from
:mod:`backprop_cli.model.formulas` render through :func:`backprop_cli.expr.render`.

Author names keep their spelling: ``w_1^4`` becomes w₁⁴ in Unicode where the
characters exist (digits and signs), ``w_{1}^{4}`` in LaTeX, and stays as
typed otherwise.
"""

from __future__ import annotations

import copy
import re

from backprop_cli.model.activations import find_activation
from backprop_cli.model.keys import KeyParts
from backprop_cli.model.keyspace import parse_key
from backprop_cli.model.optimizers import ALL_UPDATE_KINDS as OPTIMIZER_KINDS
from backprop_cli.model.problem import Problem
from backprop_cli.numfmt import format_decimals, format_display
from backprop_cli.rounding import shown_decimals

SUPERSCRIPT = dict(zip("0123456789+-−()=", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁽⁾⁼", strict=True))
SUBSCRIPT = dict(zip("0123456789+-−()=", "₀₁₂₃₄₅₆₇₈₉₊₋₋₍₎₌", strict=True))
# Superscript letters for the 'new' mark; all four are in the common terminal fonts.
SUPERSCRIPT_NEW = "ⁿᵉʷ"
SUPERSCRIPT_WORDS = {"new": SUPERSCRIPT_NEW, "prev": "ᵖʳᵉᵛ"}

_NAME_PARTS = re.compile(r"([_^])")
_LETTERS_DIGITS = re.compile(r"^([^\W\d_]+)(\d+)$")


def _convert(text: str, table: dict[str, str]) -> str | None:
    if not text or any(ch not in table for ch in text):
        return None
    return "".join(table[ch] for ch in text)


def split_name(name: str) -> tuple[str, list[str], list[str]]:
    """``w_1^4`` -> ('w', ['1'], ['4']): the base, its subscripts and superscripts."""
    pieces = _NAME_PARTS.split(name)
    base, subs, sups = pieces[0], list[str](), list[str]()
    for op, piece in zip(pieces[1::2], pieces[2::2], strict=True):
        (subs if op == "_" else sups).append(piece)
    return base, subs, sups


def unicode_name(name: str) -> str:
    """w_1^4 -> w₁⁴ when Unicode has every character; otherwise the name as typed."""
    base, subs, sups = split_name(name)
    if (not subs and not sups) or len(subs) > 1 or len(sups) > 1 or not base:
        return name
    sub = _convert(subs[0], SUBSCRIPT) if subs else ""
    sup = _convert(sups[0], SUPERSCRIPT) if sups else ""
    if sub is None or sup is None:
        return name
    return base + sub + sup


def latex_name(name: str, top: bool = True) -> str:
    """An author name in LaTeX: w1 -> w_{1} (at top level), w_1^4 -> w_{1}^{4}."""
    base, subs, sups = split_name(name)
    if top and not subs and (match := _LETTERS_DIGITS.match(base)):
        base, subs = match.group(1), [match.group(2)]
    if top and len(base) > 1 and not base.isdigit():
        base = rf"\mathit{{{base}}}"
    text = base
    if subs:
        text += "_{" + ",".join(subs) + "}"
    if sups:
        text += "^{" + ",".join(sups) + "}"
    return text


class MathNotation:
    """What each key denotes; subclasses typeset it (the expr.Notation protocol)."""

    times = "·"
    minus = "−"
    textbook = True
    ascii_only = False

    def __init__(self, problem: Problem, digits: int = 4, context: int | None = 1) -> None:
        self.problem = problem
        self.digits = digits
        self.context = context  # the step whose values a section shows (None: final)
        self.rate_symbol = False  # write the learning rate as η (in update formulas)
        self.sample_marks = True  # False: a sample's formula read as any sample's
        # hand-calculation mode: every number written with the decimals the student keeps
        self.decimals: int | None = problem.round
        self.fixed = False  # --decimals N: exactly N decimals (trailing zeros kept)
        # hand-calculation mode's own decimals (not an equation's chosen ones): a value on its
        # way to being kept shows every decimal it has (0.7·(−0.025) = −0.0175 = −0.018)
        self.hand = problem.round is not None
        self.unit_layer = {u: li for li, layer in enumerate(problem.layers) for u in layer.units}
        self.outputs = set(problem.output_names)
        self.single_output = len(problem.output_names) == 1
        self.target_plain = self.single_output and "y" not in problem.input_names
        self._cache: dict[str, str] = {}
        self._parts: dict[str, KeyParts | None] = {}

    # ---------------------------------------------------------------- variants

    def in_context(self, context: int | None) -> MathNotation:
        """The same notation for a section showing step ``context`` (None: final)."""
        if context == self.context:
            return self
        other = copy.copy(self)
        other.context = context
        other._cache = {}
        return other

    def with_decimals(self, decimals: int, fixed: bool = True) -> MathNotation:
        """The same notation writing numbers with exactly ``decimals`` decimals (``fixed``),
        or at most that many."""
        other = copy.copy(self)
        other.decimals = decimals
        other.fixed = fixed
        other.hand = False
        other._cache = {}
        return other

    def with_rate_symbol(self) -> MathNotation:
        other = copy.copy(self)
        other.rate_symbol = True
        return other

    def without_samples(self) -> MathNotation:
        other = copy.copy(self)
        other.sample_marks = False
        other._cache = {}
        return other

    # ----------------------------------------------------------------- symbols

    def parts(self, key: str) -> KeyParts | None:
        if key not in self._parts:
            self._parts[key] = parse_key(key, self.problem)
        return self._parts[key]

    def symbol(self, key: str) -> str:
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = self._symbol(key)
        return cached

    def _symbol(self, key: str) -> str:
        parts = self.parts(key)
        if parts is None:
            return key
        kind, name = parts.kind, parts.name
        marks: list[str] = []
        if parts.sample is not None and self.sample_marks:
            marks.append(f"({parts.sample + 1})")
        suffix = ""
        context = self.context
        if kind == "new":
            marks.append("new")
        elif kind in OPTIMIZER_KINDS and context is not None and parts.step == context - 1:
            marks.append("prev")  # the optimizer's state carried from the step before
        elif kind not in ("input", "target") and parts.step != context:
            if parts.step is None:
                marks.append("new")
            else:
                suffix = self.step_suffix(parts.step)
        if kind == "input":
            if name.isdigit():  # inputs named 1, 2, 3 are x_1, x_2, x_3 in a formula
                return self.mark(self.unit_sub("x", name), marks)
            return self.mark(self.name(name), marks)
        if kind == "target":
            letter = "g" if self.problem.loss.given else "y"  # loss: none: the upstream g
            base = letter if self.target_plain else self.unit_sub(letter, name)
            return self.mark(base, marks)
        if kind in ("param", "new"):
            return self.mark(self.name(name), marks) + suffix
        if kind == "z":
            return self.mark(self.unit_sub("z", name), marks) + suffix
        if kind == "a":
            return self.mark(self.activation_symbol(name), marks) + suffix
        if kind == "dadz":
            z = self.mark(self.unit_sub("z", name), marks)
            return self.prime(self.function_label(name), z) + suffix
        if kind == "loss":
            return self.mark("L", marks) + suffix
        if kind == "grad.a":
            return self.partial(self.mark("L", marks), self.activation_symbol(name)) + suffix
        if kind == "grad.z":
            return self.mark(self.delta(name), marks) + suffix
        if kind == "grad":
            return self.partial(self.mark("L", marks), self.name(name)) + suffix
        if kind in OPTIMIZER_KINDS:
            return self.mark(self.state(kind, name), marks) + suffix
        if kind == "error":  # the delta rule's error term, −∂L/∂z
            return self.minus + self.partial(self.mark("L", marks),
                                             self.unit_sub("z", name)) + suffix
        if kind == "change":
            return self.change(self.name(name)) + suffix
        if kind == "grad.input":
            return self.partial(self.mark("L", marks), self.name(name)) + suffix
        return key

    def activation_symbol(self, unit: str) -> str:
        if self.single_output and unit in self.outputs:
            return self.yhat()
        return self.unit_sub("a", unit)

    def function_label(self, unit: str) -> str:
        activation = self.problem.layers[self.unit_layer[unit]].activation.name
        return "f" if activation == "identity" else self.function(activation)

    # ------------------------------------------------------ expr.Notation protocol

    def number(self, value: float, digits: int | None = None, positional: bool = False) -> str:
        return self.number_text(value, digits, self.ascii_only, positional)

    def number_text(self, value: float, digits: int | None, ascii_only: bool,
                    positional: bool = False) -> str:
        """``value`` as the options ask: fixed decimals, hand-calculation decimals or digits
        (see :func:`~backprop_cli.numfmt.format_display`)."""
        # hand-calculation mode: a kept value shows its decimals, one on its way every
        # decimal it has (0.7·(−0.025) = −0.0175 = −0.018); --decimals is fixed as asked
        decimals = (shown_decimals(self.decimals) if self.hand and self.decimals is not None
                    and not self.fixed else self.decimals)
        return format_display(value, self.digits, decimals, self.fixed, digits, ascii_only,
                              positional)

    def unit_name(self, unit: str) -> str:
        return self.name(unit)

    def constant(self, value: float, display: str | None, role: str | None = None) -> str:
        if self.rate_symbol and role == "rate":
            return self.rate()
        if display is not None:
            return self.fraction_constant(display)
        return self.number(value)

    def call(self, name: str, args: list[str], params: dict[str, float]) -> str:
        if name == "identity":
            return args[0]
        if name == "mean":
            return self.mean(args)
        if name == "softmax":
            denominator = " + ".join(self.exp(a) for a in args)
            return self.fraction(self.exp(args[0]), denominator)
        if name == "exp":
            return self.exp(args[0])
        if name == "sqrt":
            return self.sqrt(args[0])
        return f"{self.function(name)}{self.group(', '.join(args))}"

    def sqrt(self, argument: str) -> str:
        return f"√{self.atom(argument)}" if not self.ascii_only else f"sqrt({argument})"

    def mean(self, args: list[str]) -> str:
        terms = [args[0]] + [self.group(a) if a.startswith(self.minus) else a for a in args[1:]]
        return self.fraction(" + ".join(terms), str(len(args)))

    def fraction(self, numerator: str, denominator: str) -> str:
        return f"{self.atom(numerator)}/{self.atom(denominator)}"

    def atom(self, text: str) -> str:
        """``text`` bracketed when an operator outside brackets would bind wrongly."""
        depth = 0
        for index, ch in enumerate(text):
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            elif depth == 0 and index > 0 and (ch in " /" or text.startswith(
                    (self.times, self.minus), index)):
                return self.group(text)
        return text

    def power(self, base: str, exponent: int) -> str:
        raise NotImplementedError

    def group(self, text: str) -> str:
        return f"({text})"

    def piecewise(self, test: str, then: str, otherwise: str) -> str:
        return f"({then} if {test} > 0, else {otherwise})"

    # -------------------------------------------------------------- typesetting

    def name(self, name: str) -> str:
        raise NotImplementedError

    def unit_sub(self, letter: str, unit: str) -> str:
        raise NotImplementedError

    def yhat(self) -> str:
        raise NotImplementedError

    def partial(self, numerator: str, denominator: str) -> str:
        raise NotImplementedError

    def delta(self, unit: str) -> str:
        raise NotImplementedError

    def prime(self, function: str, argument: str) -> str:
        raise NotImplementedError

    def mark(self, base: str, marks: list[str]) -> str:
        raise NotImplementedError

    def step_suffix(self, step: int) -> str:
        return f" [step {step}]"

    def rate(self) -> str:
        raise NotImplementedError

    def state(self, kind: str, param: str) -> str:
        """An optimizer's value of a parameter: v_w1, m_w1, m̂_w1."""
        raise NotImplementedError

    def function(self, name: str) -> str:
        raise NotImplementedError

    def exp(self, argument: str) -> str:
        return f"exp{self.group(argument)}"

    def fraction_constant(self, display: str) -> str:
        return display

    def generic_grad(self, what: str) -> str:
        """∂L/∂<what> for table headers."""
        return self.partial("L", what)

    def condition(self, test_symbol: str, test_value: str, positive: bool) -> str:
        """'since z_h1 = 1.8 > 0': why a piecewise formula took its branch."""
        relation = ">" if positive else self.less_equal
        if test_symbol == test_value:
            return f"since {test_value} {relation} 0"
        return f"since {test_symbol} = {test_value} {relation} 0"

    less_equal = "≤"
    arrow = "→"
    arrow_left = "←"

    def word(self, kind: str, arg: str = "") -> str:
        """Notation-dependent words for headers and notes (see model.Word)."""
        if kind == "rate":
            return self.rate()
        if kind == "grad":
            return self.generic_grad(self.name(arg) if arg else "p")
        if kind == "step":
            return f"{self.rate()}{self.times}{self.generic_grad(self.name(arg) if arg else 'p')}"
        if kind == "name":
            return self.name(arg)
        if kind == "unit":
            return self.unit_name(arg)
        if kind == "text":
            return self.text(arg)
        if kind == "update_rule":
            return f"p {self.arrow_left} p {self.minus} {self.word('step')}"
        if kind == "delta_def":
            return f"{self.delta('u')} = {self.partial('L', self.unit_sub('z', 'u'))}"
        if kind == "yhat_def":
            return f"{self.yhat()} = {self.unit_sub('a', arg)}"
        if kind == "sample_def":
            return self.mark("L", ["(k)"])
        if kind == "state_letter":
            return self.state(arg, "p").rsplit("_", 1)[0]
        if kind == "loss":
            return "L"
        if kind == "delta_loss":
            return self.delta_loss()
        if kind == "new_loss":
            return self.mark("L", ["new"])
        raise KeyError(kind)

    def delta_loss(self) -> str:
        return "ΔL"

    def change(self, name: str) -> str:
        """Δw: a parameter's change in one update."""
        return "Δ" + name

    def text(self, text: str) -> str:
        """Prose as this notation writes it (ASCII transliterates)."""
        return text


# the functions that are not activations; an activation's symbols are in its spec
UNICODE_FUNCTIONS = {"log": "log", "exp": "exp"}


class UnicodeNotation(MathNotation):
    """The terminal: σ, ∂, δ, ŷ, ·, sub- and superscript digits."""

    def name(self, name: str) -> str:
        return unicode_name(name)

    def unit_sub(self, letter: str, unit: str) -> str:
        return f"{letter}_{unicode_name(unit)}"

    def yhat(self) -> str:
        return "ŷ"

    def partial(self, numerator: str, denominator: str) -> str:
        return f"∂{numerator}/∂{denominator}"

    def delta(self, unit: str) -> str:
        return f"δ_{unicode_name(unit)}"

    def prime(self, function: str, argument: str) -> str:
        return f"{function}′({argument})"

    def mark(self, base: str, marks: list[str]) -> str:
        for mark in marks:
            if mark in SUPERSCRIPT_WORDS:
                base += SUPERSCRIPT_WORDS[mark]
            else:
                base += "".join(SUPERSCRIPT.get(c, "ᵏ" if c == "k" else c) for c in mark)
        return base

    def rate(self) -> str:
        return "η"

    def state(self, kind: str, param: str) -> str:
        letter = {"mhat": "m̂", "shat": "ŝ"}.get(kind, kind)
        return f"{letter}_{unicode_name(param)}"

    def function(self, name: str) -> str:
        spec = find_activation(name)
        return spec.symbol if spec is not None else UNICODE_FUNCTIONS.get(name, name)

    def power(self, base: str, exponent: int) -> str:
        if (base and base[-1] in SUPERSCRIPT.values()) or base.endswith(SUPERSCRIPT_NEW):
            base = self.group(base)
        sup = _convert(str(exponent), SUPERSCRIPT)
        return base + (sup if sup is not None else f"^{exponent}")


ASCII_FUNCTIONS = dict(UNICODE_FUNCTIONS)


ASCII_TEXT = {
    "α": "alpha", "η": "eta", "σ": "sigmoid", "δ": "delta", "∂": "d", "·": "*", "−": "-",
    "→": "->", "←": "<-", "½": "1/2", "≤": "<=", "≥": ">=", "≈": "~", "✓": "ok", "✗": "x",
    "…": "...", "Σ": "sum", "ŷ": "y_hat", "Δ": "Delta ", "×": "x", "–": "-", "—": "-",
    "²": "^2", "′": "'", "“": '"', "”": '"', "‘": "'", "’": "'", "⁽": "^(", "⁾": ")",
}


def to_ascii(text: str) -> str:
    """Unicode math in prose, transliterated for --ascii; other characters kept."""
    if text.isascii():
        return text
    out = []
    for ch in text:
        if ch in ASCII_TEXT:
            out.append(ASCII_TEXT[ch])
        elif ch in SUBSCRIPT_DIGITS:
            out.append(SUBSCRIPT_DIGITS[ch])
        elif ch in SUPERSCRIPT_DIGITS:
            out.append(SUPERSCRIPT_DIGITS[ch])
        else:
            out.append(ch)
    return "".join(out)


SUBSCRIPT_DIGITS = {v: k for k, v in SUBSCRIPT.items() if k.isdigit()}
SUPERSCRIPT_DIGITS = {v: k for k, v in SUPERSCRIPT.items() if k.isdigit()}


class AsciiNotation(MathNotation):
    """Plain ASCII (--ascii): dL/dw1, delta_o, y_hat, sigmoid, *, -."""

    def text(self, text: str) -> str:
        return to_ascii(text)

    def delta_loss(self) -> str:
        return "Delta_L"

    def change(self, name: str) -> str:
        return "Delta_" + name

    times = "*"
    minus = "-"
    ascii_only = True
    less_equal = "<="
    arrow = "->"
    arrow_left = "<-"

    def name(self, name: str) -> str:
        return name

    def unit_sub(self, letter: str, unit: str) -> str:
        return f"{letter}_{unit}"

    def yhat(self) -> str:
        return "y_hat"

    def partial(self, numerator: str, denominator: str) -> str:
        return f"d{numerator}/d{denominator}"

    def delta(self, unit: str) -> str:
        return f"delta_{unit}"

    def prime(self, function: str, argument: str) -> str:
        return f"{function}'({argument})"

    def mark(self, base: str, marks: list[str]) -> str:
        for mark in marks:
            base += f"_{mark}" if mark in ("new", "prev") else f"^{mark}"
        return base

    def rate(self) -> str:
        return "eta"

    def state(self, kind: str, param: str) -> str:
        return f"{kind}_{param}"

    def function(self, name: str) -> str:
        spec = find_activation(name)
        return spec.ascii_symbol if spec is not None else ASCII_FUNCTIONS.get(name, name)

    def power(self, base: str, exponent: int) -> str:
        if "^" in base and not base.startswith("("):
            base = self.group(base)
        return f"{base}^{exponent}"

    def fraction_constant(self, display: str) -> str:
        return {"½": "1/2"}.get(display, display)


LATEX_FUNCTIONS = {"log": r"\log", "exp": r"\exp", "max": r"\max"}


def _has_top_superscript(text: str) -> bool:
    depth = 0
    for ch in text:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "^" and depth == 0:
            return True
    return False


class LatexNotation(MathNotation):
    """LaTeX for Markdown ($...$ and $$...$$), in what GitHub, GitLab and Jupyter render."""

    times = r" \cdot "
    minus = "-"
    ascii_only = True
    less_equal = r"\le"
    arrow = r"\to"
    arrow_left = r"\leftarrow"

    def number(self, value: float, digits: int | None = None, positional: bool = False) -> str:
        if self.decimals is not None and digits is None and not self.fixed:
            shown = shown_decimals(self.decimals) if self.hand else self.decimals
            return format_decimals(value, shown, ascii_only=True)
        return latex_number(self.number_text(value, digits, True, positional))

    def unit_name(self, unit: str) -> str:
        return latex_name(unit, top=False)

    def name(self, name: str) -> str:
        return latex_name(name)

    def unit_sub(self, letter: str, unit: str) -> str:
        return f"{letter}_{{{latex_name(unit, top=False)}}}"

    def yhat(self) -> str:
        return r"\hat{y}"

    def partial(self, numerator: str, denominator: str) -> str:
        return rf"\frac{{\partial {numerator}}}{{\partial {denominator}}}"

    def delta(self, unit: str) -> str:
        return rf"\delta_{{{latex_name(unit, top=False)}}}"

    def prime(self, function: str, argument: str) -> str:
        return f"{function}'({argument})"

    def mark(self, base: str, marks: list[str]) -> str:
        if not marks:
            return base
        sup = ",".join(rf"\text{{{m}}}" if m in ("new", "prev") else m for m in marks)
        if _has_top_superscript(base):
            base = "{" + base + "}"
        return f"{base}^{{{sup}}}"

    def step_suffix(self, step: int) -> str:
        return rf"\ [\text{{step }}{step}]"

    def rate(self) -> str:
        return r"\eta"

    def state(self, kind: str, param: str) -> str:
        letter = {"mhat": r"\hat{m}", "shat": r"\hat{s}"}.get(kind, kind)
        return f"{letter}_{{{latex_name(param, top=False)}}}"

    def function(self, name: str) -> str:
        spec = find_activation(name)
        if spec is not None:
            return spec.latex_symbol
        return LATEX_FUNCTIONS.get(name, rf"\operatorname{{{name}}}")

    def exp(self, argument: str) -> str:
        return f"e^{{{argument}}}"

    def sqrt(self, argument: str) -> str:
        return rf"\sqrt{{{argument}}}"

    def call(self, name: str, args: list[str], params: dict[str, float]) -> str:
        if name == "softmax":
            denominator = " + ".join(self.exp(a) for a in args)
            return self.fraction(self.exp(args[0]), denominator)
        return super().call(name, args, params)

    def mean(self, args: list[str]) -> str:
        terms = [args[0]] + [self.group(a) if a.startswith("-") else a for a in args[1:]]
        return self.fraction(" + ".join(terms), str(len(args)))

    def fraction(self, numerator: str, denominator: str) -> str:
        return rf"\frac{{{numerator}}}{{{denominator}}}"

    def power(self, base: str, exponent: int) -> str:
        if _has_top_superscript(base):
            base = "{" + base + "}"
        return f"{base}^{{{exponent}}}"

    def group(self, text: str) -> str:
        # \left( \right) only around what is taller than a line (a fraction)
        return rf"\left({text}\right)" if r"\frac" in text else f"({text})"

    def piecewise(self, test: str, then: str, otherwise: str) -> str:
        return rf"\left({then} \text{{ if }} {test} > 0 \text{{, else }} {otherwise}\right)"

    def fraction_constant(self, display: str) -> str:
        if display == "½":
            return r"\tfrac{1}{2}"
        if "/" in display:
            top, bottom = display.split("/", 1)
            return rf"\tfrac{{{top}}}{{{bottom}}}"
        return display

    def condition(self, test_symbol: str, test_value: str, positive: bool) -> str:
        relation = ">" if positive else r"\le"
        if test_symbol == test_value:
            return rf"\text{{since }} {test_value} {relation} 0"
        return rf"\text{{since }} {test_symbol} = {test_value} {relation} 0"

    def delta_loss(self) -> str:
        return r"\Delta L"

    def change(self, name: str) -> str:
        return r"\Delta " + name


def latex_number(text: str) -> str:
    """format_number's text in LaTeX: 1.2e-07 -> 1.2 \\times 10^{-7}, inf -> \\infty."""
    if text == "undefined":
        return r"\text{undefined}"
    if text.endswith("inf"):
        return text.replace("inf", r"\infty")
    if "e" in text:
        mantissa, exponent = text.split("e", 1)
        return rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return text


def make_notation(style: str, problem: Problem, digits: int = 4,
                  context: int | None = 1, decimals: int | None = None) -> MathNotation:
    """'unicode', 'ascii' or 'latex'; ``decimals``: fixed-point numbers (--decimals)."""
    classes: dict[str, type[MathNotation]] = {
        "unicode": UnicodeNotation, "ascii": AsciiNotation, "latex": LatexNotation,
    }
    notation = classes[style](problem, digits, context)
    return notation if decimals is None else notation.with_decimals(decimals)
