"""The carried pass (engine/layered_carry.py) on issue 19's benchmark-sized network.

The network of benchmarks/layers_bench.py (64 samples of 1x28x28, conv2d 8 filters 3x3
with ReLU, max pool 2, dense 10 with softmax and cross-entropy) as a problem file of one
step, and the time of: solving it (every key recorded, once), one carried pass from a
handful of given values, and the verdicts on those values with one wrong and one
consistent with it (check's work on such a file after solving: the carried pass, and one
pass per wrong value a reason looks behind).

Usage: python benchmarks/carry_bench.py [--runs 5]
Not run by the tests (timing is not a test).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backprop_cli.checking.layered import LayeredWork
from backprop_cli.checking.verdicts import Precision
from backprop_cli.engine.layered import solve_layered
from backprop_cli.engine.layered_carry import carry_layered
from backprop_cli.files import trust
from backprop_cli.kinds.exercise import parse_exercise
from backprop_cli.model.layered import LayeredProblem
from benchmarks.layers_bench import problem as bench_data

# the published values of the file: forward, loss, backward, update; the first is wrong
PUBLISHED = ["z.C[1,1,1]@1", "a.C[1,1,1]@1", "a.P[1,1,1]@1", "z.o1@1", "a.o1@1", "loss",
             "grad.z.o1@1", "grad.a.P[1,1,1]@1", "grad.z.C[1,1,1]@1", "grad.K[1,1,1,1]",
             "new.K[1,1,1,1]", "grad.W4[1,1]", "new.W4[1,1]"]


def text() -> str:
    data = bench_data()
    samples = "".join(f"  - {{input: {x.round(4).tolist()}, target: {y.tolist()}}}\n"
                      for x, y in zip(data["x"], data["y"], strict=True))
    units = [f"o{i + 1}" for i in range(data["w"].shape[0])]
    return (f"network:\n  inputs: {{shape: [1, 28, 28]}}\n  layers:\n"
            f"    - {{type: conv2d, name: C, filters: 8, kernel: 3, weights: "
            f"{data['k'].round(4).tolist()}, weight_name: K, bias: 0, bias_name: c, "
            f"activation: relu}}\n"
            f"    - {{type: maxpool2d, name: P, size: 2}}\n"
            f"    - {{type: flatten}}\n"
            f"    - {{type: dense, units: {units}, activation: softmax, weights: "
            f"{data['w'].round(5).tolist()}}}\n"
            f"loss: cross_entropy\nlearning_rate: 0.1\nsamples:\n{samples}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    trust.allow_big()  # 2.7 million values recorded by solve: over the default budget
    problem = parse_exercise(text(), "bench.yaml")
    assert isinstance(problem, LayeredProblem)
    start = time.perf_counter()
    exact = solve_layered(problem).values
    times: dict[str, list[float]] = {"solve (every key)": [time.perf_counter() - start],
                                     "one carried pass": [], "verdicts (one wrong)": []}
    given = {key: exact[key] for key in PUBLISHED}
    # one slip, and the value after it worked from it: consistent
    given["z.C[1,1,1]@1"] += 1.0
    given |= carry_layered(problem, given, ["a.C[1,1,1]@1"])
    for _ in range(args.runs):
        start = time.perf_counter()
        carry_layered(problem, given)
        times["one carried pass"].append(time.perf_counter() - start)
        start = time.perf_counter()
        work = LayeredWork(problem, exact, None)
        for key, value in given.items():
            work.give(key, value, Precision.of(repr(value)), repr(value))
        verdicts = [work.judge(key, value, Precision.of(repr(value))).verdict
                    for key, value in given.items()]
        times["verdicts (one wrong)"].append(time.perf_counter() - start)
    print(f"{len(exact)} keys; verdicts: {verdicts}")
    for name, seconds in times.items():
        print(f"{name:22s} {statistics.median(seconds) * 1000:8.1f} ms  (median of "
              f"{len(seconds)})")


if __name__ == "__main__":
    main()
