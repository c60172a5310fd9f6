"""Hand-calculation mode: the engine as a student with a calculator runs it.

With ``round: N`` (or ``backprop solve --round N``) every value is rounded to N
decimals when it is produced, and that rounded value is the one used from then
on: the starting parameters, z, a, f'(z), each sample's loss, the batch loss,
∂L/∂a, δ, each sample's gradient, the batch gradient, the optimizer's values
and the new parameters. The data (inputs, targets) are used as given. The
worked solution then matches a hand-written one digit for digit.

:class:`RoundingEngine` replaces the engine's forward and backward passes by
ones that compute each value from the same operands as its formula in
:mod:`backprop_cli.model.formulas` (which wraps every formula in
:class:`~backprop_cli.expr.Round`): the loss and ∂L/∂a from the rounded outputs
a (not from z, as the exact engine does for stability), δ as ∂L/∂a·f'(z) even
where loss and activation would cancel (except softmax with cross-entropy,
whose formula is δ = a − y), and a batch gradient as the mean (or sum) of the
rounded gradients of its samples. The checker's recomputation therefore
reproduces the engine's numbers exactly. Shapes are those of
:mod:`backprop_cli.engine.passes`; speed is not the point here (a hand calculation
has a handful of units), exactness is.
"""

from __future__ import annotations

import math

import numpy as np

from backprop_cli.engine.passes import Array, Engine, Pass
from backprop_cli.model.problem import Problem
from backprop_cli.rounding import round_array, round_value


class RoundingEngine(Engine):
    """The engine with every produced value rounded to ``problem.round`` decimals."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem)
        assert problem.round is not None
        self.decimals = problem.round
        # the starting parameters are written down rounded as well (e.g. from init)
        round_array(self.params, self.decimals, out=self.params)
        self._softmax_cross_entropy = (problem.loss.spec.softmax_delta
                                       and self.activations[-1].per_layer)
        self._shared_groups: list[list[int]] = [
            [self._flat_index(u.layer, u.row, u.col) for u in param.uses]
            for param in problem.parameters.values() if len(param.uses) > 1]

    def _round(self, values: Array) -> Array:
        return round_array(values, self.decimals, out=values)

    def forward(self, p: Pass | None = None, derivatives: bool = True) -> Pass:
        if p is None:
            p = self.new_pass(self.x.shape[0])
        a = self.x
        z = a
        for li, (w, b, act) in enumerate(zip(self.weights, self.biases, self.activations,
                                             strict=True)):
            z = a @ w.T
            if b is not None:
                z += b
            p.z[li] = z = self._round(z)
            p.a[li] = a = self._round(np.array(act.forward(z), dtype=np.float64))
            if act.per_layer:
                p.dadz[li] = None
            elif derivatives:
                p.dadz[li] = self._round(np.array(act.derivative(z, a), dtype=np.float64))
        # "" : the loss from the (rounded) outputs a, as its formula reads
        with np.errstate(divide="ignore", invalid="ignore"):
            p.sample_losses = self._round(self.loss.per_sample(z, a, self.y, ""))
        n = p.sample_losses.shape[0]
        if not self.problem.has_samples:
            p.loss = float(p.sample_losses[0])
        else:
            # fsum, as the formula's mean or sum evaluates it
            total = math.fsum(p.sample_losses.tolist())
            scaled = total / n if self.problem.reduction == "mean" else total
            p.loss = round_value(scaled, self.decimals)
        return p

    def input_gradient(self, p: Pass) -> Array:
        return self._round(p.grad_z[0] @ self.weights[0])

    def parameter_change(self) -> Array:
        return self._round(super().parameter_change())

    def backward(self, p: Pass, record: bool = True) -> None:
        out = len(self.weights) - 1
        a_out = p.a[out]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ga = self._round(self.loss.grad_a(p.z[out], a_out, self.y, ""))
        p.grad_a[out] = ga
        n = self.x.shape[0]
        sample_grad = np.empty((n, self.params.size))
        for li in range(out, -1, -1):
            d = p.dadz[li]
            if li == out and self.problem.perceptron:
                delta = a_out - self.y  # the perceptron rule: δ = y − t, the step's f' left out
            elif li == out and self._softmax_cross_entropy:
                delta = a_out - self.y  # δ = a − y
            elif d is None:  # softmax: δ = a ⊙ (g − Σ g⊙a)
                a = p.a[li]
                delta = a * (ga - np.sum(ga * a, axis=1, keepdims=True))
            else:
                delta = ga * d
            p.grad_z[li] = delta = self._round(delta)
            below = self.x if li == 0 else p.a[li - 1]
            # each sample's own gradient: δ_k,i · a_k,j for every weight, δ_k,i for a bias
            at = self._w_at[li]
            size = self.weights[li].size
            sample_grad[:, at:at + size] = (delta[:, :, None] * below[:, None, :]).reshape(n, -1)
            if self.biases[li] is not None:
                at = self._b_at[li]
                sample_grad[:, at:at + delta.shape[1]] = delta
            if li > 0:
                p.grad_a[li - 1] = ga = self._round(delta @ self.weights[li])
        for index in self._shared_groups:  # one sum over the uses, per sample
            for k in range(n):
                sample_grad[k, index] = math.fsum(sample_grad[k, index].tolist())
        self._round(sample_grad)
        if self.problem.has_samples:
            columns = sample_grad.T.tolist()
            totals = np.array([math.fsum(column) for column in columns])
            if self.problem.reduction == "mean":
                totals /= n
            p.grad[...] = self._round(totals)
        else:
            p.grad[...] = sample_grad[0]
        p.sample_grad = sample_grad
