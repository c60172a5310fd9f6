"""A simple recurrent (Elman) layer, unrolled over the T time steps of a sequence.

Shapes: x (N, T, D) → h (N, T, H); weights W (H, D) "weights" (W_xh, a row per unit and
a column per input), U (H, H) "recurrent" (W_hh, a row per unit and a column per unit),
b (H,) "bias"; the initial state h_0 is a setting (default zeros).

    z_t = W·x_t + U·h_{t−1} + b        h_t = f(z_t)        t = 1 … T

The layer's output is every h_t; dense layers after it apply at every step (their leading
axes are samples and steps: :class:`backprop_cli.engine.layers.dense.Dense` as it is), and
:func:`sequence_loss` takes the loss at the last step or sums it over every step.

Backpropagation through time (BPTT), from the last step back, with g_t = ∂L/∂h_t from the
layers above (zero at steps without a loss):

    ∂L/∂h_t = g_t + Uᵀ·∂L/∂z_{t+1}   (no second term at t = T)
    ∂L/∂z_t = ∂L/∂h_t ⊙ f'(z_t)

Shared parameters get ONE gradient, the sum over time (and over samples):
∂L/∂W = Σ_t ∂L/∂z_t·x_tᵀ, ∂L/∂U = Σ_t ∂L/∂z_t·h_{t−1}ᵀ, ∂L/∂b = Σ_t ∂L/∂z_t. The loop over
time is the only Python loop (a step needs the one before); each step is vectorised over
samples and units, and everything that does not need the recurrence is computed for all
steps at once.
"""

from __future__ import annotations

import numpy as np

from backprop_cli.engine.layers.base import Array, Grads, Params, Shape
from backprop_cli.model.activations import Activation
from backprop_cli.model.losses import Loss
from backprop_cli.records import record

LOSS_AT = ("last", "every")


@record(frozen=True, eq=False)
class RnnCache:
    x: Array  # (N, T, D)
    h0: Array  # (N, H): the state before step 1
    z: Array  # (N, T, H)
    h: Array  # (N, T, H): the output, h[:, t − 1] is h_t


@record(frozen=True, eq=False)
class Bptt:
    """Every per-step gradient of the backward pass, for the worked solution."""

    grad_h: Array  # (N, T, H): ∂L/∂h_t, from above and from step t + 1 (`grad.a.h#t`)
    grad_z: Array  # (N, T, H): ∂L/∂z_t (`grad.z.h#t`)
    dadz: Array  # (N, T, H): f'(z_t)
    grad_h0: Array  # (N, H): ∂L/∂h_0


@record(frozen=True, eq=False)
class Rnn:
    units: int
    activation: Activation
    bias: bool = True
    initial: Array | None = None  # h_0: (H,) for every sample or (N, H); None: zeros

    def __post_init__(self) -> None:
        if self.activation.per_layer:
            raise ValueError("an rnn layer takes an elementwise activation, not softmax")

    def param_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        shapes: dict[str, Shape] = {"weights": (self.units, input_shape[-1]),
                                    "recurrent": (self.units, self.units)}
        if self.bias:
            shapes["bias"] = (self.units,)
        return shapes

    def output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 2:
            raise ValueError(f"an rnn layer takes a sequence of steps × inputs, not "
                             f"{list(input_shape)}")
        return (input_shape[0], self.units)

    def forward(self, x: Array, params: Params) -> tuple[Array, RnnCache]:
        n, steps, _ = x.shape
        w_t = params["recurrent"].T
        h0 = np.zeros((n, self.units))
        if self.initial is not None:
            h0 += self.initial
        xw = x @ params["weights"].T  # W·x_t of every step at once
        z = np.empty((n, steps, self.units))
        h = np.empty((n, steps, self.units))
        previous = h0
        for t in range(steps):
            zt = np.add(xw[:, t], previous @ w_t, out=z[:, t])
            if self.bias:
                zt += params["bias"]
            previous = h[:, t] = self.activation.forward(zt)
        return h, RnnCache(x, h0, z, h)

    def bptt(self, grad_out: Array, cache: RnnCache, params: Params) -> Bptt:
        """∂L/∂h_t and ∂L/∂z_t of every step, from the last back; ``grad_out`` (N, T, H)
        is ∂L/∂h_t from the layers above."""
        u = params["recurrent"]
        dadz = self.activation.derivative(cache.z, cache.h)
        grad_h = np.empty_like(grad_out)
        grad_z = np.empty_like(grad_out)
        carried = np.zeros_like(cache.h0)  # Uᵀ·∂L/∂z_{t+1}
        for t in range(grad_out.shape[1] - 1, -1, -1):
            gh = np.add(grad_out[:, t], carried, out=grad_h[:, t])
            gz = np.multiply(gh, dadz[:, t], out=grad_z[:, t])
            carried = gz @ u
        return Bptt(grad_h, grad_z, dadz, carried)

    def backward(self, grad_out: Array, cache: RnnCache, params: Params
                 ) -> tuple[Array, Grads]:
        grad_z = self.bptt(grad_out, cache, params).grad_z
        return grad_z @ params["weights"], self._grads(grad_z, cache)

    def param_grads(self, grad_out: Array, cache: RnnCache, params: Params,
                    per_sample: bool = False) -> Grads:
        return self._grads(self.bptt(grad_out, cache, params).grad_z, cache, per_sample)

    def delta_grads(self, grad_z: Array, cache: RnnCache, per_sample: bool = False) -> Grads:
        """The parameters' gradients from every step's ∂L/∂z_t as given (the carried pass
        of engine/layered_carry.py gives a student's δ, not the ones BPTT computes)."""
        return self._grads(grad_z, cache, per_sample)

    def _grads(self, grad_z: Array, cache: RnnCache, per_sample: bool = False) -> Grads:
        previous = np.concatenate([cache.h0[:, None], cache.h[:, :-1]], axis=1)  # h_{t−1}
        if per_sample:  # each sample's sum over time
            grads: Grads = {"weights": np.einsum("ntu,nti->nui", grad_z, cache.x),
                            "recurrent": np.einsum("ntu,ntj->nuj", grad_z, previous)}
            if self.bias:
                grads["bias"] = np.add.reduce(grad_z, axis=1)
            return grads
        grads = {
            "weights": np.tensordot(grad_z, cache.x, axes=((0, 1), (0, 1))),
            "recurrent": np.tensordot(grad_z, previous, axes=((0, 1), (0, 1))),
        }
        if self.bias:
            grads["bias"] = np.add.reduce(grad_z, axis=(0, 1))
        return grads


def sequence_loss(loss: Loss, activation: str, z: Array, a: Array, targets: Array,
                  loss_at: str = "last") -> tuple[Array, Array, Array]:
    """The loss of a sequence output: (per sample (N,), per step (N, T), ∂L/∂a (N, T, K)).

    ``z``, ``a``: the output layer's (N, T, K), ``activation`` its name. ``loss_at``
    "last": the loss of the last step only, ``targets`` (N, K); the other steps' losses and
    gradients are 0. "every": the sum of every step's loss, ``targets`` (N, T, K).
    """
    n, steps, k = a.shape
    per_step = np.zeros((n, steps))
    grad = np.zeros_like(a)
    if loss_at == "last":
        per_step[:, -1] = loss.per_sample(z[:, -1], a[:, -1], targets, activation)
        grad[:, -1] = loss.grad_a(z[:, -1], a[:, -1], targets, activation)
    elif loss_at == "every":
        flat = (z.reshape(-1, k), a.reshape(-1, k), targets.reshape(-1, k))
        per_step[...] = loss.per_sample(*flat, activation).reshape(n, steps)
        grad[...] = loss.grad_a(*flat, activation).reshape(n, steps, k)
    else:
        raise ValueError(f"loss_at must be one of {', '.join(LOSS_AT)}, not {loss_at!r}")
    return np.add.reduce(per_step, axis=1), per_step, grad
