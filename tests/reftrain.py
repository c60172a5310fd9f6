"""An independent trainer for the tests: one sample at a time, textbook formulas.

It shares no code with the engine (no vectorisation over samples, no flat
parameter array, no formulas module): per sample the forward pass, δ of the
output as a − y (or ∂L/∂a ⊙ f'(z)), δ of a hidden layer as (Wᵀδ) ⊙ f'(z), the
gradients δ·aᵀ and δ, their mean over the batch, then the update rule as the
course notes write it:

- sgd:      w ← w − η·(g + λw)
- momentum: v ← β·v − η·(g + λw);  w ← w + v
- adam:     g' = g + λw;  m ← β1·m + (1−β1)·g';  s ← β2·s + (1−β2)·g'²;
            w ← w − η·(m/(1−β1ᵗ)) / (√(s/(1−β2ᵗ)) + ε)

with λ applied to weights only, and batches taken in file order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backprop_cli.model.problem import Problem


def _act(name: str, z: np.ndarray) -> np.ndarray:
    if name == "sigmoid":
        return np.array([1.0 / (1.0 + math.exp(-v)) for v in z])
    if name == "tanh":
        return np.array([math.tanh(v) for v in z])
    if name == "relu":
        return np.array([max(v, 0.0) for v in z])
    if name == "identity":
        return z.copy()
    if name == "softmax":
        e = np.array([math.exp(v - max(z)) for v in z])
        return e / sum(e)
    raise NotImplementedError(name)


def _derivative(name: str, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    if name == "sigmoid":
        return a * (1 - a)
    if name == "tanh":
        return 1 - a * a
    if name == "relu":
        return np.array([1.0 if v > 0 else 0.0 for v in z])
    if name == "identity":
        return np.ones_like(z)
    raise NotImplementedError(name)


def _loss(name: str, a: np.ndarray, y: np.ndarray) -> float:
    if name == "half_squared_error":
        return 0.5 * sum((yi - ai) ** 2 for ai, yi in zip(a, y, strict=True))
    if name == "binary_cross_entropy":
        return -sum(yi * math.log(ai) + (1 - yi) * math.log(1 - ai)
                    for ai, yi in zip(a, y, strict=True))
    if name == "cross_entropy":
        return -sum(yi * math.log(ai) for ai, yi in zip(a, y, strict=True) if yi)
    raise NotImplementedError(name)


@dataclass
class Trace:
    losses: list[float] = field(default_factory=list)  # batch loss of each step
    weights: list[list[np.ndarray]] = field(default_factory=list)  # after each step
    biases: list[list[np.ndarray | None]] = field(default_factory=list)
    state: list[dict[str, list[np.ndarray]]] = field(default_factory=list)  # after each step
    final_loss: float = math.nan


def train(problem: Problem) -> Trace:
    """Train ``problem``'s network as the module docstring says; every step recorded."""
    acts = [layer.activation.name for layer in problem.layers]
    loss_name = problem.loss.name
    ws = [layer.weights.copy() for layer in problem.layers]
    bs = [None if layer.bias is None else layer.bias.copy() for layer in problem.layers]
    opt = problem.optimizer
    lam = problem.weight_decay
    lr = problem.learning_rate
    shapes = [(w.shape, None if b is None else b.shape) for w, b in zip(ws, bs, strict=True)]
    state: dict[str, list[Any]] = {
        kind: [(np.zeros(ws_), None if bs_ is None else np.zeros(bs_)) for ws_, bs_ in shapes]
        for kind in ("v", "m", "s")}
    x_all, y_all = problem.inputs, problem.targets
    n = len(x_all)
    size = problem.batch_size or n
    batches = [(i, min(i + size, n)) for i in range(0, n, size)]

    def forward(x: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        zs, as_ = [], [x]
        for w, b, act in zip(ws, bs, acts, strict=True):
            z = w @ as_[-1] + (0 if b is None else b)
            zs.append(z)
            as_.append(_act(act, z))
        return zs, as_

    trace = Trace()
    for t in range(1, problem.steps + 1):
        start, stop = batches[(t - 1) % len(batches)]
        gw = [np.zeros_like(w) for w in ws]
        gb = [None if b is None else np.zeros_like(b) for b in bs]
        total = 0.0
        for k in range(start, stop):
            zs, as_ = forward(x_all[k])
            y = y_all[k]
            total += _loss(loss_name, as_[-1], y)
            if acts[-1] == "softmax" or (acts[-1] == "sigmoid"
                                        and loss_name == "binary_cross_entropy"):
                delta = as_[-1] - y
            else:
                assert loss_name == "half_squared_error"
                delta = (as_[-1] - y) * _derivative(acts[-1], zs[-1], as_[-1])
            for li in range(len(ws) - 1, -1, -1):
                gw[li] += np.outer(delta, as_[li])
                if gb[li] is not None:
                    gb[li] += delta
                if li:
                    delta = (ws[li].T @ delta) * _derivative(acts[li - 1], zs[li - 1], as_[li])
        count = stop - start
        trace.losses.append(total / count)
        for li in range(len(ws)):
            for slot, (param, grad) in enumerate(((ws[li], gw[li] / count),
                                                  (bs[li], None if gb[li] is None
                                                   else gb[li] / count))):
                if param is None or grad is None:
                    continue
                g = grad + (lam * param if slot == 0 else 0.0)
                if opt.name == "sgd":
                    param -= lr * g
                elif opt.name == "momentum":
                    v = state["v"][li][slot]
                    v *= opt.beta
                    v -= lr * g
                    param += v
                else:
                    m, s = state["m"][li][slot], state["s"][li][slot]
                    m[...] = opt.beta1 * m + (1 - opt.beta1) * g
                    s[...] = opt.beta2 * s + (1 - opt.beta2) * g * g
                    m_hat = m / (1 - opt.beta1 ** t)
                    s_hat = s / (1 - opt.beta2 ** t)
                    param -= lr * m_hat / (np.sqrt(s_hat) + opt.epsilon)
        trace.weights.append([w.copy() for w in ws])
        trace.biases.append([None if b is None else b.copy() for b in bs])
        trace.state.append({kind: [(w.copy(), None if b is None else b.copy())
                                   for w, b in pairs] for kind, pairs in state.items()})
    trace.final_loss = sum(_loss(loss_name, forward(x_all[k])[1][-1], y_all[k])
                           for k in range(n)) / n
    return trace
