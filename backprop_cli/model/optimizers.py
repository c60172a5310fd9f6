"""Optimizers: how the parameters move once the gradients are known.

Each optimizer is one vectorised update of the engine's flat parameter array
(shape (P,): every parameter of the network, see :mod:`backprop_cli.engine.passes`)
and, for the worked solution and the checker, the formula of every value the
update produces. With g the gradient used by the update, η the learning rate
and t the step (from 1):

- ``sgd``       new = p − η·g
- ``momentum``  v = β·v_prev − η·g;  new = p + v                       (v₀ = 0)
- ``adam``      m = β₁·m_prev + (1 − β₁)·g;  s = β₂·s_prev + (1 − β₂)·g²
                m̂ = m/(1 − β₁ᵗ);  ŝ = s/(1 − β₂ᵗ);  new = p − η·m̂/(√ŝ + ε)  (m₀ = s₀ = 0)

The momentum convention is the classic course notes' (velocity includes η);
Adam is bias-corrected as in Kingma & Ba (2015), with ε outside the root.

``weight_decay`` λ (L2 regularisation) adds λ·p to the gradient of every
*weight* before the update; biases are not decayed. ``grad.<param>`` stays the
gradient of the loss alone (what finite differences of ``loss`` measure): the
decay term appears in the update formulas, ``new = w − η·(grad.w + λ·w)``.

Optimizer state (``v``, ``m``, ``s``) is one flat array per kind, the shape of
the parameters; a frozen parameter's state stays 0 and the parameter itself
never moves. A shared parameter has one state (its uses receive identical
gradients, so their state entries stay equal).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from backprop_cli.expr import Call, Const, Expr, Power, Quotient, Ref, add, mul, sub
from backprop_cli.model.keys import KeyKind, compose
from backprop_cli.records import record
from backprop_cli.rounding import round_array

Array = NDArray[np.float64]

OPTIMIZER_NAMES = ("sgd", "momentum", "adam")
# the settings each optimizer takes, with their defaults
SETTINGS: dict[str, dict[str, float]] = {
    "sgd": {},
    "momentum": {"beta": 0.9},
    "adam": {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
}
# value kinds an update produces for each parameter, before new.<param>, in the order
# they are computed; v, m, s carry over to the next step (the optimizer's state)
UPDATE_KINDS: dict[str, tuple[str, ...]] = {
    "sgd": (),
    "momentum": ("v",),
    "adam": ("m", "s", "mhat", "shat"),
}
# every value kind any optimizer produces (reserved words: no unit or parameter has them)
ALL_UPDATE_KINDS = ("v", "m", "s", "mhat", "shat")


def _tidy(value: float) -> float:
    """1 − 0.9 is 0.09999999999999998 in binary; a person writes 0.1 (15 decimals kept)."""
    return round(value, 15)


@record(frozen=True)
class Optimizer:
    """An update rule and its settings (unused settings keep their defaults)."""

    name: str = "sgd"
    beta: float = 0.9  # momentum
    beta1: float = 0.9  # adam
    beta2: float = 0.999
    epsilon: float = 1e-8

    @property
    def kinds(self) -> tuple[str, ...]:
        """The value kinds of the update besides ``new`` (``v``; ``m``, ``s``, ``mhat``…)."""
        return UPDATE_KINDS[self.name]

    @property
    def settings(self) -> dict[str, float]:
        """The settings that apply to this optimizer, by name (for reports and JSON)."""
        return {key: float(getattr(self, key)) for key in SETTINGS[self.name]}

    @property
    def label(self) -> str:
        if self.name == "sgd":
            return "gradient descent"
        settings = ", ".join(f"{k} = {v:g}" for k, v in self.settings.items())
        return f"{self.name} ({settings})"

    def bias_correction(self, beta: float, step: int) -> float:
        """1 − βᵗ (Adam's correction of a moment that started at 0)."""
        return _tidy(1.0 - beta ** step)

    # ------------------------------------------------------------- formulas

    def formula(self, kind: str, param: str, step: int, prefix: str, previous: str | None,
                learning_rate: float, decay: float, frozen: bool) -> Expr:
        """The formula of ``<prefix><kind>.<param>`` (kind: ``new`` or one of :attr:`kinds`).

        ``prefix`` is the step's key prefix and ``previous`` the previous step's
        (None at step 1, where the state is 0). ``decay`` is λ for a weight, 0 for
        a bias. A frozen parameter keeps its value and its state stays 0.
        """
        p = Ref(compose(prefix, "param", param))
        if frozen:
            return p if kind == "new" else Const(0.0)
        g: Expr = Ref(compose(prefix, "grad", param))
        if decay:
            g = add(g, mul(Const(decay), p))
        rate = Const(learning_rate)

        def prev(state: KeyKind) -> Expr:
            return Const(0.0) if previous is None else Ref(compose(previous, state, param))

        name = self.name
        if name == "sgd" and kind == "new":
            return sub(p, mul(rate, g))
        if name == "momentum":
            if kind == "v":
                return sub(mul(Const(self.beta), prev("v")), mul(rate, g))
            if kind == "new":
                return add(p, Ref(compose(prefix, "v", param)))
        if name == "adam":
            if kind == "m":
                return add(mul(Const(self.beta1), prev("m")),
                           mul(Const(_tidy(1.0 - self.beta1)), g))
            if kind == "s":
                return add(mul(Const(self.beta2), prev("s")),
                           mul(Const(_tidy(1.0 - self.beta2)), Power(g, 2)))
            if kind == "mhat":
                return Quotient(Ref(compose(prefix, "m", param)),
                                Const(self.bias_correction(self.beta1, step)))
            if kind == "shat":
                return Quotient(Ref(compose(prefix, "s", param)),
                                Const(self.bias_correction(self.beta2, step)))
            if kind == "new":
                root = add(Call("sqrt", (Ref(compose(prefix, "shat", param)),)),
                           Const(self.epsilon))
                return sub(p, mul(rate, Quotient(Ref(compose(prefix, "mhat", param)), root)))
        raise ValueError(f"{name} has no value '{kind}'")


SGD = Optimizer()


class Updater:
    """One optimizer step over the flat parameter array, in place, with no allocation.

    ``live`` is False for frozen entries (None: nothing frozen); ``decay`` holds λ
    at every weight and 0 at every bias (None: no weight decay); ``decimals``
    rounds every value the update produces (hand-calculation mode). ``state``
    maps each kind of :attr:`Optimizer.kinds` to its flat array, which the
    engine records as ``v.<param>``, ``m.<param>``…
    """

    def __init__(self, optimizer: Optimizer, learning_rate: float, size: int,
                 live: NDArray[np.bool_] | None = None, decay: Array | None = None,
                 decimals: int | None = None) -> None:
        self.optimizer = optimizer
        self.lr = learning_rate
        self.live = live
        self.decay = decay
        self.decimals = decimals
        self.t = 0  # updates done so far
        self.state: dict[str, Array] = {kind: np.zeros(size) for kind in optimizer.kinds}
        self._step = np.empty(size)
        self._g = np.empty(size) if decay is not None else self._step
        self._c1 = _tidy(1.0 - optimizer.beta1)
        self._c2 = _tidy(1.0 - optimizer.beta2)

    def step(self, params: Array, grad: Array) -> None:
        """Move ``params`` by one update computed from ``grad`` (both shape (P,))."""
        self.t += 1
        g = grad
        if self.decay is not None:
            g = np.multiply(params, self.decay, out=self._g)
            np.add(g, grad, out=g)
        name = self.optimizer.name
        if name == "sgd":
            self._move(params, np.multiply(g, self.lr, out=self._step), np.subtract)
        elif name == "momentum":
            self._momentum(params, g)
        else:
            self._adam(params, g)

    def _move(self, target: Array, change: Array, op: np.ufunc) -> None:
        """``target ← target op change`` on the unfrozen entries only, then rounding."""
        if self.live is None:
            op(target, change, out=target)
        else:
            # where=: a frozen entry is never written, not even by a NaN gradient
            op(target, change, out=target, where=self.live)
        self._round(target)

    def _scale(self, target: Array, factor: float) -> None:
        if self.live is None:
            np.multiply(target, factor, out=target)
        else:
            np.multiply(target, factor, out=target, where=self.live)

    def _round(self, values: Array) -> None:
        if self.decimals is not None:
            round_array(values, self.decimals, out=values)

    def _momentum(self, params: Array, g: Array) -> None:
        v = self.state["v"]
        self._scale(v, self.optimizer.beta)
        self._move(v, np.multiply(g, self.lr, out=self._step), np.subtract)
        self._move(params, v, np.add)

    def _adam(self, params: Array, g: Array) -> None:
        opt, state, step = self.optimizer, self.state, self._step
        m, s, m_hat, s_hat = state["m"], state["s"], state["mhat"], state["shat"]
        self._scale(m, opt.beta1)
        self._move(m, np.multiply(g, self._c1, out=step), np.add)
        self._scale(s, opt.beta2)
        np.multiply(g, g, out=step)
        self._move(s, np.multiply(step, self._c2, out=step), np.add)
        # frozen entries: m = s = 0, so m̂ = ŝ = 0 there as well
        np.divide(m, opt.bias_correction(opt.beta1, self.t), out=m_hat)
        self._round(m_hat)
        np.divide(s, opt.bias_correction(opt.beta2, self.t), out=s_hat)
        self._round(s_hat)
        np.sqrt(s_hat, out=step)
        np.add(step, opt.epsilon, out=step)
        np.divide(m_hat, step, out=step)
        self._move(params, np.multiply(step, self.lr, out=step), np.subtract)
