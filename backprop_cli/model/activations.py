"""Activation functions: one :class:`ActivationSpec` per variant, in one registry.

A spec is everything the program knows about an activation, in one entry:

- ``forward(z, alpha)``: a = f(z) over a (samples × units) array, numerically stable;
- ``derivative(z, a, alpha)``: f'(z), using a where that is the textbook form
  (σ(z)(1−σ(z)) = a(1−a)); None for softmax, the one activation over a whole
  layer (its Jacobian is applied directly in the backward pass);
- ``scalar(args, params)``: f of one number, for formulas (what
  :meth:`backprop_cli.expr.Call.evaluate` computes; registered into
  :data:`backprop_cli.expr.FUNCTIONS`);
- ``derivative_expr(z, a, alpha)``: f'(z) as the formula a student writes, an
  :mod:`backprop_cli.expr` tree in terms of z or a;
- how it is printed (Unicode, ASCII, LaTeX, value-key text) and described;
- its flags: kinked at 0 (gradcheck flags a step across the kink), saturating
  (``backprop new --nice`` keeps its z small), dies (``backprop new`` redraws a
  unit that is off for every sample), the range of its outputs (what targets the
  generator draws for it), and its alpha with its default.

Every other module (formulas, notation, the checker, gradcheck, the generator,
the loader, the schema) reads :data:`ACTIVATIONS`; :func:`register_activation`
adds one at run time.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from backprop_cli.expr import FUNCTIONS, Call, Const, Expr, Piecewise, Power, Ref, add, mul, sub
from backprop_cli.records import field, record

Array = NDArray[np.float64]
Forward = Callable[[Array, float], Array]  # (z, alpha): alpha is 0.0 when the spec takes none
Derivative = Callable[[Array, Array, float], Array]  # (z, a, alpha)
Scalar = Callable[[list[float], dict[str, float]], float]  # (args, params) as expr.Call
DerivativeExpr = Callable[[Expr, Expr, float], Expr]  # (z, a, alpha)
# the range of a = f(z): what a target for this output can be (the generator draws in it)
OutputRange = Literal["real", "unit_interval", "symmetric_unit", "distribution"]


def stable_sigmoid(z: Array) -> Array:
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softplus(z: Array) -> Array:
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def softmax(z: Array) -> Array:
    shifted = z - np.maximum.reduce(z, axis=-1, keepdims=True)
    e = np.exp(shifted)
    result: Array = e / np.add.reduce(e, axis=-1, keepdims=True)
    return result


def scalar_sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _scalar_softplus(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _scalar_elu(x: float, alpha: float) -> float:
    return x if x > 0 else alpha * math.expm1(x)


def _softmax_first(args: list[float]) -> float:
    """Softmax of args[0] against all args (args[0] is the unit itself)."""
    top = max(args)
    exps = [math.exp(v - top) for v in args]
    return exps[0] / math.fsum(exps)


def _never(alpha: float | None) -> bool:
    return False


def _always(alpha: float | None) -> bool:
    return True


@record(frozen=True)
class ActivationSpec:
    """One activation function: its numbers, its formulas, its symbols and its flags.

    ``symbol`` is the worked solution's Unicode name (σ, ReLU), ``ascii`` the
    ``--ascii`` one, ``latex`` the Markdown one, ``key_text`` the name in a check
    report's key formulas (``sigmoid(z.o)``; empty for identity: ``(z.o)``).
    ``default_alpha`` not None: the activation takes ``alpha`` (``alpha_doc`` says
    what it is). ``kinked(alpha)``: f' jumps at z = 0 (gradcheck marks a finite
    difference across it as a kink, not a failure).
    """

    name: str
    label: str
    forward: Forward
    scalar: Scalar
    derivative: Derivative | None  # None: over the whole layer (softmax)
    derivative_expr: DerivativeExpr | None
    symbol: str
    ascii: str = ""  # "": the Unicode symbol
    latex: str = ""  # "": \operatorname{symbol}
    key_text: str | None = None  # None: the name
    aliases: tuple[str, ...] = ()
    default_alpha: float | None = None
    alpha_doc: str = ""  # what alpha is: "slope", "scale"
    # the file's key of the parameter ("alpha"; step's is "at_zero") and its symbol in a label
    param_key: str = "alpha"
    param_symbol: str = "α"
    kinked: Callable[[float | None], bool] = field(default=_never)
    saturating: bool = False
    dies: bool = False  # f' = 0 for every z ≤ 0: a unit with no z > 0 learns nothing
    outputs: OutputRange = "real"

    @property
    def per_layer(self) -> bool:
        return self.derivative is None

    @property
    def ascii_symbol(self) -> str:
        return self.ascii or self.symbol

    @property
    def latex_symbol(self) -> str:
        return self.latex or rf"\operatorname{{{self.symbol}}}"

    @property
    def key_name(self) -> str:
        return self.name if self.key_text is None else self.key_text


ACTIVATIONS: dict[str, ActivationSpec] = {}
# live views of the registry (updated by register_activation), in registration order
ACTIVATION_NAMES: list[str] = []
ALIASES: dict[str, str] = {}
DEFAULT_ALPHA: dict[str, float] = {}


def register_activation(spec: ActivationSpec) -> ActivationSpec:
    """Add ``spec`` to the registry (and its scalar function to the formulas')."""
    taken = [n for n in (spec.name, *spec.aliases) if n in ACTIVATIONS or n in ALIASES]
    if taken:
        raise ValueError(f"activation name '{taken[0]}' is taken")
    ACTIVATIONS[spec.name] = spec
    ACTIVATION_NAMES.append(spec.name)
    for alias in spec.aliases:
        ALIASES[alias] = spec.name
    if spec.default_alpha is not None:
        DEFAULT_ALPHA[spec.name] = spec.default_alpha
    FUNCTIONS[spec.name] = spec.scalar
    return spec


def unregister_activation(name: str) -> None:
    """Remove a registered activation (tests and extensions undo what they add)."""
    spec = ACTIVATIONS.pop(name)
    ACTIVATION_NAMES.remove(name)
    for alias in spec.aliases:
        del ALIASES[alias]
    DEFAULT_ALPHA.pop(name, None)
    FUNCTIONS.pop(name, None)


def find_activation(name: str) -> ActivationSpec | None:
    """The spec of ``name`` (canonical, not an alias), or None."""
    return ACTIVATIONS.get(name)


@record(frozen=True)
class Activation:
    """An activation function with an optional parameter (alpha)."""

    name: str
    alpha: float | None = None
    params: tuple[tuple[str, float], ...] = field(default=(), compare=False)

    @property
    def spec(self) -> ActivationSpec:
        return ACTIVATIONS[self.name]

    @property
    def per_layer(self) -> bool:
        return self.spec.derivative is None

    @property
    def label(self) -> str:
        spec = self.spec
        text = spec.label
        if self.alpha is not None and spec.default_alpha is not None:
            text += f" ({spec.param_symbol} = {self.alpha:g})"
        return text

    @property
    def kinked(self) -> bool:
        """f' jumps at z = 0."""
        return self.spec.kinked(self.alpha)

    def forward(self, z: Array) -> Array:
        return self.spec.forward(z, self._value)

    def derivative(self, z: Array, a: Array) -> Array:
        derivative = self.spec.derivative
        if derivative is None:
            raise ValueError(f"{self.name} has no per-unit derivative")
        return derivative(z, a, self._value)

    @property
    def _value(self) -> float:
        return 0.0 if self.alpha is None else self.alpha

    def _params(self) -> tuple[tuple[str, float], ...]:
        return ((self.spec.param_key, self.alpha),) if self.alpha is not None else ()

    def expr(self, z: str, layer_z: list[str] | None = None) -> Expr:
        """a = f(z) as a formula; softmax needs the keys of the whole layer's z."""
        if self.per_layer:
            assert layer_z is not None
            others = [k for k in layer_z if k != z]
            return Call(self.name, (Ref(z), *(Ref(k) for k in others)))
        return Call(self.name, (Ref(z),), self._params())

    def derivative_expr(self, z: str, a: str) -> Expr:
        """f'(z) as the formula a student writes, in terms of z or a."""
        build = self.spec.derivative_expr
        if build is None:
            raise ValueError(f"{self.name} has no per-unit derivative")
        return build(Ref(z), Ref(a), self._value)


def make_activation(name: str, alpha: float | None = None) -> Activation:
    """The activation called ``name`` (aliases allowed), with alpha defaulted."""
    canonical = ALIASES.get(name, name)
    spec = ACTIVATIONS.get(canonical)
    if spec is None:
        raise KeyError(name)
    if spec.default_alpha is not None:
        alpha = spec.default_alpha if alpha is None else float(alpha)
    elif alpha is not None:
        raise ValueError(f"activation '{canonical}' takes no {spec.param_key}")
    return Activation(canonical, alpha)


# ------------------------------------------------------------------ the built-in ones

ONE = Const(1.0)


def _silu_derivative(z: Array, a: Array, alpha: float) -> Array:
    s = stable_sigmoid(z)
    return s * (1.0 + z * (1.0 - s))


def _silu_derivative_expr(z: Expr, a: Expr, alpha: float) -> Expr:
    sig = Call("sigmoid", (z,))
    return mul(sig, add(ONE, mul(z, sub(ONE, sig))))


register_activation(ActivationSpec(
    "identity", "identity",
    forward=lambda z, alpha: z,
    scalar=lambda a, p: a[0],
    derivative=lambda z, a, alpha: np.ones_like(z),
    derivative_expr=lambda z, a, alpha: ONE,
    symbol="identity", key_text="", aliases=("linear", "none")))
register_activation(ActivationSpec(
    "relu", "ReLU",
    forward=lambda z, alpha: np.maximum(z, 0.0),
    scalar=lambda a, p: max(a[0], 0.0),
    derivative=lambda z, a, alpha: (z > 0).astype(np.float64),
    derivative_expr=lambda z, a, alpha: Piecewise(z, ONE, Const(0.0)),
    symbol="ReLU", kinked=_always, dies=True))
register_activation(ActivationSpec(
    "leaky_relu", "leaky ReLU",
    forward=lambda z, alpha: np.where(z > 0, z, alpha * z),
    scalar=lambda a, p: a[0] if a[0] > 0 else p["alpha"] * a[0],
    derivative=lambda z, a, alpha: np.where(z > 0, 1.0, alpha),
    derivative_expr=lambda z, a, alpha: Piecewise(z, ONE, Const(alpha)),
    symbol="LeakyReLU", default_alpha=0.01, alpha_doc="slope", kinked=_always))
register_activation(ActivationSpec(
    "sigmoid", "sigmoid",
    forward=lambda z, alpha: stable_sigmoid(z),
    scalar=lambda a, p: scalar_sigmoid(a[0]),
    derivative=lambda z, a, alpha: a * (1.0 - a),
    derivative_expr=lambda z, a, alpha: mul(a, sub(ONE, a)),
    symbol="σ", ascii="sigmoid", latex=r"\sigma", saturating=True, outputs="unit_interval"))
register_activation(ActivationSpec(
    "tanh", "tanh",
    forward=lambda z, alpha: np.tanh(z),
    scalar=lambda a, p: math.tanh(a[0]),
    derivative=lambda z, a, alpha: 1.0 - a * a,
    derivative_expr=lambda z, a, alpha: sub(ONE, Power(a, 2)),
    symbol="tanh", latex=r"\tanh", saturating=True, outputs="symmetric_unit"))
register_activation(ActivationSpec(
    "softmax", "softmax",
    forward=lambda z, alpha: softmax(z),
    scalar=lambda a, p: _softmax_first(a),
    derivative=None, derivative_expr=None,
    symbol="softmax", outputs="distribution"))
register_activation(ActivationSpec(
    "softplus", "softplus",
    forward=lambda z, alpha: softplus(z),
    scalar=lambda a, p: _scalar_softplus(a[0]),
    derivative=lambda z, a, alpha: stable_sigmoid(z),
    derivative_expr=lambda z, a, alpha: Call("sigmoid", (z,)),
    symbol="softplus", saturating=True))
register_activation(ActivationSpec(
    "elu", "ELU",
    forward=lambda z, alpha: np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0.0))),
    scalar=lambda a, p: _scalar_elu(a[0], p["alpha"]),
    derivative=lambda z, a, alpha: np.where(z > 0, 1.0, a + alpha),
    derivative_expr=lambda z, a, alpha: Piecewise(z, ONE, add(a, Const(alpha))),
    symbol="ELU", default_alpha=1.0, alpha_doc="scale",
    kinked=lambda alpha: alpha != 1.0, saturating=True))
register_activation(ActivationSpec(
    "silu", "SiLU",
    forward=lambda z, alpha: z * stable_sigmoid(z),
    scalar=lambda a, p: a[0] * scalar_sigmoid(a[0]),
    derivative=_silu_derivative,
    derivative_expr=_silu_derivative_expr,
    symbol="SiLU", saturating=True))


def _step(z: Array, at_zero: float) -> Array:
    """1 for z > 0, 0 for z < 0, ``at_zero`` at 0 (1 by default: 1 when z ≥ 0)."""
    return np.where(z > 0, 1.0, np.where(z < 0, 0.0, at_zero))


def _scalar_step(args: list[float], params: dict[str, float]) -> float:
    z = args[0]
    return 1.0 if z > 0 else 0.0 if z < 0 else params.get("at_zero", 1.0)


# The perceptron's threshold unit (issue 16): f' is 0 wherever it exists, so gradient
# descent does not move a step unit; `learning_rule: perceptron` trains it instead.
register_activation(ActivationSpec(
    "step", "step",
    forward=_step,
    scalar=_scalar_step,
    derivative=lambda z, a, alpha: np.zeros_like(z),
    derivative_expr=lambda z, a, alpha: Const(0.0),
    symbol="step", default_alpha=1.0, alpha_doc="the value at z = 0", param_key="at_zero",
    param_symbol="step(0)", kinked=_always, outputs="unit_interval"))
