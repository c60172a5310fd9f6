"""Issue 19's speed target for the layer types: within 1.5x of hand-written NumPy.

64 samples of 1x28x28, conv2d 8 filters 3x3 (ReLU), max pool 2, flatten, dense 10 with
softmax and cross-entropy averaged over the samples, 100 steps of full-batch gradient
descent: once through backprop_cli.engine.layers (forward_stack / backward_stack), once
written by hand below with NumPy only, the way one writes it for an exercise. The two
runs alternate so that both see the same machine load; the figure is the median.

Usage: python benchmarks/layers_bench.py [--steps 100] [--runs 5]
Not run by the tests (timing is not a test); the final losses must agree.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backprop_cli.engine.layers import (
    Activate,
    Dense,
    Flatten,
    backward_stack,
    conv2d,
    forward_stack,
    maxpool2d,
)
from backprop_cli.model.activations import make_activation
from backprop_cli.model.losses import make_loss

N, SIDE, FILTERS, KERNEL, POOL, CLASSES = 64, 28, 8, 3, 2, 10
LEARNING_RATE = 0.1


def problem(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    pooled = (SIDE - KERNEL + 1) // POOL
    return {
        "x": rng.normal(size=(N, 1, SIDE, SIDE)),
        "y": np.eye(CLASSES)[rng.integers(0, CLASSES, size=N)],
        "k": rng.normal(size=(FILTERS, 1, KERNEL, KERNEL)) * 0.3,
        "c": np.zeros(FILTERS),
        "w": rng.normal(size=(CLASSES, FILTERS * pooled * pooled)) * 0.01,
        "b": np.zeros(CLASSES),
    }


def with_layers(data: dict[str, np.ndarray], steps: int) -> float:
    """The layers of backprop_cli.engine.layers, and an SGD loop around them."""
    layers = [conv2d(FILTERS, KERNEL), Activate(make_activation("relu")), maxpool2d(POOL),
              Flatten(), Dense(CLASSES)]
    params = [{"weights": data["k"].copy(), "bias": data["c"].copy()}, {}, {}, {},
              {"weights": data["w"].copy(), "bias": data["b"].copy()}]
    softmax = Activate(make_activation("softmax"))
    loss = make_loss("cross_entropy")
    x, y = data["x"], data["y"]
    scale = LEARNING_RATE / N

    def pass_() -> tuple[float, list[dict[str, np.ndarray]]]:
        z, caches = forward_stack(layers, params, x)
        a, _ = softmax.forward(z, {})
        total = float(np.mean(loss.per_sample(z, a, y, "softmax")))
        delta = loss.combined_delta(a, y, "softmax")
        assert delta is not None
        # the images are data: no ∂L/∂x (the hand-written loop does not compute it either)
        _, grads = backward_stack(layers, params, caches, delta, input_grad=False)
        return total, grads

    for _ in range(steps):
        _, grads = pass_()
        for p, g in zip(params, grads, strict=True):
            for name in p:
                p[name] -= scale * g[name]
    return pass_()[0]


def by_hand(data: dict[str, np.ndarray], steps: int) -> float:
    """The same network in plain NumPy: im2col by a window view, pool by reshaping."""
    x, y = data["x"], data["y"]
    k, c, w, b = (data[key].copy() for key in ("k", "c", "w", "b"))
    side = SIDE - KERNEL + 1
    half = side // POOL

    def forward() -> tuple[np.ndarray, ...]:
        # im2col every step, as the layers do: with batches, each step's images differ
        windows = sliding_window_view(x, (KERNEL, KERNEL), axis=(2, 3))  # (N, 1, 26, 26, 3, 3)
        cols = windows.transpose(0, 2, 3, 1, 4, 5).reshape(N * side * side, -1)  # (N·26², 9)
        z = (cols @ k.reshape(FILTERS, -1).T + c).reshape(N, side, side, FILTERS)
        a = np.maximum(z, 0.0)
        blocks = a.reshape(N, half, POOL, half, POOL, FILTERS)
        p = blocks.max(axis=(2, 4))  # (N, 13, 13, F)
        flat = p.transpose(0, 3, 1, 2).reshape(N, -1)  # row-major over (f, i, j)
        s = flat @ w.T + b
        s = s - s.max(axis=1, keepdims=True)
        e = np.exp(s)
        probs = e / e.sum(axis=1, keepdims=True)
        loss = -np.sum(y * np.log(probs)) / N
        return cols, z, blocks, p, flat, probs, np.array(loss)

    for _ in range(steps):
        cols, z, blocks, p, flat, probs, _ = forward()
        ds = (probs - y) / N
        dw, db = ds.T @ flat, ds.sum(axis=0)
        dp = (ds @ w).reshape(N, FILTERS, half, half).transpose(0, 2, 3, 1)
        mask = blocks == p[:, :, None, :, None, :]  # ties are measure zero here
        da = (mask * dp[:, :, None, :, None, :]).reshape(N, side, side, FILTERS)
        dz = da * (z > 0)
        dk = (dz.reshape(-1, FILTERS).T @ cols).reshape(k.shape)
        dc = dz.sum(axis=(0, 1, 2))
        k -= LEARNING_RATE * dk
        c -= LEARNING_RATE * dc
        w -= LEARNING_RATE * dw
        b -= LEARNING_RATE * db
    return float(forward()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    data = problem()
    times: dict[str, list[float]] = {"layers": [], "by hand": []}
    losses: dict[str, float] = {}
    for _ in range(args.runs):
        for name, run in (("layers", with_layers), ("by hand", by_hand)):
            start = time.perf_counter()
            losses[name] = run(data, args.steps)
            times[name].append(time.perf_counter() - start)
    for name, seconds in times.items():
        print(f"{name:8s}  {statistics.median(seconds):7.3f} s  (median of {args.runs}, "
              f"{args.steps} steps)  final loss {losses[name]:.12f}")
    ratio = statistics.median(times["layers"]) / statistics.median(times["by hand"])
    print(f"ratio     {ratio:.2f}x  (target: at most 1.5x)")
    if abs(losses["layers"] - losses["by hand"]) > 1e-9 * max(1.0, abs(losses["by hand"])):
        sys.exit("the two final losses differ")


if __name__ == "__main__":
    main()
