"""Reference: issue 19's conv network trained by a hand-written NumPy loop.

64 samples of 1x28x28, conv2d 8 filters 3x3 (ReLU), max pool 2, flatten, dense 10 with
softmax and cross-entropy averaged over the samples, full-batch gradient descent, then one
last forward pass: the same steps as ``backprop train`` on the file that
``benchmarks/workloads.py`` writes (``write_layers_problem``). Written the way one writes
it by hand; it imports numpy only.

Usage: python benchmarks/ref_layers.py DATA_DIR STEPS   (prints the final loss; DATA_DIR
holds the arrays of :func:`problem` as .npy files)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

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
    folder, steps = Path(sys.argv[1]), int(sys.argv[2])
    data = {name: np.load(folder / f"{name}.npy") for name in ("x", "y", "k", "c", "w", "b")}
    print(repr(by_hand(data, steps)))


if __name__ == "__main__":
    main()
