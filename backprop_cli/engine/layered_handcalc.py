"""Hand-calculation mode (``round: N``) for a layered network's layers: every value
rounded to N decimals when it is produced, the calculation going on with the rounded value,
by the rule of :mod:`backprop_cli.engine.handcalc` for dense networks.

What is rounded, and where a sum is rounded (once, when it is complete):

- a conv's z[f,i,j] (the whole sum over its window and the bias), a dense layer's z (its
  sum over the inputs and the bias), a = f(z), f'(z), a pooling or dropout output (an
  average over its window once; a max is one of the rounded inputs), an rnn's z_t
  (W·x_t + U·h_{t−1} + b) and h_t = f(z_t) at each time step, the next step reading the
  rounded h_t;
- ∂L/∂a of the output from the rounded outputs a (not from z, as the exact engine does for
  stability); δ = ∂L/∂a·f'(z) with the rounded f'(z), even where loss and activation would
  cancel, except softmax with cross-entropy (δ = a − y); ∂L/∂a of a layer below (a conv's:
  the whole sum over the windows that read the element; pooling and dropout: what reaches
  the element); an rnn's ∂L/∂h_t = g_t + Uᵀ·∂L/∂z_{t+1} and ∂L/∂z_t at each step;
- each sample's gradient of each parameter element (a conv kernel's: the whole sum of its
  δ·input products over the output positions; an rnn's: the whole sum over time), then the
  batch's, the exact mean (or sum) of those rounded gradients (``math.fsum``), rounded;
- the optimizer's values and new parameters (model/optimizers.py's ``Updater``); the
  starting parameters are written down rounded as well. The data are used as given.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from backprop_cli.engine.layers import Activate, Flatten, LayerType, Rnn
from backprop_cli.engine.layers.base import ActivateCache, Array
from backprop_cli.engine.layers.rnn import Bptt, RnnCache
from backprop_cli.rounding import round_array


def hand_forward(layer: LayerType[Any], x: Array, params: dict[str, Array], decimals: int
                 ) -> tuple[Array, Any]:
    """``layer.forward`` with its output rounded (an activation's cache holds the rounded
    a that f'(z) and the backward pass read; an rnn's every z_t and h_t)."""
    if isinstance(layer, Rnn):
        return _rnn_forward(layer, x, params, decimals)
    out, cache = layer.forward(x, params)
    if isinstance(layer, Flatten):
        return out, cache  # a reshape: nothing new
    out = round_array(np.asarray(out, dtype=np.float64), decimals)
    if isinstance(layer, Activate):
        return out, ActivateCache(cache.z, out)
    return out, cache


def _rnn_forward(rnn: Rnn, x: Array, params: dict[str, Array], decimals: int
                 ) -> tuple[Array, RnnCache]:
    z, h, h0 = rnn_steps(rnn, x, params, decimals)
    return h, RnnCache(x, h0, z, h)


# what a caller writes over a step's z_t or h_t ("z" or "a", the array, the step t)
Overwrite = Callable[[str, Array, int], Array]


def rnn_steps(rnn: Rnn, x: Array, params: dict[str, Array], decimals: int | None,
              overwrite: Overwrite | None = None) -> tuple[Array, Array, Array]:
    """(z, h, h_0) of z_t = W·x_t + U·h_{t−1} + b and h_t = f(z_t), one step at a time,
    each rounded to ``decimals`` (None: exact) before the next step reads it;
    ``overwrite`` (the carried pass's given values) may replace the whole array's step t
    after each is worked."""
    n, steps, _ = x.shape
    h0 = np.zeros((n, rnn.units))
    if rnn.initial is not None:
        h0 += rnn.initial
    xw = x @ params["weights"].T
    z = np.empty((n, steps, rnn.units))
    h = np.empty((n, steps, rnn.units))
    previous = h0
    for t in range(steps):
        z[:, t] = xw[:, t] + previous @ params["recurrent"].T
        if rnn.bias:
            z[:, t] += params["bias"]
        if decimals is not None:
            z[:, t] = round_array(z[:, t], decimals)
        if overwrite is not None:
            z = overwrite("z", z, t)
        h[:, t] = rnn.activation.forward(z[:, t])
        if decimals is not None:
            h[:, t] = round_array(h[:, t], decimals)
        if overwrite is not None:
            h = overwrite("a", h, t)
        previous = h[:, t]
    return z, h, h0


def hand_bptt(rnn: Rnn, grad_out: Array, cache: RnnCache, params: dict[str, Array],
              decimals: int) -> Bptt:
    """:meth:`Rnn.bptt` with f'(z_t), ∂L/∂h_t (one sum: g_t + Uᵀ·∂L/∂z_{t+1}) and ∂L/∂z_t
    rounded at each step, the step below reading the rounded ∂L/∂z_{t+1}."""
    dadz = round_array(np.asarray(rnn.activation.derivative(cache.z, cache.h),
                                  dtype=np.float64), decimals)
    grad_h = np.empty_like(grad_out)
    grad_z = np.empty_like(grad_out)
    carried = np.zeros_like(cache.h0)
    for t in range(grad_out.shape[1] - 1, -1, -1):
        grad_h[:, t] = round_array(grad_out[:, t] + carried, decimals)
        grad_z[:, t] = round_array(grad_h[:, t] * dadz[:, t], decimals)
        carried = grad_z[:, t] @ params["recurrent"]
    return Bptt(grad_h, grad_z, dadz, carried)


def hand_delta(layer: Activate, grad: Array, cache: ActivateCache, decimals: int,
               softmax_targets: Array | None = None) -> Array:
    """∂L/∂z from the rounded ∂L/∂a: times the rounded f'(z), softmax's Jacobian, or with
    ``softmax_targets`` (softmax with cross-entropy at the output) a − y."""
    if softmax_targets is not None:
        delta = cache.a - softmax_targets
    elif layer.activation.per_layer:
        delta = layer.backward(grad, cache, {})[0]
    else:
        delta = grad * round_array(np.asarray(layer.derivative(cache), dtype=np.float64),
                                   decimals)
    return round_array(delta, decimals)


def batch_gradient(per_sample: Array, reduction: str, decimals: int) -> Array:
    """The batch's gradient from each sample's rounded one (samples first): their exact
    sum (``math.fsum``), divided by their number for ``reduction: mean``, rounded."""
    n = per_sample.shape[0]
    columns = per_sample.reshape(n, -1).T.tolist()
    totals = np.array([math.fsum(column) for column in columns], dtype=np.float64)
    if reduction == "mean":
        totals /= n
    return round_array(totals.reshape(per_sample.shape[1:]), decimals)


__all__ = ["Overwrite", "batch_gradient", "hand_bptt", "hand_delta", "hand_forward",
           "rnn_steps"]
