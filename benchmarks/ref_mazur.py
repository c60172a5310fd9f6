"""Reference: Mazur's 2-2-2 sigmoid network trained by a hand-written NumPy loop.

The same steps as ``backprop solve problems/mazur_2-2-2_sigmoid.yaml --steps N
--keys final.loss``: forward pass (with the loss, as the engine computes it every
step), backward pass, update of w1..w8 with the shared biases b1, b2 frozen, then
one last forward pass. Written the way a student writes it; it imports numpy only.

Usage: python benchmarks/ref_mazur.py STEPS   (prints the final loss)
"""

import sys

import numpy as np


def train(steps: int) -> float:
    x = np.array([0.05, 0.10])
    t = np.array([0.01, 0.99])
    w_hidden = np.array([[0.15, 0.20], [0.25, 0.30]])
    w_out = np.array([[0.40, 0.45], [0.50, 0.55]])
    b1, b2 = 0.35, 0.60  # frozen
    lr = 0.5
    for _ in range(steps):
        h = 1.0 / (1.0 + np.exp(-(w_hidden @ x + b1)))
        o = 1.0 / (1.0 + np.exp(-(w_out @ h + b2)))
        loss = 0.5 * np.sum((t - o) ** 2)
        if not np.isfinite(loss):
            raise SystemExit("diverged")
        delta_out = (o - t) * o * (1.0 - o)
        delta_hidden = (w_out.T @ delta_out) * h * (1.0 - h)
        w_out -= lr * np.outer(delta_out, h)
        w_hidden -= lr * np.outer(delta_hidden, x)
    h = 1.0 / (1.0 + np.exp(-(w_hidden @ x + b1)))
    o = 1.0 / (1.0 + np.exp(-(w_out @ h + b2)))
    return float(0.5 * np.sum((t - o) ** 2))


if __name__ == "__main__":
    print(repr(train(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)))
