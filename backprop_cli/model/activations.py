"""Activation functions: vectorised forward and derivative, plus their formulas.

Each :class:`Activation` knows

- ``forward(z)``: a = f(z) over a (samples × units) array, numerically stable;
- ``derivative(z, a)``: f'(z), using a where that is the textbook form
  (σ(z)(1−σ(z)) = a(1−a));
- ``expr(z)`` and ``derivative_expr(z, a)``: the same two as :mod:`expr` trees,
  which is what the worked solution prints and the checker re-evaluates.

Softmax is the one activation over a whole layer; it has no per-unit
derivative (its Jacobian is applied directly in the backward pass).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from backprop_cli.expr import Call, Const, Expr, Piecewise, Power, Ref, add, mul, sub
from backprop_cli.records import field, record

Array = NDArray[np.float64]


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


@record(frozen=True)
class Activation:
    """An activation function with an optional parameter (alpha)."""

    name: str
    alpha: float | None = None
    params: tuple[tuple[str, float], ...] = field(default=(), compare=False)

    @property
    def per_layer(self) -> bool:
        return self.name == "softmax"

    @property
    def label(self) -> str:
        labels = {
            "identity": "identity", "relu": "ReLU", "leaky_relu": "leaky ReLU",
            "sigmoid": "sigmoid", "tanh": "tanh", "softmax": "softmax",
            "softplus": "softplus", "elu": "ELU", "silu": "SiLU",
        }
        text = labels[self.name]
        if self.alpha is not None and self.name in ("leaky_relu", "elu"):
            text += f" (α = {self.alpha:g})"
        return text

    def forward(self, z: Array) -> Array:
        name = self.name
        if name == "identity":
            return z
        if name == "relu":
            return np.maximum(z, 0.0)
        if name == "sigmoid":
            return stable_sigmoid(z)
        if name == "tanh":
            return np.tanh(z)
        if name == "softmax":
            return softmax(z)
        if name == "leaky_relu":
            return np.where(z > 0, z, self._alpha * z)
        if name == "softplus":
            return softplus(z)
        if name == "elu":
            return np.where(z > 0, z, self._alpha * np.expm1(np.minimum(z, 0.0)))
        if name == "silu":
            return z * stable_sigmoid(z)
        raise ValueError(name)

    def derivative(self, z: Array, a: Array) -> Array:
        name = self.name
        if name == "identity":
            return np.ones_like(z)
        if name == "relu":
            return (z > 0).astype(np.float64)
        if name == "sigmoid":
            return a * (1.0 - a)
        if name == "tanh":
            return 1.0 - a * a
        if name == "leaky_relu":
            return np.where(z > 0, 1.0, self._alpha)
        if name == "softplus":
            return stable_sigmoid(z)
        if name == "elu":
            return np.where(z > 0, 1.0, a + self._alpha)
        if name == "silu":
            s = stable_sigmoid(z)
            return s * (1.0 + z * (1.0 - s))
        raise ValueError(f"{name} has no per-unit derivative")

    @property
    def _alpha(self) -> float:
        assert self.alpha is not None
        return self.alpha

    def _params(self) -> tuple[tuple[str, float], ...]:
        return (("alpha", self._alpha),) if self.alpha is not None else ()

    def expr(self, z: str, layer_z: list[str] | None = None) -> Expr:
        """a = f(z) as a formula; softmax needs the keys of the whole layer's z."""
        if self.name == "softmax":
            assert layer_z is not None
            others = [k for k in layer_z if k != z]
            return Call("softmax", (Ref(z), *(Ref(k) for k in others)))
        return Call(self.name, (Ref(z),), self._params())

    def derivative_expr(self, z: str, a: str) -> Expr:
        """f'(z) as the formula a student writes, in terms of z or a."""
        name = self.name
        one = Const(1.0)
        if name == "identity":
            return one
        if name == "relu":
            return Piecewise(Ref(z), one, Const(0.0))
        if name == "sigmoid":
            return mul(Ref(a), sub(one, Ref(a)))
        if name == "tanh":
            return sub(one, Power(Ref(a), 2))
        if name == "leaky_relu":
            return Piecewise(Ref(z), one, Const(self._alpha))
        if name == "softplus":
            return Call("sigmoid", (Ref(z),))
        if name == "elu":
            return Piecewise(Ref(z), one, add(Ref(a), Const(self._alpha)))
        if name == "silu":
            sig = Call("sigmoid", (Ref(z),))
            return mul(sig, add(one, mul(Ref(z), sub(one, sig))))
        raise ValueError(f"{name} has no per-unit derivative")


ACTIVATION_NAMES = (
    "identity", "relu", "leaky_relu", "sigmoid", "tanh", "softmax", "softplus", "elu", "silu",
)
ALIASES = {"linear": "identity", "none": "identity"}
DEFAULT_ALPHA = {"leaky_relu": 0.01, "elu": 1.0}


def make_activation(name: str, alpha: float | None = None) -> Activation:
    """The activation called ``name`` (aliases allowed), with alpha defaulted."""
    canonical = ALIASES.get(name, name)
    if canonical not in ACTIVATION_NAMES:
        raise KeyError(name)
    if canonical in DEFAULT_ALPHA:
        alpha = DEFAULT_ALPHA[canonical] if alpha is None else float(alpha)
    elif alpha is not None:
        raise ValueError(f"activation '{canonical}' takes no alpha")
    return Activation(canonical, alpha)
