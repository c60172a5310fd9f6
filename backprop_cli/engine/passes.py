"""The engine: forward pass, backward pass (chain rule) and gradient descent.

Everything is float64 and vectorised per layer over the samples; there is no
Python loop over units. Shapes, for N samples and layer l with n_l units:

    a_0 = X                      (N, n_0)
    z_l = a_{l-1} @ W_lᵀ + b_l   (N, n_l)
    a_l = f_l(z_l)               (N, n_l)

    ∂L_k/∂a_L  from the loss     (N, n_L)   per sample k, of its own loss L_k
    δ_l = ∂L_k/∂z_l = ∂L_k/∂a_l ⊙ f'(z_l)   (softmax: its Jacobian)
    ∂L_k/∂a_{l-1} = δ_l @ W_l
    ∂L/∂W_l = s · δ_lᵀ @ a_{l-1}  with s = 1/N (mean) or 1 (sum)

A shared parameter's gradient is the sum over its uses; frozen parameters get
gradients but are not updated. :meth:`Engine.run` records only the keys a
:class:`Recorder` asks for, so many steps do not keep many traces in memory.

With ``batch_size`` B a step runs on its batch only (N above is then the
batch's size, rows ``start:stop`` of the data, views, no copy); the final pass
covers every sample. The update is the problem's optimizer
(:class:`backprop_cli.model.optimizers.Updater`, one vectorised step over the flat
parameter array). In hand-calculation mode (``problem.round``) ``Engine(problem)``
is a :class:`backprop_cli.engine.handcalc.RoundingEngine`.
"""

from __future__ import annotations

import fnmatch
import functools
import math
import re
from collections.abc import Callable, Iterable
from typing import ParamSpec, TypeVar

import numpy as np
from numpy.typing import NDArray

from backprop_cli.engine.diagnosis import numeric_error
from backprop_cli.model.keys import (
    CONVENTION_KINDS,
    EPOCH_KINDS,
    UNIT_KINDS,
    KeyKind,
    KeyParts,
    compose,
    epoch_key,
    for_sample,
    head,
    keys_by_name,
    keys_of,
    may_be_later_step,
    named_kind,
    prefix_for,
    prefix_of,
    stem,
    suffix_for,
    value_key,
)
from backprop_cli.model.keyspace import parse_key
from backprop_cli.model.optimizers import Updater
from backprop_cli.model.problem import RESERVED_WORDS, Parameter, Problem
from backprop_cli.records import field, record
from backprop_cli.rounding import round_value

Array = NDArray[np.float64]


@record
class Pass:
    """One forward (and optionally backward) pass over all samples."""

    z: list[Array]
    a: list[Array]  # a[l] is the output of layer l (0-based); inputs are separate
    dadz: list[Array | None]
    sample_losses: Array  # (N,)
    loss: float
    grad_a: list[Array] = field(default_factory=list)
    grad_z: list[Array] = field(default_factory=list)
    grad_w: list[Array] = field(default_factory=list)
    grad_b: list[Array | None] = field(default_factory=list)
    # every gradient, flat in parameter order (grad_w and grad_b are views into it)
    grad: Array = field(default_factory=lambda: np.empty(0))
    scratch: Array = field(default_factory=lambda: np.empty(0))  # lr · grad, for the update
    work: list[Array] = field(default_factory=list)  # temporaries of the fast kernels
    # hand-calculation mode: each sample's own (rounded) gradient, (N, P) like grad
    sample_grad: Array | None = None


_WILDCARD = re.compile(r"[*?\[]")


class Recorder:
    """Decides which keys to keep; by default every key of every step."""

    def __init__(self, patterns: Iterable[str] | None = None) -> None:
        self.patterns = list(patterns) if patterns else []
        self.values: dict[str, float] = {}
        # only whole keys (a check's): the engine reads them one by one (_DirectKeys)
        self.exact: list[str] | None = None
        self._match: Callable[[str], object]
        if not self.patterns:
            self._match = lambda key: True
            self._literal_prefixes = [""]
            return
        # one search for the common case: no wildcard at all
        globs = ([p for p in self.patterns if _WILDCARD.search(p)]
                 if _WILDCARD.search("\n".join(self.patterns)) else [])
        if not globs:
            self.exact = list(dict.fromkeys(self.patterns))
            self._match = frozenset(self.exact).__contains__
            self._literal_prefixes = self.exact
            return
        # keys given in full are a set look-up, not a regex
        exact = frozenset(p for p in self.patterns if p not in globs)
        regex = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in globs)).match
        self._match = (lambda key: key in exact or regex(key)) if exact else regex
        self._literal_prefixes = [_WILDCARD.split(p, maxsplit=1)[0] for p in self.patterns]

    def wants_prefix(self, prefix: str) -> bool:
        """Whether any pattern can match a key that starts with ``prefix``."""
        if prefix == "":
            # step-1 keys start with anything but "step<k>." or "final."
            return any(not prefix_of(lit) for lit in self._literal_prefixes)
        return any(lit.startswith(prefix) or prefix.startswith(lit)
                   for lit in self._literal_prefixes)

    def may_want_later_steps(self) -> bool:
        """Whether any key of step 2 or later can match (else no need to ask every step)."""
        return any(map(may_be_later_step, self._literal_prefixes))

    def may_match(self, prefix: str, *starts: str) -> bool:
        """Whether a key that starts with ``prefix`` + one of ``starts`` can match.

        A cheap test on the patterns' literal beginnings, so that recording one
        value of a large network does not format every other key to reject it.
        """
        return any(lit.startswith(full) or full.startswith(lit)
                   for full in (prefix + start for start in starts)
                   for lit in self._literal_prefixes)

    def may_match_name(self, prefix: str) -> bool:
        """Whether a key ``prefix`` + a parameter name (no '.', not reserved) can match."""
        for pattern, lit in zip(self.patterns or ["*"], self._literal_prefixes, strict=True):
            if prefix.startswith(lit):
                return True
            if lit.startswith(prefix):
                rest = lit[len(prefix):]
                exact = lit == pattern  # no wildcard: the pattern is one key
                if "." not in rest and not (exact and rest in RESERVED_WORDS):
                    return True
        return False

    def wants(self, key: str) -> bool:
        return bool(self._match(key))

    def add(self, key: str, value: float) -> None:
        if self._match(key):
            self.values[key] = float(value)

    def add_many(self, items: list[tuple[str, float]]) -> None:
        """Keep the matching (key, value) pairs, values already Python floats."""
        if not self.patterns:
            self.values.update(items)
        else:
            match = self._match
            self.values.update(item for item in items if match(item[0]))


@record
class Solution:
    """What a run produced: the recorded values and the loss of every step."""

    problem: Problem
    values: dict[str, float]
    losses: Array  # losses[s] = loss before update s+1; the last entry is final.loss
    steps_run: int
    stopped: str | None = None  # a reason, when the run ended early


# ------------------------------------------------------------ fast kernels
#
# For a small network most of a step's time is the fixed cost of each NumPy
# call, not arithmetic; for a large one it is allocating and filling temporaries.
# These write the most common activations and loss into preallocated buffers in
# fewer calls. Each gives exactly the numbers of its reference in activations.py
# or losses.py (same operations on the same operands; tests/engine/test_hot_path.py
# checks them bit for bit, extremes included): change both together.


def _sigmoid_into(z: Array, out: Array, tmp: Array) -> Array:
    """activations.stable_sigmoid: e = exp(−|z|); 1/(1+e) for z ≥ 0, e/(1+e) below."""
    np.minimum(z, 0.0, out=out)
    np.exp(out, out=out)  # the numerator: exp(0) = 1 for z ≥ 0, exp(z) = e below
    np.abs(z, out=tmp)
    np.negative(tmp, out=tmp)
    np.exp(tmp, out=tmp)
    np.add(tmp, 1.0, out=tmp)
    return np.divide(out, tmp, out=out)


def _sigmoid_derivative_into(a: Array, out: Array) -> Array:
    """Activation.derivative for sigmoid: a(1 − a)."""
    np.subtract(1.0, a, out=out)
    return np.multiply(a, out, out=out)


def _tanh_derivative_into(a: Array, out: Array) -> Array:
    """Activation.derivative for tanh: 1 − a²."""
    np.multiply(a, a, out=out)
    return np.subtract(1.0, out, out=out)


def _half_squared_error_into(a: Array, y: Array, out: Array, tmp: Array) -> Array:
    """Loss.per_sample for half_squared_error: ½·Σ(y − a)² per sample."""
    np.subtract(y, a, out=tmp)
    np.multiply(tmp, tmp, out=tmp)  # what (y − a) ** 2 computes
    np.add.reduce(tmp, axis=1, out=out)
    return np.multiply(out, 0.5, out=out)


_P = ParamSpec("_P")
_T = TypeVar("_T")


def _quiet_numpy(method: Callable[_P, _T]) -> Callable[_P, _T]:
    """Run ``method`` without NumPy's RuntimeWarnings: an overflow is reported in words
    (:mod:`backprop_cli.engine.diagnosis`), not as warning lines on stderr. Set once per run."""

    @functools.wraps(method)
    def quiet(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        with np.errstate(all="ignore"):
            return method(*args, **kwargs)

    return quiet



def epoch_losses(losses: Array, batches_per_epoch: int, epochs: int,
                 decimals: int | None) -> list[tuple[float, float]]:
    """(epoch<k>.loss, epoch<k>.loss_sum) of the first ``epochs`` epochs from the step
    losses (before each update): the mean of an epoch's, as Keras prints it, and their
    sum; in hand-calculation mode each rounded, as its formula Round(mean(...))."""
    values = []
    for k in range(1, epochs + 1):
        during = losses[(k - 1) * batches_per_epoch:k * batches_per_epoch].tolist()
        total = math.fsum(during)
        mean = total / len(during)
        if decimals is not None:
            mean, total = round_value(mean, decimals), round_value(total, decimals)
        values.append((mean, total))
    return values


class Engine:
    """Runs gradient descent on a problem's network, in place on copies of its arrays.

    All parameters live in one flat array (``self.params``); ``self.weights[l]``
    and ``self.biases[l]`` are views into it, and the gradients of a pass are
    views into one flat array the same way. So the update, the masks of frozen
    parameters and the sums of shared parameters are each one vectorised
    operation over the whole network, and :meth:`run` reuses one set of buffers
    for every step.
    """

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        layers = problem.layers
        # where each layer's weights and bias start in the flat parameter array
        self._w_at: list[int] = []
        self._b_at: list[int] = []
        size = 0
        for layer in layers:
            self._w_at.append(size)
            size += layer.weights.size
            self._b_at.append(size)
            size += 0 if layer.bias is None else layer.size
        self.params: Array = np.empty(size)
        self.weights = self._weight_views(self.params)
        self.biases = self._bias_views(self.params)
        for layer, w, b in zip(layers, self.weights, self.biases, strict=True):
            w[...] = layer.weights
            if b is not None:
                b[...] = layer.bias
        self.x = problem.inputs
        self.y = problem.targets
        self.scale = 1.0 / problem.n_samples if problem.reduction == "mean" else 1.0
        self.lr = problem.learning_rate
        self.loss = problem.loss
        self.activations = [layer.activation for layer in layers]
        self.output_activation = self.activations[-1].name
        # Frozen parameters: the update skips them (where=, so that even a NaN
        # gradient cannot reach them); a pass that records nothing does not
        # compute the bias gradients of a layer whose biases are all frozen.
        self._live: NDArray[np.bool_] | None = None
        self._frozen_bias = [False] * len(layers)
        # Shared parameters: flat indices of every use, grouped by parameter,
        # and the group of each; `_live_shared` is the same for unfrozen ones.
        self._shared: tuple[NDArray[np.intp], NDArray[np.intp], int] | None = None
        self._live_shared: tuple[NDArray[np.intp], NDArray[np.intp], int] | None = None
        if problem.freeze or any(layer.named_by_author for layer in layers):
            self._prepare_parameters()
        self.sample_offset = 0  # index of the current batch's first sample
        self._batches: list[tuple[int, int]] | None = None
        if problem.batch_size is not None and problem.batch_size < problem.n_samples:
            self._batches = [(r.start, r.stop) for r in
                             (problem.batch(b + 1) for b in range(problem.batches_per_epoch))]
        self._updater: Updater | None = None
        self.state: dict[str, Array] = {}  # the optimizer's v, m, s… (flat, like params)
        # the parameters before the step's update, kept when a change.<param> is recorded
        self.previous: Array | None = None
        self._perceptron = problem.perceptron  # read once: the backward pass is hot
        if problem.optimizer.name != "sgd" or problem.weight_decay or problem.round is not None:
            self._make_updater()

    def _make_updater(self) -> None:
        problem = self.problem
        decay = None
        if problem.weight_decay:
            decay = np.zeros(self.params.size)  # λ at every weight, biases not decayed
            for at, layer in zip(self._w_at, problem.layers, strict=True):
                decay[at:at + layer.weights.size] = problem.weight_decay
        self._updater = Updater(problem.optimizer, self.lr, self.params.size, self._live, decay,
                                problem.round)
        self.state = self._updater.state

    def _use_samples(self, start: int, stop: int, passes: dict[int, Pass]) -> Pass:
        """Make rows start:stop of the data the current batch; its pass buffers."""
        problem = self.problem
        self.x = problem.inputs[start:stop]
        self.y = problem.targets[start:stop]
        self.sample_offset = start
        self.scale = 1.0 / (stop - start) if problem.reduction == "mean" else 1.0
        n = stop - start
        if n not in passes:
            passes[n] = self.new_pass(n)
        return passes[n]

    def _weight_views(self, flat: Array) -> list[Array]:
        return [flat[at:at + layer.weights.size].reshape(layer.weights.shape)
                for at, layer in zip(self._w_at, self.problem.layers, strict=True)]

    def _bias_views(self, flat: Array) -> list[Array | None]:
        return [None if layer.bias is None else flat[at:at + layer.size]
                for at, layer in zip(self._b_at, self.problem.layers, strict=True)]

    def _flat_index(self, layer: int, row: int, col: int) -> int:
        if col < 0:
            return self._b_at[layer] + row
        return self._w_at[layer] + row * self.problem.layers[layer].weights.shape[1] + col

    def _prepare_parameters(self) -> None:
        groups: list[list[int]] = []
        live_groups: list[list[int]] = []
        frozen: list[int] = []
        flat_index = self._flat_index
        for param in self.problem.parameters.values():
            if len(param.uses) == 1 and not param.frozen:
                continue  # most parameters: nothing to prepare
            index = [flat_index(u.layer, u.row, u.col) for u in param.uses]
            if len(index) > 1:
                groups.append(index)
                if not param.frozen:
                    live_groups.append(index)
            if param.frozen:
                frozen += index
        if frozen:
            live = np.ones(self.params.size, dtype=bool)
            live[frozen] = False
            self._live = live
            for li, layer in enumerate(self.problem.layers):
                if layer.bias is not None:
                    at = self._b_at[li]
                    self._frozen_bias[li] = not live[at:at + layer.size].any()
        self._shared = self._group_arrays(groups)
        self._live_shared = self._group_arrays(live_groups)

    @staticmethod
    def _group_arrays(groups: list[list[int]]
                      ) -> tuple[NDArray[np.intp], NDArray[np.intp], int] | None:
        if not groups:
            return None
        index = np.array([i for group in groups for i in group], dtype=np.intp)
        group = np.array([g for g, members in enumerate(groups) for _ in members], dtype=np.intp)
        return index, group, len(groups)

    # ------------------------------------------------------------------ passes

    def new_pass(self, n: int | None = None) -> Pass:
        """Empty buffers for one pass of ``n`` samples (default: all); :meth:`run` fills
        the same ones every step."""
        n = self.problem.n_samples if n is None else n
        shapes = [(n, layer.size) for layer in self.problem.layers]
        grad = np.zeros(self.params.size)
        return Pass(
            z=[np.empty(shape) for shape in shapes],
            a=[np.empty(shape) for shape in shapes],
            dadz=[np.ones(shape) if act.name == "identity" else np.empty(shape)
                  for shape, act in zip(shapes, self.activations, strict=True)],
            sample_losses=np.empty(n),
            loss=math.nan,
            grad_a=[np.empty(shape) for shape in shapes],
            grad_z=[np.empty(shape) for shape in shapes],
            grad_w=self._weight_views(grad),
            grad_b=self._bias_views(grad),
            grad=grad,
            scratch=np.empty(self.params.size),
            work=[np.empty(shape) for shape in shapes],
        )

    def forward(self, p: Pass | None = None, derivatives: bool = True) -> Pass:
        """The forward pass and the loss, into ``p`` (new buffers by default).

        ``derivatives``: also f'(z) of every layer, which the backward pass needs.
        """
        if p is None:
            p = self.new_pass()
        zs, activations, dadz, work = p.z, p.a, p.dadz, p.work
        a = self.x
        for li, (w, b, act) in enumerate(zip(self.weights, self.biases, self.activations,
                                             strict=True)):
            z = np.matmul(a, w.T, out=zs[li])
            if b is not None:
                np.add(z, b, out=z)
            name = act.name
            if name == "sigmoid":
                a = _sigmoid_into(z, activations[li], work[li])
                if derivatives:
                    _sigmoid_derivative_into(a, dadz[li])  # type: ignore[arg-type]
            elif name == "identity":  # f' = 1: dadz holds ones from new_pass
                a = activations[li] = z
            elif name == "tanh":
                a = np.tanh(z, out=activations[li])
                if derivatives:
                    _tanh_derivative_into(a, dadz[li])  # type: ignore[arg-type]
            else:
                a = activations[li] = act.forward(z)
                if derivatives:
                    dadz[li] = None if act.per_layer else act.derivative(z, a)
        if self.loss.name == "half_squared_error":
            sample_losses = _half_squared_error_into(a, self.y, p.sample_losses, work[-1])
        else:
            sample_losses = p.sample_losses = self.loss.per_sample(z, a, self.y,
                                                                   self.output_activation)
        # a sum of one sample is that sample: skip the reduction (same number)
        total = sample_losses[0] if sample_losses.shape[0] == 1 else sample_losses.sum()
        p.loss = float(total) if self.scale == 1.0 else float(total * self.scale)
        return p

    def backward(self, p: Pass, record: bool = True) -> None:
        """Gradients into ``p`` (after :meth:`forward` on it).

        ``record=False`` skips what only a recording reads: ∂L/∂a of the output
        when loss and activation combine, the gradients of frozen biases and the
        sums over frozen shared parameters.
        """
        weights, scale = self.weights, self.scale
        grad_a, grad_z, grad_w, grad_b = p.grad_a, p.grad_z, p.grad_w, p.grad_b
        out = len(weights) - 1
        z_out, a_out = p.z[out], p.a[out]
        delta = self.loss.combined_delta(a_out, self.y, self.output_activation)
        ga = grad_a[out]
        if record or delta is None:
            ga = grad_a[out] = self.loss.grad_a(z_out, a_out, self.y, self.output_activation)
        for li in range(out, -1, -1):
            if self._perceptron and li == out:
                # the perceptron rule: δ = y − t whatever the loss, the step's f' = 0 left out
                delta = np.subtract(p.a[li], self.y, out=grad_z[li])
            elif li != out or delta is None:
                d = p.dadz[li]
                if d is None:  # softmax: δ = a ⊙ (g − Σ g⊙a)
                    a = p.a[li]
                    delta = a * (ga - np.add.reduce(ga * a, axis=1, keepdims=True))
                else:
                    delta = np.multiply(ga, d, out=grad_z[li])
            grad_z[li] = delta
            below = self.x if li == 0 else p.a[li - 1]
            gw = np.matmul(delta.T, below, out=grad_w[li])
            if scale != 1.0:
                np.multiply(gw, scale, out=gw)
            gb = grad_b[li]
            if gb is not None and (record or not self._frozen_bias[li]):
                np.add.reduce(delta, axis=0, out=gb)
                if scale != 1.0:
                    np.multiply(gb, scale, out=gb)
            if li > 0:
                ga = np.matmul(delta, weights[li], out=grad_a[li - 1])
            delta = None
        shared = self._shared if record else self._live_shared
        if shared is not None:
            # every use of a shared parameter gets the sum over its uses
            index, group, count = shared
            grad = p.grad
            grad[index] = np.bincount(group, weights=grad[index], minlength=count)[group]

    def update(self, p: Pass) -> None:
        """One update of every unfrozen parameter, by the problem's optimizer."""
        if self._updater is not None:
            self._updater.step(self.params, p.grad)
            return
        step = np.multiply(p.grad, self.lr, out=p.scratch)
        if self._live is None:
            np.subtract(self.params, step, out=self.params)
        else:
            np.subtract(self.params, step, out=self.params, where=self._live)

    # --------------------------------------------------------------------- run

    @_quiet_numpy
    def run(self, recorder: Recorder | None = None, steps: int | None = None,
            until_loss: float | None = None,
            on_step: Callable[[int, float], None] | None = None) -> Solution:
        """Run ``steps`` updates (default: the problem's) and a final forward pass."""
        recorder = recorder or Recorder()
        problem = self.problem
        steps = problem.steps if steps is None else steps
        losses = np.empty(steps + 1)
        misclassified = np.zeros(steps) if problem.perceptron and problem.epochs else None
        take: _ByPattern | _DirectKeys = (
            _ByPattern(self, recorder) if recorder.exact is None else _DirectKeys(self, recorder))
        take.data()
        stopped = None
        step = 0
        p = self.new_pass()
        isfinite = math.isfinite
        batches, passes = self._batches, {problem.n_samples: p}
        for step in range(1, max(steps, 1) + 1):
            if batches is not None:
                p = self._use_samples(*batches[(step - 1) % len(batches)], passes)
            self.forward(p)
            loss = p.loss
            if not isfinite(loss):
                self._check_finite(loss, step, "loss", p)
            if step <= steps:
                losses[step - 1] = loss
                if misclassified is not None:  # judged before this step's update
                    misclassified[step - 1] = np.count_nonzero(
                        np.any(p.a[-1] != self.y, axis=1))
            if until_loss is not None and loss <= until_loss:
                # reached before this update: the state stays the one that reached it
                stopped = f"loss {loss:.6g} reached {until_loss:g} after {step - 1} updates"
                step -= 1
                break
            wanted, full = take.needs(step)
            if wanted:
                take.before_backward(step)
            self.backward(p, record=full)
            if wanted:
                take.after_backward(step, p)
            if step > steps:  # steps == 0: one forward/backward, no update
                step = 0
                break
            if self.previous is not None and wanted:
                np.copyto(self.previous, self.params)
            self.update(p)
            if wanted:
                take.after_update(step, p)
            if on_step is not None:
                on_step(step, loss)
        steps_run = step
        if batches is not None:  # the final pass covers every sample
            p = self._use_samples(0, problem.n_samples, passes)
        want_final, derivatives = take.final_needs()
        final = self.forward(p, derivatives=derivatives)
        self._check_finite(final.loss, steps_run + 1, "loss after the last update", final)
        losses[steps_run] = final.loss
        if want_final:
            take.final(final)
        if problem.epochs and steps_run == steps:
            self._record_epochs(recorder, losses, misclassified)
        self._record_predictions(recorder, final)
        return Solution(problem, recorder.values, losses[: steps_run + 1], steps_run, stopped)

    def _record_predictions(self, recorder: Recorder, final: Pass) -> None:
        """final.accuracy on the samples, and with `predict:` rows their z and a with the
        final parameters (predict.z.<unit>@k, predict.a.<unit>@k) and predict.accuracy."""
        problem = self.problem
        named = any("accuracy" in pattern or "predict" in pattern
                    for pattern in recorder.patterns)
        if not (problem.lists_accuracy or named):
            return
        if not problem.loss.given:  # loss: none has no targets to classify against
            right = problem.classes(final.a[-1]) == problem.classes(problem.targets)
            recorder.add(value_key("accuracy", step=None), float(np.mean(right)))
        inputs = problem.predict_inputs
        if inputs is None:
            return
        n = inputs.shape[0]
        targets = problem.predict_targets
        saved = self.x, self.y
        self.x = inputs
        self.y = targets if targets is not None else np.zeros((n, problem.output_layer.size))
        try:
            p = self.forward(self.new_pass(n), derivatives=False)
        finally:
            self.x, self.y = saved
        units = [u for layer in problem.layers for u in layer.units]
        zs = np.concatenate(p.z, axis=1).tolist()
        activations = np.concatenate(p.a, axis=1).tolist()
        for k in range(n):
            suffix = suffix_for(k)
            for unit, z, a in zip(units, zs[k], activations[k], strict=True):
                recorder.add(compose("", "predict.z", unit, suffix), z)
                recorder.add(compose("", "predict.a", unit, suffix), a)
        if targets is not None:
            right = problem.classes(p.a[-1]) == problem.classes(targets)
            recorder.add(value_key("predict.accuracy"), float(np.mean(right)))

    def _record_epochs(self, recorder: Recorder, losses: Array,
                       misclassified: Array | None) -> None:
        """epoch<k>.loss (the mean of the epoch's step losses, before each update, as Keras
        prints it), epoch<k>.loss_sum (their sum) and the perceptron's epoch<k>.errors."""
        size = self.problem.batches_per_epoch
        if self.problem.loss.given:
            return  # loss: none: no epoch losses
        for k, (mean, total) in enumerate(epoch_losses(losses, size, self.problem.epochs_run,
                                                        self.problem.round), start=1):
            recorder.add(epoch_key("epoch.loss", k), mean)
            recorder.add(epoch_key("epoch.loss_sum", k), total)
            if misclassified is not None:
                recorder.add(epoch_key("epoch.errors", k),
                             float(misclassified[(k - 1) * size:k * size].sum()))

    def input_gradient(self, p: Pass) -> Array:
        """∂L_k/∂x of every input for every sample of the pass (after :meth:`backward`):
        the lowest layer's δ times its weights, as ∂L/∂a of a hidden layer."""
        return np.matmul(p.grad_z[0], self.weights[0])

    def parameter_change(self) -> Array:
        """new − old of every parameter in the last update (flat, like ``params``)."""
        assert self.previous is not None
        return self.params - self.previous

    def keep_previous(self) -> None:
        """Keep the parameters before each update (for ``change.<param>``)."""
        if self.previous is None:
            self.previous = np.empty(self.params.size)

    def _check_finite(self, loss: float, step: int, what: str, p: Pass | None = None) -> None:
        if math.isfinite(loss):
            return
        # only now, with something already wrong, look for what overflowed first
        raise numeric_error(self, step, final=what != "loss", p=p)

    # --------------------------------------------------------------- recording

    def _record_data(self, recorder: Recorder) -> None:
        problem = self.problem
        for k in range(problem.n_samples):
            suffix = problem.sample_suffix(k)
            for j, key in enumerate(keys_of("", "input", problem.input_names, suffix)):
                recorder.add(key, self.x[k, j])
            for j, key in enumerate(keys_of("", "target", problem.output_names, suffix)):
                recorder.add(key, self.y[k, j])

    def _record_update(self, recorder: Recorder, prefix: str) -> None:
        """The optimizer's values of this step (``v.``, ``m.``…), then ``new.`` (and
        ``change.``, new − old, when asked for)."""
        for kind, flat in self.state.items():
            self._record_params(recorder, prefix, flat, named_kind(kind))
        self._record_params(recorder, prefix, kind="new")
        if self.previous is not None and "change" in self.conventions(recorder):
            self._record_params(recorder, prefix, self.parameter_change(), "change")

    def conventions(self, recorder: Recorder) -> frozenset[str]:
        """The convention kinds (error, change, grad.input) to record: those the file
        uses, and those a recorder's pattern names (``error.*``); a pattern such as
        ``grad.*`` alone does not bring them in."""
        named = {kind for kind in CONVENTION_KINDS
                 if any(head(kind) in pattern for pattern in recorder.patterns)}
        return self.problem.shown_kinds | named

    def _record_params(self, recorder: Recorder, prefix: str, flat: Array | None = None,
                       kind: KeyKind = "param") -> None:
        """Every parameter's value, or its entry of ``flat`` (an array like ``params``)."""
        if not recorder.may_match_name(stem(prefix, kind)):
            return
        weights = self.weights if flat is None else self._weight_views(flat)
        biases = self.biases if flat is None else self._bias_views(flat)
        recorder.add_many(self._param_items(prefix, kind, weights, biases))

    def _param_items(self, prefix: str, kind: KeyKind, weights: list[Array],
                     biases: list[Array | None]) -> list[tuple[str, float]]:
        """(key, value) of every parameter, once per name, in network order."""
        # .tolist() once per array: indexing NumPy element by element costs more
        names: list[str] = []
        values: list[float] = []
        seen: set[str] = set()
        for layer, w, b in zip(self.problem.layers, weights, biases, strict=True):
            for row_names, row in zip(layer.weight_names, w.tolist(), strict=True):
                for name, value in zip(row_names, row, strict=True):
                    if name not in seen:
                        seen.add(name)
                        names.append(name)
                        values.append(value)
            if b is not None and layer.bias_names is not None:
                for name, value in zip(layer.bias_names, b.tolist(), strict=True):
                    if name not in seen:
                        seen.add(name)
                        names.append(name)
                        values.append(value)
        return list(zip(keys_of(prefix, kind, names), values, strict=True))

    def _record_pass(self, recorder: Recorder, prefix: str, p: Pass, backward: bool) -> None:
        problem = self.problem
        # k counts the samples of this pass; keys name a sample by its place in the data
        samples = [problem.sample_suffix(self.sample_offset + k) for k in range(self.x.shape[0])]
        units = recorder.may_match(prefix, *map(head, UNIT_KINDS))
        items: list[tuple[str, float]] = []
        add = items.append
        for li, layer in enumerate(problem.layers if units else ()):
            # .tolist() once per array: indexing NumPy element by element costs more;
            # unit by unit: z, a, f'(z), ∂L/∂a, ∂L/∂z (the arrays the pass has)
            arrays = [p.z[li], p.a[li], p.dadz[li], *((p.grad_a[li], p.grad_z[li])
                                                       if backward else ())]
            kinds = [kind for kind, array in zip(UNIT_KINDS, arrays, strict=False)
                     if array is not None]  # strict=False: no ∂L/∂a, ∂L/∂z when forward
            rows = [array.tolist() for array in arrays if array is not None]
            block = keys_by_name(prefix, kinds, layer.units)  # one sample's keys
            for k, suffix in enumerate(samples):
                values = [value for unit in zip(*(row[k] for row in rows), strict=True)
                          for value in unit]
                items += zip(for_sample(block, suffix), values, strict=True)
        if backward:
            conventions = self.conventions(recorder)
            if "error" in conventions:
                for li, layer in enumerate(problem.layers):
                    rows = (-p.grad_z[li]).tolist()
                    block = keys_of(prefix, "error", layer.units)
                    for k, suffix in enumerate(samples):
                        items += zip(for_sample(block, suffix), rows[k], strict=True)
            if "grad.input" in conventions:
                rows = self.input_gradient(p).tolist()
                block = keys_of(prefix, "grad.input", problem.input_names)
                for k, suffix in enumerate(samples):
                    items += zip(for_sample(block, suffix), rows[k], strict=True)
        if problem.loss.given:
            pass  # loss: none has no loss keys
        elif problem.has_samples and recorder.may_match(prefix, compose("", "loss", "", "@")):
            for suffix, value in zip(samples, p.sample_losses.tolist(), strict=True):
                add((compose(prefix, "loss", "", suffix), value))
        if not problem.loss.given:
            add((compose(prefix, "loss"), p.loss))
        grads = stem(prefix, "grad")
        if backward and recorder.may_match_name(grads):
            items += self._param_items(prefix, "grad", p.grad_w, p.grad_b)
        recorder.add_many(items)
        if not backward or not recorder.may_match_name(grads):
            return
        if problem.has_samples:
            self._record_sample_param_grads(recorder, prefix, p, samples)

    def _record_sample_param_grads(self, recorder: Recorder, prefix: str, p: Pass,
                                   samples: list[str]) -> None:
        """grad.<param>@k: sample k's own gradient (the batch's is their mean or sum)."""
        for name, param in self.problem.parameters.items():
            for k, suffix in enumerate(samples):
                key = compose(prefix, "grad", name, suffix)
                if recorder.wants(key):
                    recorder.add(key, self._sample_gradient(p, param, k))

    def _sample_gradient(self, p: Pass, param: Parameter, k: int) -> float:
        """Row ``k`` of the pass's own part of ``param``'s gradient."""
        if p.sample_grad is not None:  # computed (and rounded) by the pass
            first = param.uses[0]
            return float(p.sample_grad[k, self._flat_index(first.layer, first.row, first.col)])
        total = 0.0
        for use in param.uses:
            delta = p.grad_z[use.layer][k, use.row]
            if use.is_bias:
                total += delta
            else:
                below = self.x if use.layer == 0 else p.a[use.layer - 1]
                total += delta * below[k, use.col]
        return float(total)


class _ByPattern:
    """How :meth:`Engine.run` records for any recorder: each group of keys is formatted
    when a pattern may match it, and the recorder keeps the matching keys.

    :meth:`needs` says whether a step records at all, and whether its backward
    pass must compute what only a record reads (see :meth:`Engine.backward`).
    """

    def __init__(self, engine: Engine, recorder: Recorder) -> None:
        self.engine = engine
        self.recorder = recorder
        self.later_steps = recorder.may_want_later_steps()
        if "change" in engine.conventions(recorder):
            engine.keep_previous()

    def data(self) -> None:
        if self.recorder.wants_prefix(head("input")) or self.recorder.wants_prefix(head("target")):
            self.engine._record_data(self.recorder)

    def needs(self, step: int) -> tuple[bool, bool]:
        wanted = (step == 1 or self.later_steps) and self.recorder.wants_prefix(
            prefix_for(step))
        return wanted, wanted

    def before_backward(self, step: int) -> None:
        self.engine._record_params(self.recorder, prefix_for(step))

    def after_backward(self, step: int, p: Pass) -> None:
        self.engine._record_pass(self.recorder, prefix_for(step), p, backward=True)

    def after_update(self, step: int, p: Pass) -> None:
        self.engine._record_update(self.recorder, prefix_for(step))

    def final_needs(self) -> tuple[bool, bool]:
        """(record the final pass, compute its f'(z))."""
        wanted = self.recorder.wants_prefix(prefix_for(None))
        return wanted, wanted

    def final(self, p: Pass) -> None:
        self.engine._record_params(self.recorder, prefix_for(None))
        self.engine._record_pass(self.recorder, prefix_for(None), p, backward=False)


# kinds recorded at the end of a run (Engine._record_predictions), not by _DirectKeys
_AT_THE_END = ("predict.z", "predict.a", "accuracy", "predict.accuracy")

# KeyParts.kind -> the Pass attribute that holds it, for the values of units
_UNIT_ARRAYS = {"z": "z", "a": "a", "dadz": "dadz", "grad.a": "grad_a", "grad.z": "grad_z"}


class _DirectKeys:
    """Whole keys (a check's expected keys), read straight from the engine's arrays.

    Formatting every key of a step to keep a few costs more than the step itself
    on a small network. Instead, each key is parsed once (keys.parse_key) and
    read where the engine keeps its value, at the moment :class:`_ByPattern`
    would record it: data at the start; a step's values after its backward pass,
    ``before`` its update; its ``new.`` and optimizer values ``after`` the update;
    ``final.`` after the final pass (``before[None]``). Both give the same
    numbers, bit for bit (tests/engine/test_hot_path.py).
    """

    def __init__(self, engine: Engine, recorder: Recorder) -> None:
        assert recorder.exact is not None
        self.engine = engine
        self.values = recorder.values
        problem = engine.problem
        self.data_keys: list[tuple[str, KeyParts]] = []
        self.before: dict[int | None, list[tuple[str, KeyParts]]] = {}
        self.after: dict[int | None, list[tuple[str, KeyParts]]] = {}
        updated = {"new", "change", *problem.optimizer.kinds}
        expected = problem.expected
        for key in recorder.exact:
            entry = expected.get(key)  # a check's keys: parsed by the loader already
            parts = entry.parts if entry is not None and entry.parts else parse_key(key, problem)
            if parts is None or parts.kind in EPOCH_KINDS or parts.kind in _AT_THE_END:
                continue  # no key of this problem; epochs, predictions: at the end of run
            if parts.kind == "change":
                engine.keep_previous()
            if parts.kind in ("input", "target"):
                self.data_keys.append((key, parts))
            else:
                group = self.after if parts.kind in updated else self.before
                group.setdefault(parts.step, []).append((key, parts))
        self.steps = set(self.before) | set(self.after)
        self.units = problem.unit_places

    def data(self) -> None:
        self._take(None, self.data_keys)

    def needs(self, step: int) -> tuple[bool, bool]:
        """Whether ``step`` has keys, and whether one needs what :meth:`Engine.backward`
        computes only for a record: ∂L/∂a of the output layer (loss and activation
        combined) or the gradient of a frozen parameter (frozen biases, frozen sums)."""
        if step not in self.steps:
            return False, False
        problem = self.engine.problem
        places = problem.unit_places
        last = len(problem.layers) - 1
        for _, parts in self.before.get(step, ()):
            if parts.kind == "grad.a" and places[parts.name][0] == last:
                return True, True
            if parts.kind == "grad" and problem.parameters[parts.name].frozen:
                return True, True
        return True, False

    def before_backward(self, step: int) -> None:
        pass  # a step's parameters are read after its backward pass, before its update

    def after_backward(self, step: int, p: Pass) -> None:
        self._take(p, self.before.get(step))

    def after_update(self, step: int, p: Pass) -> None:
        self._take(p, self.after.get(step))

    def final_needs(self) -> tuple[bool, bool]:
        """(record the final pass, compute its f'(z): only for a ``final.dadz`` key)."""
        final = self.before.get(None, ())
        return bool(final), any(parts.kind == "dadz" for _, parts in final)

    def final(self, p: Pass) -> None:
        self._take(p, self.before.get(None))

    def _take(self, p: Pass | None, entries: list[tuple[str, KeyParts]] | None) -> None:
        for key, parts in entries or ():
            self.values[key] = self.value(parts, p)

    def value(self, parts: KeyParts, p: Pass | None) -> float:
        engine = self.engine
        problem = engine.problem
        kind, name, sample = parts.kind, parts.name, parts.sample
        if kind == "input" or kind == "target":
            data, names = ((problem.inputs, problem.input_names) if kind == "input"
                           else (problem.targets, problem.output_names))
            return float(data[sample or 0, names.index(name)])
        assert p is not None
        row = 0 if sample is None else sample - engine.sample_offset  # its row in this pass
        if kind in _UNIT_ARRAYS:
            li, j = self.units[name]
            return float(getattr(p, _UNIT_ARRAYS[kind])[li][row, j])
        if kind == "loss":
            return p.loss if sample is None else float(p.sample_losses[row])
        if kind == "error":
            li, j = self.units[name]
            return float(-p.grad_z[li][row, j])
        if kind == "grad.input":
            return float(engine.input_gradient(p)[row, problem.input_names.index(name)])
        param = problem.parameters[name]
        if kind == "grad" and sample is not None:
            return engine._sample_gradient(p, param, row)
        use = param.uses[0]  # a shared parameter has the same value at every use
        flat = engine._flat_index(use.layer, use.row, use.col)
        if kind == "grad":
            return float(p.grad[flat])
        if kind == "param" or kind == "new":  # before the update, or after it
            return float(engine.params[flat])
        if kind == "change":
            return float(engine.parameter_change()[flat])
        return float(engine.state[kind][flat])  # the optimizer's v, m, s…
