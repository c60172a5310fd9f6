"""Symbols of a layered network's keys (issue 19), in Unicode, ASCII and LaTeX.

The same :class:`~backprop_cli.render.notation.MathNotation` classes typeset them (numbers,
fractions, marks for samples and steps); only *what* a key denotes differs from a dense
network's: a tensor layer's value carries its index (``z.C[1,2,3]`` is z_C[1,2,3], in LaTeX
:math:`z_{1,2,3}^{C}`), a time step its ``⟨t⟩`` (``a.h#2`` is a_h⟨2⟩, :math:`a_{h}^{\\langle
2\\rangle}`), a parameter tensor's element its index (``K[1,1,2,2]``: K[1,1,2,2],
:math:`K_{1,1,2,2}`; a default name ``W5`` is :math:`W_{1,4}^{[5]}`). Keys are read with
:func:`backprop_cli.model.keys.split_key`, the one grammar.
"""

from __future__ import annotations

import re
from typing import ClassVar

from backprop_cli.model.keys import KeyParts, split_key
from backprop_cli.model.layered import LayeredProblem
from backprop_cli.model.optimizers import ALL_UPDATE_KINDS as OPTIMIZER_KINDS
from backprop_cli.render.notation import (
    AsciiNotation,
    LatexNotation,
    MathNotation,
    UnicodeNotation,
    latex_name,
)

_NUMBERED = re.compile(r"^([A-Za-z]+)(\d+)$")  # W5, b1, U1: a tensor named by its layer


class _LayeredSymbols(MathNotation):
    """What a layered network's key denotes; the typesetting is the subclass's."""

    def __init__(self, problem: LayeredProblem, digits: int = 4,
                 context: int | None = 1) -> None:
        # MathNotation.__init__ reads a dense Problem's units and round: set what the
        # inherited typesetting (numbers, marks, contexts) reads, from the layered problem
        self.layered = problem
        self.digits = digits
        self.context = context
        self.rate_symbol = False
        self.sample_marks = True
        self.decimals = None
        self.fixed = False
        self.hand = False
        self.unit_layer = {u: li for li, layer in enumerate(problem.layers) for u in layer.units}
        self.outputs = set(problem.output_names)
        self.single_output = len(problem.output.units) == 1
        self.target_plain = self.single_output and "y" not in problem.input_names
        self.tensor_layers = {layer.name for layer in problem.layers
                              if not layer.units and layer.has_keys}
        self._cache = {}
        self._parts = {}

    def parts(self, key: str) -> KeyParts | None:
        if key not in self._parts:
            self._parts[key] = split_key(key)
        return self._parts[key]

    def function_label(self, unit: str) -> str:
        layer = next((spec for spec in self.layered.layers if spec.name == unit), None)
        if layer is None and unit in self.unit_layer:
            layer = self.layered.layers[self.unit_layer[unit]]
        activation = layer.activation if layer is not None else None
        if activation is None or activation.name == "identity":
            return "f"
        return self.function(activation.name)

    def _symbol(self, key: str) -> str:
        parts = self.parts(key)
        if parts is None:
            return key
        kind, name, index, time = parts.kind, parts.name, parts.index, parts.time
        marks: list[str] = []
        if parts.sample is not None and self.sample_marks:
            marks.append(f"({parts.sample + 1})")
        suffix = ""
        if kind == "new":
            marks.append("new")
        elif kind in OPTIMIZER_KINDS and self.context is not None and (
                parts.step == self.context - 1):
            marks.append("prev")
        elif kind not in ("input", "target") and parts.step != self.context:
            if parts.step is None:
                marks.append("new")
            else:
                suffix = self.step_suffix(parts.step)
        if kind in ("input", "grad.input"):
            base = self.element(name, index)
        elif kind == "target":
            base = "y" if self.target_plain else self.unit_sub("y", name)
        elif kind in ("param", "new", "grad", "change", *OPTIMIZER_KINDS):
            base = self.element(name, index)
        elif kind == "loss":
            base = "L"
        else:
            base = self.layer_value("a" if kind in ("a", "grad.a") else
                                    "δ" if kind == "grad.z" else "z", name, index)
        base = self.timed(base, time)
        if kind in ("input", "target", "param", "loss", "z", "a", "grad.z"):
            return self.mark(base, marks) + suffix
        if kind == "new":
            return self.mark(base, marks) + suffix
        if kind == "dadz":
            return self.prime(self.function_label(name), self.mark(base, marks)) + suffix
        if kind == "change":
            return self.change(base) + suffix
        if kind in ("grad.a", "grad", "grad.input"):
            return self.partial(self.mark("L", marks), base) + suffix
        if kind in OPTIMIZER_KINDS:
            return self.mark(self.state(kind, base), marks) + suffix
        return key

    # the rules a worked solution states, in this notation (``Word("conv2d")`` ...)
    RULES: ClassVar[dict[str, str]] = {
        "conv1d": "z[f,i] = Σ_c Σ_p K[f,c,p]·x[c, i·s + p] + b[f]",
        "conv2d": "z[f,i,j] = Σ_c Σ_p Σ_q K[f,c,p,q]·x[c, i·s + p, j·s + q] + b[f]",
        "bptt": "∂L/∂h⟨t⟩ = (from the layer above at t) + Uᵀ·δ⟨t+1⟩",
        "delta": "δ = ∂L/∂z = ∂L/∂a·f′(z)",
    }

    def word(self, kind: str, arg: str = "") -> str:
        if kind == "rule":
            return self.RULES[arg]
        return super().word(kind, arg)

    def layer_value(self, letter: str, name: str, index: tuple[int, ...] | None) -> str:
        """z, a or δ of a unit (z_o) or of a tensor layer's element (z_C[1,2,3])."""
        if letter == "a" and index is None and self.single_output and name in self.outputs:
            return self.yhat()
        if letter == "δ":
            return self.delta(name) + self.index_text(index)
        return self.unit_sub(letter, name) + self.index_text(index)

    def element(self, name: str, index: tuple[int, ...] | None) -> str:
        return self.name(name) + self.index_text(index)

    def index_text(self, index: tuple[int, ...] | None) -> str:
        return "" if index is None else "[" + ",".join(map(str, index)) + "]"

    def timed(self, base: str, time: int | None) -> str:
        return base if time is None else f"{base}⟨{time}⟩"


class LayeredUnicode(_LayeredSymbols, UnicodeNotation):
    pass


class LayeredAscii(_LayeredSymbols, AsciiNotation):
    RULES: ClassVar[dict[str, str]] = {
        "conv1d": "z[f,i] = sum_c sum_p K[f,c,p]*x[c, i*s + p] + b[f]",
        "conv2d": "z[f,i,j] = sum_c sum_p sum_q K[f,c,p,q]*x[c, i*s + p, j*s + q] + b[f]",
        "bptt": "dL/dh<t> = (from the layer above at t) + U^T*delta<t+1>",
        "delta": "delta = dL/dz = dL/da*f'(z)",
    }

    def layer_value(self, letter: str, name: str, index: tuple[int, ...] | None) -> str:
        return super().layer_value("delta" if letter == "δ" else letter, name, index)

    def delta(self, unit: str) -> str:
        return f"delta_{unit}"

    def timed(self, base: str, time: int | None) -> str:
        return base if time is None else f"{base}<{time}>"


class LayeredLatex(_LayeredSymbols, LatexNotation):
    RULES: ClassVar[dict[str, str]] = {
        "conv1d": r"z_{f,i} = \sum_{c} \sum_{p} K_{f,c,p} \cdot x_{c,\,is+p} + b_{f}",
        "conv2d": r"z_{f,i,j} = \sum_{c} \sum_{p} \sum_{q} K_{f,c,p,q} \cdot x_{c,\,is+p,\,js+q}"
                  r" + b_{f}",
        "bptt": r"\frac{\partial L}{\partial h^{\langle t\rangle}} = \text{(from the layer "
                r"above at } t\text{)} + U^{T} \cdot \delta^{\langle t+1\rangle}",
        "delta": r"\delta = \frac{\partial L}{\partial z} = \frac{\partial L}{\partial a}"
                 r" \cdot f'(z)",
    }

    def layer_value(self, letter: str, name: str, index: tuple[int, ...] | None) -> str:
        if index is None:
            return super().layer_value(letter, name, index)
        head = r"\delta" if letter == "δ" else letter
        # subscript first: MathML stacks x_{…}^{…} as one msubsup, as LaTeX does
        return f"{head}_{{{','.join(map(str, index))}}}^{{{latex_name(name, top=False)}}}"

    def element(self, name: str, index: tuple[int, ...] | None) -> str:
        if index is None:
            return self.name(name)
        numbered = _NUMBERED.match(name)
        subscript = f"_{{{','.join(map(str, index))}}}"
        if numbered:
            return f"{numbered.group(1)}{subscript}^{{[{numbered.group(2)}]}}"
        return latex_name(name, top=False) + subscript

    def mark(self, base: str, marks: list[str]) -> str:
        """A sample's (k), new or prev in the symbol's own superscript when it has one
        (z_{1,2,3}^{C,(1)}): a second superscript on a braced ŷ^{⟨t⟩} is one too many for
        TeX (a group of one accent is unwrapped)."""
        start = _closing_superscript(base)
        if not marks or start is None:
            return super().mark(base, marks)
        extra = ",".join(rf"\text{{{m}}}" if m in ("new", "prev") else m for m in marks)
        return f"{base[:-1]},{extra}}}"

    def timed(self, base: str, time: int | None) -> str:
        if time is None:
            return base
        # a time step is a superscript ⟨t⟩ (the sequence models' convention)
        if "^" in base:
            return f"{{{base}}}^{{\\langle {time}\\rangle}}"
        return f"{base}^{{\\langle {time}\\rangle}}"


def _closing_superscript(text: str) -> int | None:
    """Where the top-level ``^{…}`` that ends ``text`` begins, or None."""
    depth = 0
    opened: int | None = None
    for index, ch in enumerate(text):
        if ch == "{":
            if depth == 0:
                opened = index
            depth += 1
        elif ch == "}":
            depth -= 1
    if opened is None or not text.endswith("}") or depth != 0 or opened == 0 or (
            text[opened - 1] != "^"):
        return None
    return opened


def layered_notation(style: str, problem: LayeredProblem, digits: int = 4,
                     decimals: int | None = None) -> MathNotation:
    """'unicode', 'ascii' or 'latex' for a layered network; ``decimals``: --decimals."""
    classes: dict[str, type[_LayeredSymbols]] = {
        "unicode": LayeredUnicode, "ascii": LayeredAscii, "latex": LayeredLatex,
    }
    notation = classes[style](problem, digits)
    return notation if decimals is None else notation.with_decimals(decimals)
