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
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from backprop_cli.errors import NumericError
from backprop_cli.keys import prefix_for
from backprop_cli.problem import Problem

Array = NDArray[np.float64]


@dataclass
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


class Recorder:
    """Decides which keys to keep; by default every key of every step."""

    def __init__(self, patterns: Iterable[str] | None = None) -> None:
        self.patterns = list(patterns) if patterns else []
        self.values: dict[str, float] = {}
        if self.patterns:
            regex = "|".join(f"(?:{fnmatch.translate(p)})" for p in self.patterns)
            self._match: Callable[[str], object] = re.compile(regex).match
            self._literal_prefixes = [re.split(r"[*?\[]", p, maxsplit=1)[0]
                                      for p in self.patterns]
        else:
            self._match = lambda key: True
            self._literal_prefixes = [""]

    def wants_prefix(self, prefix: str) -> bool:
        """Whether any pattern can match a key that starts with ``prefix``."""
        if prefix == "":
            # step-1 keys start with anything but "step<k>." or "final."
            return any(not (lit.startswith("final.") or re.match(r"step\d+\.", lit))
                       for lit in self._literal_prefixes)
        return any(lit.startswith(prefix) or prefix.startswith(lit)
                   for lit in self._literal_prefixes)

    def wants(self, key: str) -> bool:
        return bool(self._match(key))

    def add(self, key: str, value: float) -> None:
        if self._match(key):
            self.values[key] = float(value)


@dataclass
class Solution:
    """What a run produced: the recorded values and the loss of every step."""

    problem: Problem
    values: dict[str, float]
    losses: Array  # losses[s] = loss before update s+1; the last entry is final.loss
    steps_run: int
    stopped: str | None = None  # a reason, when the run ended early


class Engine:
    """Runs gradient descent on a problem's network, in place on copies of its arrays."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.weights = [layer.weights.copy() for layer in problem.layers]
        self.biases = [None if layer.bias is None else layer.bias.copy()
                       for layer in problem.layers]
        self.x = problem.inputs
        self.y = problem.targets
        self.scale = 1.0 / problem.n_samples if problem.reduction == "mean" else 1.0
        self.lr = problem.learning_rate
        self.loss = problem.loss
        self.activations = [layer.activation for layer in problem.layers]
        self.output_activation = self.activations[-1].name
        self._masks_w: list[Array | None] = [None] * len(problem.layers)
        self._masks_b: list[Array | None] = [None] * len(problem.layers)
        self._shared: list[list[tuple[int, int, int]]] = []
        if problem.freeze or any(layer.named_by_author for layer in problem.layers):
            self._prepare_parameters()

    def _prepare_parameters(self) -> None:
        problem = self.problem
        for name, param in problem.parameters.items():
            if len(param.uses) > 1:
                self._shared.append([(u.layer, u.row, u.col) for u in param.uses])
            if not param.frozen:
                continue
            for use in param.uses:
                if use.is_bias:
                    mask = self._masks_b[use.layer]
                    if mask is None:
                        size = problem.layers[use.layer].size
                        mask = self._masks_b[use.layer] = np.ones(size)
                    mask[use.row] = 0.0
                else:
                    mask = self._masks_w[use.layer]
                    if mask is None:
                        shape = problem.layers[use.layer].weights.shape
                        mask = self._masks_w[use.layer] = np.ones(shape)
                    mask[use.row, use.col] = 0.0
            del name

    # ------------------------------------------------------------------ passes

    def forward(self) -> Pass:
        zs: list[Array] = []
        activations: list[Array] = []
        dadz: list[Array | None] = []
        a = self.x
        for w, b, act in zip(self.weights, self.biases, self.activations, strict=True):
            z = a @ w.T
            if b is not None:
                z += b
            a = act.forward(z)
            zs.append(z)
            activations.append(a)
            dadz.append(None if act.per_layer else act.derivative(z, a))
        sample_losses = self.loss.per_sample(zs[-1], a, self.y, self.output_activation)
        loss = float(sample_losses.sum() * self.scale)
        return Pass(zs, activations, dadz, sample_losses, loss)

    def backward(self, p: Pass) -> None:
        layers = len(self.weights)
        grad_a: list[Array] = [np.empty(0)] * layers
        grad_z: list[Array] = [np.empty(0)] * layers
        grad_w: list[Array] = [np.empty(0)] * layers
        grad_b: list[Array | None] = [None] * layers
        out = layers - 1
        ga = self.loss.grad_a(p.z[out], p.a[out], self.y, self.output_activation)
        grad_a[out] = ga
        delta = self.loss.combined_delta(p.a[out], self.y, self.output_activation)
        for li in range(out, -1, -1):
            if li != out or delta is None:
                d = p.dadz[li]
                if d is None:  # softmax: δ = a ⊙ (g − Σ g⊙a)
                    a = p.a[li]
                    delta = a * (ga - np.sum(ga * a, axis=1, keepdims=True))
                else:
                    delta = ga * d
            grad_z[li] = delta
            below = self.x if li == 0 else p.a[li - 1]
            grad_w[li] = (delta.T @ below) * self.scale
            if self.biases[li] is not None:
                grad_b[li] = delta.sum(axis=0) * self.scale
            if li > 0:
                ga = delta @ self.weights[li]
                grad_a[li - 1] = ga
            delta = None
        for uses in self._shared:
            total = sum(self._grad_at(grad_w, grad_b, use) for use in uses)
            for use in uses:
                self._set_grad(grad_w, grad_b, use, total)
        p.grad_a, p.grad_z, p.grad_w, p.grad_b = grad_a, grad_z, grad_w, grad_b

    @staticmethod
    def _grad_at(grad_w: list[Array], grad_b: list[Array | None],
                 use: tuple[int, int, int]) -> float:
        layer, row, col = use
        if col < 0:
            gb = grad_b[layer]
            assert gb is not None
            return float(gb[row])
        return float(grad_w[layer][row, col])

    @staticmethod
    def _set_grad(grad_w: list[Array], grad_b: list[Array | None],
                  use: tuple[int, int, int], value: float) -> None:
        layer, row, col = use
        if col < 0:
            gb = grad_b[layer]
            assert gb is not None
            gb[row] = value
        else:
            grad_w[layer][row, col] = value

    def update(self, p: Pass) -> None:
        lr = self.lr
        for li, w in enumerate(self.weights):
            gw = p.grad_w[li]
            mask = self._masks_w[li]
            w -= lr * gw if mask is None else lr * gw * mask
            b = self.biases[li]
            if b is not None:
                gb = p.grad_b[li]
                assert gb is not None
                mask_b = self._masks_b[li]
                b -= lr * gb if mask_b is None else lr * gb * mask_b

    # --------------------------------------------------------------------- run

    def run(self, recorder: Recorder | None = None, steps: int | None = None,
            until_loss: float | None = None,
            on_step: Callable[[int, float], None] | None = None) -> Solution:
        """Run ``steps`` updates (default: the problem's) and a final forward pass."""
        recorder = recorder or Recorder()
        problem = self.problem
        steps = problem.steps if steps is None else steps
        losses = np.empty(steps + 1)
        record_data = recorder.wants_prefix("input.") or recorder.wants_prefix("target.")
        if record_data:
            self._record_data(recorder)
        stopped = None
        step = 0
        for step in range(1, max(steps, 1) + 1):
            p = self.forward()
            self._check_finite(p.loss, step, "loss")
            if step <= steps:
                losses[step - 1] = p.loss
            prefix = prefix_for(step)
            wanted = recorder.wants_prefix(prefix)
            if wanted:
                self._record_params(recorder, prefix)
            self.backward(p)
            if wanted:
                self._record_pass(recorder, prefix, p, backward=True)
            if step > steps:  # steps == 0: one forward/backward, no update
                step = 0
                break
            self.update(p)
            if wanted:
                self._record_params(recorder, prefix + "new.")
            if on_step is not None:
                on_step(step, p.loss)
            if until_loss is not None and p.loss <= until_loss:
                stopped = f"loss {p.loss:.6g} reached {until_loss:g} at step {step}"
                break
        steps_run = step
        final = self.forward()
        self._check_finite(final.loss, steps_run + 1, "loss after the last update")
        losses[steps_run] = final.loss
        if recorder.wants_prefix("final."):
            self._record_params(recorder, "final.")
            self._record_pass(recorder, "final.", final, backward=False)
        return Solution(problem, recorder.values, losses[: steps_run + 1], steps_run, stopped)

    def _check_finite(self, loss: float, step: int, what: str) -> None:
        if np.isfinite(loss):
            return
        params_finite = all(np.all(np.isfinite(w)) for w in self.weights) and all(
            b is None or np.all(np.isfinite(b)) for b in self.biases)
        if not params_finite:
            raise NumericError(
                f"the parameters overflowed before step {step}: gradient descent diverged "
                f"(learning rate {self.lr:g} is too large for this problem)", step)
        raise NumericError(f"the {what} at step {step} is not a finite number "
                           "(overflow, or the log of 0)", step)

    # --------------------------------------------------------------- recording

    def _record_data(self, recorder: Recorder) -> None:
        problem = self.problem
        for k in range(problem.n_samples):
            suffix = problem.sample_suffix(k)
            for j, name in enumerate(problem.input_names):
                recorder.add(f"input.{name}{suffix}", self.x[k, j])
            for j, name in enumerate(problem.output_names):
                recorder.add(f"target.{name}{suffix}", self.y[k, j])

    def _record_params(self, recorder: Recorder, prefix: str) -> None:
        problem = self.problem
        seen: set[str] = set()
        for li, layer in enumerate(problem.layers):
            w = self.weights[li]
            for row, names in enumerate(layer.weight_names):
                for col, name in enumerate(names):
                    if name not in seen:
                        seen.add(name)
                        recorder.add(prefix + name, w[row, col])
            b = self.biases[li]
            if b is not None and layer.bias_names is not None:
                for row, name in enumerate(layer.bias_names):
                    if name not in seen:
                        seen.add(name)
                        recorder.add(prefix + name, b[row])

    def _record_pass(self, recorder: Recorder, prefix: str, p: Pass, backward: bool) -> None:
        problem = self.problem
        samples = [problem.sample_suffix(k) for k in range(problem.n_samples)]
        for li, layer in enumerate(problem.layers):
            for k, suffix in enumerate(samples):
                for j, unit in enumerate(layer.units):
                    recorder.add(f"{prefix}z.{unit}{suffix}", p.z[li][k, j])
                    recorder.add(f"{prefix}a.{unit}{suffix}", p.a[li][k, j])
                    d = p.dadz[li]
                    if d is not None:
                        recorder.add(f"{prefix}dadz.{unit}{suffix}", d[k, j])
                    if backward:
                        recorder.add(f"{prefix}grad.a.{unit}{suffix}", p.grad_a[li][k, j])
                        recorder.add(f"{prefix}grad.z.{unit}{suffix}", p.grad_z[li][k, j])
        if problem.has_samples:
            for k, suffix in enumerate(samples):
                recorder.add(f"{prefix}loss{suffix}", p.sample_losses[k])
        recorder.add(f"{prefix}loss", p.loss)
        if not backward:
            return
        seen: set[str] = set()
        for li, layer in enumerate(problem.layers):
            gw = p.grad_w[li]
            for row, names in enumerate(layer.weight_names):
                for col, name in enumerate(names):
                    if name not in seen:
                        seen.add(name)
                        recorder.add(f"{prefix}grad.{name}", gw[row, col])
            gb = p.grad_b[li]
            if gb is not None and layer.bias_names is not None:
                for row, name in enumerate(layer.bias_names):
                    if name not in seen:
                        seen.add(name)
                        recorder.add(f"{prefix}grad.{name}", gb[row])
        if problem.has_samples:
            self._record_sample_param_grads(recorder, prefix, p, samples)

    def _record_sample_param_grads(self, recorder: Recorder, prefix: str, p: Pass,
                                   samples: list[str]) -> None:
        """grad.<param>@k: sample k's own gradient (the batch's is their mean or sum)."""
        problem = self.problem
        for name, param in problem.parameters.items():
            for k, suffix in enumerate(samples):
                key = f"{prefix}grad.{name}{suffix}"
                if not recorder.wants(key):
                    continue
                total = 0.0
                for use in param.uses:
                    delta = p.grad_z[use.layer][k, use.row]
                    if use.is_bias:
                        total += delta
                    else:
                        below = self.x if use.layer == 0 else p.a[use.layer - 1]
                        total += delta * below[k, use.col]
                recorder.add(key, total)


def solve(problem: Problem, patterns: Iterable[str] | None = None,
          steps: int | None = None) -> Solution:
    """Run a problem and record the keys matching ``patterns`` (all by default)."""
    return Engine(problem).run(Recorder(patterns), steps=steps)
