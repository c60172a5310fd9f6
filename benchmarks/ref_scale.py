"""Reference: a 784-128-10 network trained by a hand-written NumPy loop.

The same steps as ``backprop solve scale.yaml --keys final.loss`` on the problem
that ``benchmarks/workloads.py`` writes: sigmoid hidden layer, softmax output,
cross-entropy averaged over the samples, full-batch gradient descent on every
weight and bias, then one last forward pass. Written the way one writes it by
hand; it imports numpy only.

Usage: python benchmarks/ref_scale.py DATA_DIR STEPS   (prints the final loss)
"""

import sys
from pathlib import Path

import numpy as np

LEARNING_RATE = 0.1  # the problem file's


def forward(x: np.ndarray, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray,
            b2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h = 1.0 / (1.0 + np.exp(-(x @ w1.T + b1)))
    s = h @ w2.T + b2
    s -= s.max(axis=1, keepdims=True)
    e = np.exp(s)
    return h, e / e.sum(axis=1, keepdims=True)


def train(data: Path, steps: int) -> float:
    x = np.load(data / "inputs.npy")
    y = np.load(data / "targets.npy")
    w1 = np.load(data / "w1.npy")
    w2 = np.load(data / "w2.npy")
    b1 = np.zeros(w1.shape[0])
    b2 = np.zeros(w2.shape[0])
    n = x.shape[0]
    for _ in range(steps):
        h, p = forward(x, w1, b1, w2, b2)
        loss = -np.sum(y * np.log(p)) / n
        if not np.isfinite(loss):
            raise SystemExit("diverged")
        d2 = (p - y) / n
        d1 = (d2 @ w2) * h * (1.0 - h)
        w2 -= LEARNING_RATE * (d2.T @ h)
        b2 -= LEARNING_RATE * d2.sum(axis=0)
        w1 -= LEARNING_RATE * (d1.T @ x)
        b1 -= LEARNING_RATE * d1.sum(axis=0)
    _, p = forward(x, w1, b1, w2, b2)
    return float(-np.sum(y * np.log(p)) / n)


if __name__ == "__main__":
    print(repr(train(Path(sys.argv[1]), int(sys.argv[2]))))
