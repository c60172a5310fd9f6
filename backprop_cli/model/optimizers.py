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

Each optimizer is one :class:`OptimizerSpec` in :data:`OPTIMIZERS`;
:func:`register_optimizer` adds one.

Optimizer state (``v``, ``m``, ``s``) is one flat array per kind, the shape of
the parameters; a frozen parameter's state stays 0 and the parameter itself
never moves. A shared parameter has one state (its uses receive identical
gradients, so their state entries stay equal).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from backprop_cli.expr import Call, Const, Expr, Power, Quotient, Ref, add, mul, sub
from backprop_cli.model.keys import compose, named_kind
from backprop_cli.records import field, record
from backprop_cli.rounding import round_array

Array = NDArray[np.float64]

# every value kind an optimizer may produce: reserved words of the key grammar (no unit or
# parameter has them), so a registered optimizer keeps its state in these
ALL_UPDATE_KINDS = ("v", "m", "s", "mhat", "shat")


def _tidy(value: float) -> float:
    """1 − 0.9 is 0.09999999999999998 in binary; a person writes 0.1 (15 decimals kept)."""
    return round(value, 15)


@record(frozen=True)
class FormulaParts:
    """What an update formula is built from, for one parameter at one step.

    ``p`` is the parameter, ``g`` the gradient the update uses (with the weight decay
    term), ``rate`` the learning rate (a constant with role ``rate``: printed η);
    ``prefix`` is the step's key prefix and ``previous`` the previous step's (None at
    step 1, where the state is 0).
    """

    param: str
    step: int
    prefix: str
    previous: str | None
    p: Expr
    g: Expr
    rate: Expr

    def prev(self, state: str) -> Expr:
        """The previous step's value of ``state`` (0 before the first update)."""
        if self.previous is None:
            return Const(0.0)
        return Ref(compose(self.previous, named_kind(state), self.param))

    def ref(self, kind: str) -> Expr:
        """This step's value of ``kind`` (computed before the one being built)."""
        return Ref(compose(self.prefix, named_kind(kind), self.param))


# (optimizer, kind, parts) -> the formula of <prefix><kind>.<param>, None: no such value
UpdateFormula = Callable[["Optimizer", str, FormulaParts], "Expr | None"]
# (updater, params, g): one step in place over the flat arrays
UpdateStep = Callable[["Updater", Array, Array], None]
# (settings) -> constants an update needs at every step, worked out once
Prepare = Callable[[dict[str, float]], dict[str, float]]


def _nothing(settings: dict[str, float]) -> dict[str, float]:
    return {}


@record(frozen=True)
class OptimizerSpec:
    """One optimizer: its settings, its value kinds, its formulas and its vectorised step.

    ``settings`` are (name, default) pairs; those named in ``positive`` are any positive
    number, the others decay rates in [0, 1). ``kinds`` are the values the update
    produces for each parameter, before ``new``, in the order they are computed (each
    from :data:`ALL_UPDATE_KINDS`); those it reads back at the next step are its state.
    ``label`` (empty: the name and settings) names it in reports; ``hints`` are other
    names people use for it (an unknown optimizer so named gets 'did you mean'); ``words``
    name its kinds in prose (the quiz's 'velocity v_w1').
    """

    name: str
    formula: UpdateFormula
    step: UpdateStep
    settings: tuple[tuple[str, float], ...] = ()
    positive: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    prepare: Prepare = field(default=_nothing)
    label: str = ""
    hints: tuple[str, ...] = ()
    words: tuple[tuple[str, str], ...] = ()  # each kind in words: ('v', 'velocity')


OPTIMIZERS: dict[str, OptimizerSpec] = {}
# live views of the registry (updated by register_optimizer), in registration order
OPTIMIZER_NAMES: list[str] = []
# the settings each optimizer takes, with their defaults
SETTINGS: dict[str, dict[str, float]] = {}
# value kinds an update produces for each parameter, before new.<param>
UPDATE_KINDS: dict[str, tuple[str, ...]] = {}


def register_optimizer(spec: OptimizerSpec) -> OptimizerSpec:
    if spec.name in OPTIMIZERS:
        raise ValueError(f"optimizer name '{spec.name}' is taken")
    unknown = [kind for kind in spec.kinds if kind not in ALL_UPDATE_KINDS]
    if unknown:
        raise ValueError(f"optimizer value kind '{unknown[0]}' is not one of the key "
                         f"grammar's ({', '.join(ALL_UPDATE_KINDS)})")
    OPTIMIZERS[spec.name] = spec
    OPTIMIZER_NAMES.append(spec.name)
    SETTINGS[spec.name] = dict(spec.settings)
    UPDATE_KINDS[spec.name] = spec.kinds
    return spec


def unregister_optimizer(name: str) -> None:
    del OPTIMIZERS[name]
    OPTIMIZER_NAMES.remove(name)
    del SETTINGS[name]
    del UPDATE_KINDS[name]


@record(frozen=True)
class Optimizer:
    """An update rule and its settings (``values``: those given; the others default)."""

    name: str = "sgd"
    values: tuple[tuple[str, float], ...] = ()

    @property
    def spec(self) -> OptimizerSpec:
        return OPTIMIZERS[self.name]

    @property
    def kinds(self) -> tuple[str, ...]:
        """The value kinds of the update besides ``new`` (``v``; ``m``, ``s``, ``mhat``…)."""
        return self.spec.kinds

    @property
    def settings(self) -> dict[str, float]:
        """The settings that apply to this optimizer, by name (for reports and JSON)."""
        given = dict(self.values)
        return {key: float(given.get(key, default)) for key, default in self.spec.settings}

    def setting(self, key: str) -> float:
        return self.settings[key]

    @property
    def beta(self) -> float:  # momentum
        return self.setting("beta")

    @property
    def beta1(self) -> float:  # adam
        return self.setting("beta1")

    @property
    def beta2(self) -> float:
        return self.setting("beta2")

    @property
    def epsilon(self) -> float:
        return self.setting("epsilon")

    @property
    def label(self) -> str:
        if self.spec.label:
            return self.spec.label
        settings = ", ".join(f"{k} = {v:g}" for k, v in self.settings.items())
        return f"{self.name} ({settings})"

    def bias_correction(self, beta: float, step: int) -> float:
        """1 − βᵗ (Adam's correction of a moment that started at 0)."""
        return bias_correction(beta, step)

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
            g = add(g, mul(Const(decay, role="decay"), p))
        parts = FormulaParts(param, step, prefix, previous, p, g,
                             Const(learning_rate, role="rate"))
        expr = self.spec.formula(self, kind, parts)
        if expr is None:
            raise ValueError(f"{self.name} has no value '{kind}'")
        return expr


def bias_correction(beta: float, step: int) -> float:
    """1 − βᵗ (Adam's correction of a moment that started at 0)."""
    return _tidy(1.0 - beta ** step)


class Updater:
    """One optimizer step over the flat parameter array, in place, with no allocation.

    ``live`` is False for frozen entries (None: nothing frozen); ``decay`` holds λ
    at every weight and 0 at every bias (None: no weight decay); ``decimals``
    rounds every value the update produces (hand-calculation mode). ``state``
    maps each kind of :attr:`Optimizer.kinds` to its flat array, which the
    engine records as ``v.<param>``, ``m.<param>``… The optimizer's own step
    (:attr:`OptimizerSpec.step`) moves the arrays with :meth:`move`,
    :meth:`scale` and :meth:`round`, using ``work`` as scratch space.
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
        self.work = np.empty(size)
        self._g = np.empty(size) if decay is not None else self.work
        spec = optimizer.spec
        self._step_function = spec.step
        self.settings = optimizer.settings
        self.constants = spec.prepare(self.settings)

    def step(self, params: Array, grad: Array) -> None:
        """Move ``params`` by one update computed from ``grad`` (both shape (P,))."""
        self.t += 1
        g = grad
        if self.decay is not None:
            g = np.multiply(params, self.decay, out=self._g)
            np.add(g, grad, out=g)
        self._step_function(self, params, g)

    def move(self, target: Array, change: Array, op: np.ufunc) -> None:
        """``target ← target op change`` on the unfrozen entries only, then rounding."""
        if self.live is None:
            op(target, change, out=target)
        else:
            # where=: a frozen entry is never written, not even by a NaN gradient
            op(target, change, out=target, where=self.live)
        self.round(target)

    def scale(self, target: Array, factor: float) -> None:
        if self.live is None:
            np.multiply(target, factor, out=target)
        else:
            np.multiply(target, factor, out=target, where=self.live)

    def round(self, values: Array) -> None:
        if self.decimals is not None:
            round_array(values, self.decimals, out=values)


# ------------------------------------------------------------------ the built-in ones


def _sgd_formula(opt: Optimizer, kind: str, x: FormulaParts) -> Expr | None:
    return sub(x.p, mul(x.rate, x.g)) if kind == "new" else None


def _sgd_step(u: Updater, params: Array, g: Array) -> None:
    u.move(params, np.multiply(g, u.lr, out=u.work), np.subtract)


def _momentum_formula(opt: Optimizer, kind: str, x: FormulaParts) -> Expr | None:
    if kind == "v":
        return sub(mul(Const(opt.beta, role="beta"), x.prev("v")), mul(x.rate, x.g))
    if kind == "new":
        return add(x.p, x.ref("v"))
    return None


def _momentum_step(u: Updater, params: Array, g: Array) -> None:
    v = u.state["v"]
    u.scale(v, u.settings["beta"])
    u.move(v, np.multiply(g, u.lr, out=u.work), np.subtract)
    u.move(params, v, np.add)


def _adam_formula(opt: Optimizer, kind: str, x: FormulaParts) -> Expr | None:
    if kind == "m":
        return add(mul(Const(opt.beta1, role="beta1"), x.prev("m")),
                   mul(Const(_tidy(1.0 - opt.beta1), role="one_minus_beta1"), x.g))
    if kind == "s":
        return add(mul(Const(opt.beta2, role="beta2"), x.prev("s")),
                   mul(Const(_tidy(1.0 - opt.beta2), role="one_minus_beta2"), Power(x.g, 2)))
    if kind == "mhat":
        return Quotient(x.ref("m"), Const(bias_correction(opt.beta1, x.step),
                                          role="bias_correction1"))
    if kind == "shat":
        return Quotient(x.ref("s"), Const(bias_correction(opt.beta2, x.step),
                                          role="bias_correction2"))
    if kind == "new":
        root = add(Call("sqrt", (x.ref("shat"),)), Const(opt.epsilon, role="epsilon"))
        return sub(x.p, mul(x.rate, Quotient(x.ref("mhat"), root)))
    return None


def _adam_prepare(settings: dict[str, float]) -> dict[str, float]:
    return {"c1": _tidy(1.0 - settings["beta1"]), "c2": _tidy(1.0 - settings["beta2"])}


def _adam_step(u: Updater, params: Array, g: Array) -> None:
    settings, state, step = u.settings, u.state, u.work
    beta1, beta2 = settings["beta1"], settings["beta2"]
    m, s, m_hat, s_hat = state["m"], state["s"], state["mhat"], state["shat"]
    u.scale(m, beta1)
    u.move(m, np.multiply(g, u.constants["c1"], out=step), np.add)
    u.scale(s, beta2)
    np.multiply(g, g, out=step)
    u.move(s, np.multiply(step, u.constants["c2"], out=step), np.add)
    # frozen entries: m = s = 0, so m̂ = ŝ = 0 there as well
    np.divide(m, bias_correction(beta1, u.t), out=m_hat)
    u.round(m_hat)
    np.divide(s, bias_correction(beta2, u.t), out=s_hat)
    u.round(s_hat)
    np.sqrt(s_hat, out=step)
    np.add(step, settings["epsilon"], out=step)
    np.divide(m_hat, step, out=step)
    u.move(params, np.multiply(step, u.lr, out=step), np.subtract)


register_optimizer(OptimizerSpec(
    "sgd", _sgd_formula, _sgd_step, label="gradient descent",
    hints=("gd", "gradient_descent")))
register_optimizer(OptimizerSpec(
    "momentum", _momentum_formula, _momentum_step, settings=(("beta", 0.9),), kinds=("v",),
    hints=("nesterov",), words=(("v", "velocity"),)))
register_optimizer(OptimizerSpec(
    "adam", _adam_formula, _adam_step,
    settings=(("beta1", 0.9), ("beta2", 0.999), ("epsilon", 1e-8)), positive=("epsilon",),
    kinds=("m", "s", "mhat", "shat"), prepare=_adam_prepare, hints=("adamw",),
    words=(("m", "first moment"), ("s", "second moment"), ("mhat", "corrected first moment"),
           ("shat", "corrected second moment"))))

SGD = Optimizer()
