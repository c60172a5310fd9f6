"""How long `backprop gradcheck` takes on issue 19's benchmark network.

The network of `make bench`'s layers group (benchmarks/workloads.py: 64 samples of
1x28x28, conv2d 8 filters 3x3 with ReLU, max pool 2, flatten, dense 10 with softmax and
cross-entropy averaged over the samples), a problem file reading its .npy data: 13,610
parameters, each checked by two forward passes. A pass of the
dense weights' difference starts at the dense layer (engine/layered_loss.py), so most of
the time is theirs, not the convolution's. Also times `surface` over two kernel elements
(the terminal map: 61 x 21 forward passes from the first layer, and 30 steps of training).

Usage: python benchmarks/layers_gradcheck.py [--runs 3]
Not run by the tests (timing is not a test).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backprop_cli.app.gradcheck import check_gradients
from backprop_cli.app.surface import loss_surface
from backprop_cli.files import trust
from backprop_cli.kinds.exercise import load_network
from benchmarks.workloads import write_layers_problem


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, trust.unrecorded_run():
        # the file of `make bench`'s layers group (its .npy data), 30 steps for the path
        network = load_network(write_layers_problem(Path(folder), steps=30))
    times: dict[str, list[float]] = {"gradcheck": [], "surface": []}
    for _ in range(args.runs):
        start = time.perf_counter()
        result = check_gradients(network)
        times["gradcheck"].append(time.perf_counter() - start)
        start = time.perf_counter()
        loss_surface(network, "W1[1,1,1,1]", "b1[1]", size=(61, 21))
        times["surface"].append(time.perf_counter() - start)
    print(f"gradcheck  {statistics.median(times['gradcheck']):6.2f} s  (median of {args.runs}; "
          f"{len(result.checks):,} parameters, passed: {result.passed}, largest relative "
          f"error {result.largest_rel_error:.1e})")
    print(f"surface    {statistics.median(times['surface']):6.2f} s  (median of {args.runs}; "
          "two kernel elements, 61 x 21 grid, 30 steps)")


if __name__ == "__main__":
    main()
