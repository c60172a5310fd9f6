"""Issue 19's speed target for the layer types: within 1.5x of hand-written NumPy.

64 samples of 1x28x28, conv2d 8 filters 3x3 (ReLU), max pool 2, flatten, dense 10 with
softmax and cross-entropy averaged over the samples, 100 steps of full-batch gradient
descent: once through backprop_cli.engine.layers (forward_stack / backward_stack), once
written by hand with NumPy only (benchmarks/ref_layers.py), the way one writes it for an
exercise. The two runs alternate so that both see the same machine load; the figure is the median.

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
from benchmarks.ref_layers import (
    CLASSES,
    FILTERS,
    KERNEL,
    LEARNING_RATE,
    POOL,
    N,
    by_hand,
    problem,
)


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
