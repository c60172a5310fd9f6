"""Loss functions for one sample, vectorised over samples, with their formulas.

For outputs a (samples × outputs) and targets y:

- ``half_squared_error``   ½·Σ(y−a)²            ∂L/∂a = a − y
- ``squared_error``        Σ(y−a)²              ∂L/∂a = 2(a − y)
- ``mean_squared_error``   (1/n)·Σ(y−a)²        ∂L/∂a = (2/n)(a − y)
- ``binary_cross_entropy`` −Σ[y·log a + (1−y)·log(1−a)]   ∂L/∂a = (a − y)/(a(1 − a))
- ``cross_entropy``        −Σ y·log a           ∂L/∂a = −y/a

Each is one :class:`LossSpec` in :data:`LOSSES`; :func:`register_loss` adds one.
The engine computes the cross-entropies of sigmoid and softmax outputs from the
pre-activations z (log-sum-exp, softplus) and their output deltas in closed form
(a − y), so that a saturated output never turns into log(0), 0/0 or 0·∞.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from backprop_cli.expr import Call, Const, Expr, Neg, Power, Product, Quotient, Ref, add, mul, sub
from backprop_cli.model.activations import softplus
from backprop_cli.records import field, record

Array = NDArray[np.float64]

# np.sum without its Python-level wrapper (same reduction, same bits): a small network
# spends more time in such wrappers than in arithmetic
_row_sum = np.add.reduce

PerSample = Callable[[Array, Array, Array, str], Array]  # (z, a, y, output activation)
Combined = Callable[[Array, Array, str], "Array | None"]  # (a, y, output activation)
LossExpr = Callable[[list[str], list[str]], Expr]  # (output keys, target keys)
GradExpr = Callable[[str, str, int], Expr]  # (output key, target key, number of outputs)
# what a target may be: any number, a number in [0, 1], or non-negative numbers summing to
# 1 over the outputs (then a target may also name the true unit)
TargetRange = Literal["real", "unit_interval", "distribution"]


def _no_combination(a: Array, y: Array, activation: str) -> Array | None:
    return None


@record(frozen=True)
class LossSpec:
    """One loss: its numbers, its formulas, and what it needs of targets and outputs.

    ``per_sample(z, a, y, activation)`` is the loss of each sample and ``grad_a`` its
    ∂L_k/∂a (both may use z and the output activation's name for a stable form);
    ``combined_delta`` is ∂L_k/∂z of the output layer where loss and activation
    cancel, else None. ``expr`` and ``grad_a_expr`` are the formulas. A loss that
    takes logs (``logs_of``: of a, of 1 − a) lists the ``output_activations`` whose
    values lie in (0, 1); the first is the one ``backprop new`` draws.
    ``softmax_delta``: with a whole-layer (softmax) output the worked solution writes
    δ = a − y.
    """

    name: str
    label: str
    per_sample: PerSample
    grad_a: PerSample
    expr: LossExpr
    grad_a_expr: GradExpr
    combined_delta: Combined = field(default=_no_combination)
    targets: TargetRange = "real"
    output_activations: tuple[str, ...] = ()
    logs_of: tuple[str, ...] = ()
    min_outputs: int = 1
    single_output_loss: str = ""  # what to use instead with fewer than min_outputs
    softmax_delta: bool = False


LOSSES: dict[str, LossSpec] = {}
# live views of the registry (updated by register_loss), in registration order
LOSS_NAMES: list[str] = []
LOSS_LABELS: dict[str, str] = {}


def register_loss(spec: LossSpec) -> LossSpec:
    if spec.name in LOSSES:
        raise ValueError(f"loss name '{spec.name}' is taken")
    LOSSES[spec.name] = spec
    LOSS_NAMES.append(spec.name)
    LOSS_LABELS[spec.name] = spec.label
    return spec


def unregister_loss(name: str) -> None:
    del LOSSES[name]
    LOSS_NAMES.remove(name)
    del LOSS_LABELS[name]


@record(frozen=True)
class Loss:
    name: str

    @property
    def spec(self) -> LossSpec:
        return LOSSES[self.name] if self.name != NO_LOSS_NAME else NO_LOSS

    @property
    def given(self) -> bool:
        """``loss: none``: ∂L/∂a of the outputs is given (``upstream``), there is no loss."""
        return self.name == NO_LOSS_NAME

    @property
    def label(self) -> str:
        return self.spec.label

    # ------------------------------------------------------------ numbers

    def per_sample(self, z: Array, a: Array, y: Array, activation: str) -> Array:
        """The loss of each sample (shape: samples)."""
        return self.spec.per_sample(z, a, y, activation)

    def grad_a(self, z: Array, a: Array, y: Array, activation: str) -> Array:
        """∂L_k/∂a for each sample's own loss."""
        return self.spec.grad_a(z, a, y, activation)

    def combined_delta(self, a: Array, y: Array, activation: str) -> Array | None:
        """∂L_k/∂z of the output layer where loss and activation cancel, else None.

        Multiplying ∂L/∂a by f'(z) instead would give 0·∞ once a unit saturates.
        """
        return self.spec.combined_delta(a, y, activation)

    # ------------------------------------------------------------ formulas

    def expr(self, a: list[str], y: list[str]) -> Expr:
        """The sample loss over output keys a and target keys y."""
        return self.spec.expr(a, y)

    def grad_a_expr(self, a: str, y: str, n_outputs: int) -> Expr:
        """∂L/∂a of one output unit."""
        return self.spec.grad_a_expr(a, y, n_outputs)


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
    if name not in LOSSES and name != NO_LOSS_NAME:
        raise KeyError(name)
    return Loss(name)


# ``loss: none`` (issue 16): no loss, the gradient of the outputs is given (``upstream:``,
# held where targets are). Not a registered loss (no `backprop new`, no loss key): the
# engine runs it as the loss Σ g·a, whose ∂L/∂a is exactly the upstream g.
NO_LOSS_NAME = "none"
NO_LOSS = LossSpec(
    NO_LOSS_NAME, "none: the upstream gradient ∂L/∂a is given",
    per_sample=lambda z, a, y, act: _row_sum(y * a, axis=1),
    grad_a=lambda z, a, y, act: np.array(y, dtype=np.float64),
    expr=lambda a, y: add(*(mul(Ref(yk), Ref(ak)) for ak, yk in zip(a, y, strict=True))),
    grad_a_expr=lambda a, y, n: Ref(y))


# ------------------------------------------------------------------ the built-in ones


def _squares(a: list[str], y: list[str]) -> Expr:
    return add(*(Power(sub(Ref(yk), Ref(ak)), 2) for ak, yk in zip(a, y, strict=True)))


def _diff(a: str, y: str) -> Expr:
    return sub(Ref(a), Ref(y))


def _bce_per_sample(z: Array, a: Array, y: Array, activation: str) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        if activation == "sigmoid":
            return _row_sum(softplus(z) - y * z, axis=1)
        terms = -(_xlogy(y, a) + _xlogy(1.0 - y, 1.0 - a))
        return _row_sum(terms, axis=1)


def _bce_grad_a(z: Array, a: Array, y: Array, activation: str) -> Array:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if activation == "sigmoid":
            return _sigmoid_bce_grad(z, y)
        return (a - y) / (a * (1.0 - a))


def _bce_combined(a: Array, y: Array, activation: str) -> Array | None:
    return a - y if activation == "sigmoid" else None


def _bce_expr(a: list[str], y: list[str]) -> Expr:
    terms = [
        add(
            mul(Ref(yk), Call("log", (Ref(ak),))),
            mul(sub(Const(1.0), Ref(yk)), Call("log", (sub(Const(1.0), Ref(ak)),))),
        )
        for ak, yk in zip(a, y, strict=True)
    ]
    return Neg(add(*terms)) if len(terms) == 1 else Neg(_grouped_sum(terms))


def _ce_per_sample(z: Array, a: Array, y: Array, activation: str) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        if activation == "softmax":
            top = np.maximum.reduce(z, axis=1, keepdims=True)
            lse = top + np.log(_row_sum(np.exp(z - top), axis=1, keepdims=True))
            return -_row_sum(y * (z - lse), axis=1)
        if activation == "sigmoid":  # −log σ(z) = softplus(−z): no log(0)
            return _row_sum(y * softplus(-z), axis=1)
        return -_row_sum(_xlogy(y, a), axis=1)


def _ce_grad_a(z: Array, a: Array, y: Array, activation: str) -> Array:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if activation == "softmax":
            top = np.maximum.reduce(z, axis=1, keepdims=True)
            lse = top + np.log(_row_sum(np.exp(z - top), axis=1, keepdims=True))
            result: Array = np.where(y == 0, 0.0, -y * np.exp(lse - z))
            return result
        return np.where(y == 0, 0.0, -y / a)


def _ce_combined(a: Array, y: Array, activation: str) -> Array | None:
    if activation == "softmax":
        return a * _row_sum(y, axis=1, keepdims=True) - y
    if activation == "sigmoid":
        return (0.0 - y) * (1.0 - a)  # −(y/a)·a(1 − a); 0 − y: no −0 where y = 0
    return None


def _ce_expr(a: list[str], y: list[str]) -> Expr:
    terms = [mul(Ref(yk), Call("log", (Ref(ak),))) for ak, yk in zip(a, y, strict=True)]
    return Neg(add(*terms)) if len(terms) == 1 else Neg(_grouped_sum(terms))


register_loss(LossSpec(
    "half_squared_error", "half squared error ½·Σ(y − a)²",
    per_sample=lambda z, a, y, act: 0.5 * _row_sum((y - a) ** 2, axis=1),
    grad_a=lambda z, a, y, act: a - y,
    expr=lambda a, y: mul(Const(0.5, "½"), _squares(a, y)),
    grad_a_expr=lambda a, y, n: _diff(a, y)))
register_loss(LossSpec(
    "squared_error", "squared error Σ(y − a)²",
    per_sample=lambda z, a, y, act: _row_sum((y - a) ** 2, axis=1),
    grad_a=lambda z, a, y, act: 2.0 * (a - y),
    expr=_squares,
    grad_a_expr=lambda a, y, n: mul(Const(2.0), _diff(a, y))))
register_loss(LossSpec(
    "mean_squared_error", "mean squared error (1/n)·Σ(y − a)²",
    per_sample=lambda z, a, y, act: np.mean((y - a) ** 2, axis=1),
    grad_a=lambda z, a, y, act: (2.0 / a.shape[1]) * (a - y),
    expr=lambda a, y: (mul(Const(1.0 / len(a), f"1/{len(a)}"), _squares(a, y)) if len(a) > 1
                       else _squares(a, y)),
    grad_a_expr=lambda a, y, n: mul(Const(2.0 / n, f"2/{n}" if n > 1 else None), _diff(a, y))))
register_loss(LossSpec(
    "binary_cross_entropy", "binary cross-entropy −Σ[y·log a + (1 − y)·log(1 − a)]",
    per_sample=_bce_per_sample, grad_a=_bce_grad_a, combined_delta=_bce_combined,
    expr=_bce_expr,
    grad_a_expr=lambda a, y, n: Quotient(_diff(a, y), mul(Ref(a), sub(Const(1.0), Ref(a)))),
    targets="unit_interval", output_activations=("sigmoid",), logs_of=("a", "1-a")))
register_loss(LossSpec(
    "cross_entropy", "cross-entropy −Σ y·log a",
    per_sample=_ce_per_sample, grad_a=_ce_grad_a, combined_delta=_ce_combined,
    expr=_ce_expr,
    grad_a_expr=lambda a, y, n: Neg(Quotient(Ref(y), Ref(a))),
    targets="distribution", output_activations=("softmax", "sigmoid"), logs_of=("a",),
    min_outputs=2, single_output_loss="binary_cross_entropy", softmax_delta=True))
