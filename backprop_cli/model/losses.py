"""Loss functions for one sample, vectorised over samples, with their formulas.

For outputs a (samples × outputs) and targets y:

- ``half_squared_error``   ½·Σ(y−a)²            ∂L/∂a = a − y
- ``squared_error``        Σ(y−a)²              ∂L/∂a = 2(a − y)
- ``mean_squared_error``   (1/n)·Σ(y−a)²        ∂L/∂a = (2/n)(a − y)
- ``binary_cross_entropy`` −Σ[y·log a + (1−y)·log(1−a)]   ∂L/∂a = (a − y)/(a(1 − a))
- ``cross_entropy``        −Σ y·log a           ∂L/∂a = −y/a

The engine computes the cross-entropies of sigmoid and softmax outputs from the
pre-activations z (log-sum-exp, softplus) and their output deltas in closed form
(a − y), so that a saturated output never turns into log(0), 0/0 or 0·∞.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from backprop_cli.expr import Call, Const, Expr, Neg, Power, Product, Quotient, Ref, add, mul, sub
from backprop_cli.model.activations import softplus
from backprop_cli.records import record

Array = NDArray[np.float64]

# np.sum without its Python-level wrapper (same reduction, same bits): a small network
# spends more time in such wrappers than in arithmetic
_row_sum = np.add.reduce

LOSS_NAMES = (
    "half_squared_error",
    "squared_error",
    "mean_squared_error",
    "binary_cross_entropy",
    "cross_entropy",
)

LOSS_LABELS = {
    "half_squared_error": "half squared error ½·Σ(y − a)²",
    "squared_error": "squared error Σ(y − a)²",
    "mean_squared_error": "mean squared error (1/n)·Σ(y − a)²",
    "binary_cross_entropy": "binary cross-entropy −Σ[y·log a + (1 − y)·log(1 − a)]",
    "cross_entropy": "cross-entropy −Σ y·log a",
}


@record(frozen=True)
class Loss:
    name: str

    @property
    def label(self) -> str:
        return LOSS_LABELS[self.name]

    # ------------------------------------------------------------ numbers

    def per_sample(self, z: Array, a: Array, y: Array, activation: str) -> Array:
        """The loss of each sample (shape: samples)."""
        name = self.name
        if name == "half_squared_error":
            return 0.5 * _row_sum((y - a) ** 2, axis=1)
        if name == "squared_error":
            return _row_sum((y - a) ** 2, axis=1)
        if name == "mean_squared_error":
            return np.mean((y - a) ** 2, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            if name == "binary_cross_entropy":
                if activation == "sigmoid":
                    return _row_sum(softplus(z) - y * z, axis=1)
                terms = -(_xlogy(y, a) + _xlogy(1.0 - y, 1.0 - a))
                return _row_sum(terms, axis=1)
            if name == "cross_entropy":
                if activation == "softmax":
                    top = np.maximum.reduce(z, axis=1, keepdims=True)
                    lse = top + np.log(_row_sum(np.exp(z - top), axis=1, keepdims=True))
                    return -_row_sum(y * (z - lse), axis=1)
                if activation == "sigmoid":  # −log σ(z) = softplus(−z): no log(0)
                    return _row_sum(y * softplus(-z), axis=1)
                return -_row_sum(_xlogy(y, a), axis=1)
        raise ValueError(name)

    def grad_a(self, z: Array, a: Array, y: Array, activation: str) -> Array:
        """∂L_k/∂a for each sample's own loss."""
        name = self.name
        if name == "half_squared_error":
            return a - y
        if name == "squared_error":
            return 2.0 * (a - y)
        if name == "mean_squared_error":
            return (2.0 / a.shape[1]) * (a - y)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if name == "binary_cross_entropy":
                if activation == "sigmoid":
                    return _sigmoid_bce_grad(z, y)
                return (a - y) / (a * (1.0 - a))
            if name == "cross_entropy":
                if activation == "softmax":
                    top = np.maximum.reduce(z, axis=1, keepdims=True)
                    lse = top + np.log(_row_sum(np.exp(z - top), axis=1, keepdims=True))
                    result: Array = np.where(y == 0, 0.0, -y * np.exp(lse - z))
                    return result
                return np.where(y == 0, 0.0, -y / a)
        raise ValueError(name)

    def combined_delta(self, a: Array, y: Array, activation: str) -> Array | None:
        """∂L_k/∂z of the output layer where loss and activation cancel, else None.

        Multiplying ∂L/∂a by f'(z) instead would give 0·∞ once a unit saturates.
        """
        if self.name == "binary_cross_entropy" and activation == "sigmoid":
            return a - y
        if self.name == "cross_entropy" and activation == "softmax":
            return a * _row_sum(y, axis=1, keepdims=True) - y
        if self.name == "cross_entropy" and activation == "sigmoid":
            return (0.0 - y) * (1.0 - a)  # −(y/a)·a(1 − a); 0 − y: no −0 where y = 0
        return None

    # ------------------------------------------------------------ formulas

    def expr(self, a: list[str], y: list[str]) -> Expr:
        """The sample loss over output keys a and target keys y."""
        name = self.name
        pairs = list(zip(a, y, strict=True))
        if name in ("half_squared_error", "squared_error", "mean_squared_error"):
            squares = add(*(Power(sub(Ref(yk), Ref(ak)), 2) for ak, yk in pairs))
            if name == "half_squared_error":
                return mul(Const(0.5, "½"), squares)
            if name == "mean_squared_error":
                return mul(Const(1.0 / len(a), f"1/{len(a)}"), squares) if len(a) > 1 else squares
            return squares
        if name == "binary_cross_entropy":
            terms = [
                add(
                    mul(Ref(yk), Call("log", (Ref(ak),))),
                    mul(sub(Const(1.0), Ref(yk)), Call("log", (sub(Const(1.0), Ref(ak)),))),
                )
                for ak, yk in pairs
            ]
            return Neg(add(*terms)) if len(terms) == 1 else Neg(_grouped_sum(terms))
        if name == "cross_entropy":
            terms = [mul(Ref(yk), Call("log", (Ref(ak),))) for ak, yk in pairs]
            return Neg(add(*terms)) if len(terms) == 1 else Neg(_grouped_sum(terms))
        raise ValueError(name)

    def grad_a_expr(self, a: str, y: str, n_outputs: int) -> Expr:
        """∂L/∂a of one output unit."""
        name = self.name
        diff = sub(Ref(a), Ref(y))
        if name == "half_squared_error":
            return diff
        if name == "squared_error":
            return mul(Const(2.0), diff)
        if name == "mean_squared_error":
            return mul(Const(2.0 / n_outputs, f"2/{n_outputs}" if n_outputs > 1 else None), diff)
        if name == "binary_cross_entropy":
            return Quotient(diff, mul(Ref(a), sub(Const(1.0), Ref(a))))
        if name == "cross_entropy":
            return Neg(Quotient(Ref(y), Ref(a)))
        raise ValueError(name)


def _grouped_sum(terms: list[Expr]) -> Expr:
    # a Product of one factor is rendered in brackets when negated: −(t1 + t2)
    return Product((add(*terms),))


def _sigmoid_bce_grad(z: Array, y: Array) -> Array:
    """∂L/∂a = (a − y)/(a(1 − a)) for a = σ(z), as −y/a + (1 − y)/(1 − a) with
    1/a = 1 + e^−z and 1/(1 − a) = 1 + e^z.

    Not from a: once σ(z) rounds to 1 (z > 37), a − y is 0 for y = 1 while the exact
    value is −1/a ≈ −1, and near that a − y keeps few correct digits. This form is
    exact to rounding and overflows only where the exact value is beyond float64.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        first = np.where(y == 0, 0.0, -y * (1.0 + np.exp(-z)))
        second = np.where(y == 1, 0.0, (1.0 - y) * (1.0 + np.exp(z)))
        result: Array = first + second
    return result


def _xlogy(x: Array, y: Array) -> Array:
    """x·log(y) with 0·log(0) = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        result: Array = np.where(x == 0, 0.0, x * np.log(y))
    return result


def make_loss(name: str) -> Loss:
    if name not in LOSS_NAMES:
        raise KeyError(name)
    return Loss(name)
