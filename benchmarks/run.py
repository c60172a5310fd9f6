"""`make bench`: whole-process timings of `backprop` against its floor and NumPy loops.

Every figure is the median wall time of several runs of a whole process, and
every ratio compares two commands measured side by side: their runs alternate,
so both see the same machine load. The figures, ratios, targets and the
machine go to the terminal and to benchmarks/results/latest.json and .md.

    python benchmarks/run.py [--runs N] [--only NAME ...] [--no-save]

Names: startup, batch, engine, memory, scale, grading, layers. Timing is not a test: nothing
here fails the build; tests/ checks correctness only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
RESULTS = BENCH / "results"
PYTHON = sys.executable
BACKPROP = str(Path(PYTHON).with_name("backprop"))
SEED_PROBLEM = ROOT / "problems" / "001b_two_layer_relu_sigmoid.yaml"
MAZUR = ROOT / "problems" / "mazur_2-2-2_sigmoid.yaml"
ENGINE_STEPS = 10_000
FLOOR = [PYTHON, "-c", "import numpy, yaml, click, rich"]
BATCH_FILES = 1000

sys.path.insert(0, str(ROOT))


@dataclass
class Run:
    seconds: float
    cpu_seconds: float  # user + system
    max_rss_kib: int
    stdout: str
    returncode: int


def run_once(cmd: Sequence[str], env: dict[str, str]) -> Run:
    """One whole process, its output piped; wall time and peak memory from wait4."""
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, env=env, cwd=ROOT)
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        proc.stdout.close()
        if proc.returncode not in (0, 1):
            stderr.seek(0)
            raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: "
                               f"{stderr.read().decode(errors='replace')[-2000:]}")
    return Run(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss,
               out.decode(errors="replace"), proc.returncode)


def side_by_side(commands: dict[str, Sequence[str]], runs: int,
                 env: dict[str, str]) -> dict[str, list[Run]]:
    """Each command once untimed (caches warm), then ``runs`` alternating rounds."""
    for cmd in commands.values():
        run_once(cmd, env)
    results: dict[str, list[Run]] = {name: [] for name in commands}
    names = list(commands)
    for round_ in range(runs):
        # rotate who goes first, so that no command always follows the same one
        order = names[round_ % len(names):] + names[:round_ % len(names)]
        for name in order:
            results[name].append(run_once(commands[name], env))
    return results


def median(runs: list[Run]) -> float:
    return statistics.median(r.seconds for r in runs)


def cpu_ratio(runs: list[Run], versus: list[Run]) -> str:
    """The ratio of CPU times: less sensitive than wall time to other processes' load."""
    ours = statistics.median(r.cpu_seconds for r in runs)
    theirs = statistics.median(r.cpu_seconds for r in versus)
    return f"CPU-time ratio {ours / theirs:.2f}×"


@dataclass
class Figure:
    name: str
    seconds: float | None = None  # median wall time
    ratio: float | None = None
    target: float | None = None  # the ratio must stay at or under it
    versus: str = ""  # what the ratio compares against
    note: str = ""
    ok: bool | None = None
    spread: str = ""  # min–max of the runs

    def judge(self) -> None:
        if self.ratio is not None and self.target is not None:
            self.ok = self.ratio <= self.target


@dataclass
class Report:
    figures: list[Figure] = field(default_factory=list)
    machine: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def add(self, figure: Figure) -> Figure:
        figure.judge()
        self.figures.append(figure)
        return figure


def timed(name: str, runs: list[Run], **kwargs: Any) -> Figure:
    times = [r.seconds for r in runs]
    return Figure(name, seconds=statistics.median(times),
                  spread=f"{min(times) * 1e3:.0f}–{max(times) * 1e3:.0f} ms", **kwargs)


# ------------------------------------------------------------------- groups


def bench_startup(report: Report, runs: int, env: dict[str, str], work: Path) -> None:
    """Solve latency against the import floor; --help and --version stay light."""
    results = side_by_side({
        "floor": FLOOR,
        "solve": [BACKPROP, "solve", str(SEED_PROBLEM)],
        "help": [BACKPROP, "--help"],
        "version": [BACKPROP, "--version"],
    }, runs, env)
    floor = median(results["floor"])
    report.add(timed("import floor: python -c 'import numpy, yaml, click, rich'",
                     results["floor"]))
    report.add(timed(f"backprop solve {SEED_PROBLEM.name} (piped)", results["solve"],
                     ratio=median(results["solve"]) / floor, target=1.25, versus="floor",
                     note=cpu_ratio(results["solve"], results["floor"])))
    for name in ("help", "version"):
        loaded = heavy_imports([BACKPROP, f"--{name}"], env)
        report.add(timed(f"backprop --{name}", results[name],
                         ratio=median(results[name]) / floor, versus="floor",
                         note="imports " + (", ".join(loaded) if loaded else
                                            "neither numpy nor rich"),
                         ok=not loaded))


def heavy_imports(cmd: list[str], env: dict[str, str]) -> list[str]:
    """Which of numpy and rich a command imports (from python -X importtime)."""
    out = subprocess.run([PYTHON, "-X", "importtime", *cmd], capture_output=True, text=True,
                         env=env, cwd=ROOT, check=False)
    modules = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines()
               if line.startswith("import time:")}
    return [name for name in ("numpy", "rich") if name in modules]


def bench_batch(report: Report, runs: int, env: dict[str, str], work: Path) -> None:
    """`backprop check` on a folder of 1,000 small problem files."""
    probe = subprocess.run([BACKPROP, "check", "--help"], capture_output=True, env=env,
                           cwd=ROOT, check=False)
    if probe.returncode != 0:
        report.add(Figure(f"backprop check, {BATCH_FILES:,} files", versus="floor",
                          target=4.0, note="skipped: `backprop check` is not available"))
        return
    from benchmarks.workloads import write_batch_folder

    folder = work / "batch"
    write_batch_folder(folder, BATCH_FILES)
    results = side_by_side({
        "floor": FLOOR,
        "check": [BACKPROP, "check", str(folder)],
        "serial": [BACKPROP, "check", "--jobs", "1", str(folder)],
    }, runs, env)
    floor = median(results["floor"])
    for name, label, target in (("check", "", 4.0), ("serial", " --jobs 1 (informative)", None)):
        statuses = sorted({r.returncode for r in results[name]})
        report.add(timed(f"backprop check{label}, folder of {BATCH_FILES:,} small files",
                         results[name], ratio=median(results[name]) / floor, target=target,
                         versus="floor",
                         note=f"exit status {', '.join(map(str, statuses))}; "
                              f"{median(results[name]) / BATCH_FILES * 1e3:.2f} ms per file; "
                              + cpu_ratio(results[name], results["floor"])))
    report.details["batch_report_tail"] = results["check"][-1].stdout[-600:]


def final_loss(output: str) -> float:
    """final.loss from `backprop solve --format json`, or the number a reference prints."""
    if output.lstrip().startswith("{"):
        return float(json.loads(output)["values"]["final.loss"])
    return float(output.strip())


def agreement(a: float, b: float) -> str:
    difference = abs(a - b) / max(abs(a), abs(b), 1e-300)
    return "identical final loss" if a == b else f"final losses differ by {difference:.1e}"


def bench_engine(report: Report, runs: int, env: dict[str, str], work: Path) -> None:
    """10,000 SGD steps of Mazur's 2-2-2 network against a NumPy loop."""
    results = side_by_side({
        "numpy": [PYTHON, str(BENCH / "ref_mazur.py"), str(ENGINE_STEPS)],
        "backprop": [BACKPROP, "solve", str(MAZUR), "--steps", str(ENGINE_STEPS), "--format",
                     "json", "--keys", "final.loss"],
    }, runs, env)
    ours, theirs = (final_loss(results[n][-1].stdout) for n in ("backprop", "numpy"))
    report.add(timed(f"NumPy loop, 2-2-2 × {ENGINE_STEPS:,} steps (benchmarks/ref_mazur.py)",
                     results["numpy"]))
    report.add(timed(f"backprop solve mazur --steps {ENGINE_STEPS:,} --keys final.loss",
                     results["backprop"], versus="NumPy loop", target=1.5,
                     ratio=median(results["backprop"]) / median(results["numpy"]),
                     note=f"{agreement(ours, theirs)}; "
                          + cpu_ratio(results["backprop"], results["numpy"])))
    per_step = in_process_per_step()
    report.details["per_step_us"] = per_step
    report.add(Figure("time per step in one process (informative)",
                      note=f"engine {per_step['engine']:.1f} µs, "
                           f"NumPy loop {per_step['numpy']:.1f} µs"))


def in_process_per_step(steps: int = 20_000) -> dict[str, float]:
    """Best of 5 of one run of ``steps``, in this process (no start-up in it)."""
    from backprop_cli.engine import make_engine
    from backprop_cli.engine.passes import Recorder
    from backprop_cli.kinds.exercise import load_problem
    from benchmarks.ref_mazur import train

    problem = load_problem(MAZUR)

    def best(fn: Callable[[], object]) -> float:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times) / steps * 1e6

    return {"engine": best(lambda: make_engine(problem).run(Recorder(["final.loss"]), steps=steps)),
            "numpy": best(lambda: train(steps))}


def bench_memory(report: Report, runs: int, env: dict[str, str], work: Path) -> None:
    """Peak memory of the engine run at 1,000 and 100,000 steps."""
    peaks = {}
    for steps in (1_000, 100_000):
        cmd = [BACKPROP, "solve", str(MAZUR), "--steps", str(steps), "--format", "json",
               "--keys", "final.loss"]
        peaks[steps] = min(run_once(cmd, env).max_rss_kib for _ in range(3))
    growth = (peaks[100_000] - peaks[1_000]) / 1024
    curve = 99_000 * 8 / 2**20  # Solution.losses: one float per step
    figure = report.add(Figure(
        "peak memory, 1,000 → 100,000 steps",
        note=f"{peaks[1_000] / 1024:.1f} → {peaks[100_000] / 1024:.1f} MiB (+{growth:.2f} MiB; "
             f"the loss curve, 8 bytes a step, is {curve:.2f} MiB of it); flat: at most the "
             "loss curve + 1 MiB"))
    figure.ok = growth <= curve + 1.0


def bench_scale(report: Report, runs: int, env: dict[str, str], work: Path) -> None:
    """A 784-128-10 network, 64 samples and weights from .npy files, 500 steps."""
    from benchmarks.workloads import SCALE_STEPS, write_scale_problem

    problem = write_scale_problem(work / "scale")
    probe = subprocess.run([BACKPROP, "solve", str(problem), "--steps", "0", "--format",
                            "json", "--keys", "final.loss"], capture_output=True, text=True,
                           env=env, cwd=ROOT, check=False)
    if probe.returncode != 0:
        report.add(Figure("784-128-10, 64 samples × 500 steps", target=1.3,
                          note=f"skipped: {probe.stderr.strip()[:200]}"))
        return
    results = side_by_side({
        "numpy": [PYTHON, str(BENCH / "ref_scale.py"), str(problem.parent), str(SCALE_STEPS)],
        "backprop": [BACKPROP, "solve", str(problem), "--format", "json", "--keys",
                     "final.loss"],
    }, runs, env)
    ours, theirs = (final_loss(results[n][-1].stdout) for n in ("backprop", "numpy"))
    report.add(timed(f"NumPy loop, 784-128-10, 64 samples × {SCALE_STEPS} steps "
                     "(benchmarks/ref_scale.py)", results["numpy"]))
    report.add(timed(f"backprop solve scale.yaml (.npy data) × {SCALE_STEPS} steps "
                     "--keys final.loss", results["backprop"], versus="NumPy loop", target=1.3,
                     ratio=median(results["backprop"]) / median(results["numpy"]),
                     note=f"{agreement(ours, theirs)}; "
                          + cpu_ratio(results["backprop"], results["numpy"])))


def bench_grading(report: Report, runs: int, env: dict[str, str], work: Path) -> None:
    """`backprop grade`: 1,000 students × 20 questions, well under a second over the floor."""
    from benchmarks.workloads import GRADING_QUESTIONS, write_grading_class

    students = 1000
    problem, answers = write_grading_class(work / "grading", students)
    results = side_by_side({
        "floor": FLOOR,
        "grade": [BACKPROP, "grade", str(problem), str(answers), "--format", "csv"],
    }, runs, env)
    over = median(results["grade"]) - median(results["floor"])
    cpu_over = (statistics.median(r.cpu_seconds for r in results["grade"])
                - statistics.median(r.cpu_seconds for r in results["floor"]))
    rows = results["grade"][-1].stdout.count("\n") - 1
    # judged on CPU time, which other processes' load moves less than wall time
    report.add(timed(f"backprop grade, {students:,} students × {GRADING_QUESTIONS} questions "
                     "(CSV)", results["grade"], ok=cpu_over < 1.0, versus="floor",
                     note=f"{over * 1e3:.0f} ms over the floor, {cpu_over * 1e3:.0f} ms of CPU "
                          f"(must stay under 1 s); {cpu_over / students * 1e3:.2f} ms per "
                          f"student; {rows} rows graded; "
                          + cpu_ratio(results["grade"], results["floor"])))


def bench_layers(report: Report, runs: int, env: dict[str, str], work: Path) -> None:
    """Issue 19's conv network: `backprop train` against a hand-written NumPy loop."""
    from benchmarks.workloads import LAYERS_STEPS, write_layers_problem

    problem = write_layers_problem(work / "layers")
    results = side_by_side({
        "numpy": [PYTHON, str(BENCH / "ref_layers.py"), str(problem.parent),
                  str(LAYERS_STEPS)],
        "backprop": [BACKPROP, "train", str(problem), "--format", "json", "--rows", "2"],
    }, runs, env)
    ours = float(json.loads(results["backprop"][-1].stdout)["values"]["final.loss"])
    theirs = final_loss(results["numpy"][-1].stdout)
    report.add(timed(f"NumPy loop, conv 8×3×3, max pool, dense 10, 64 samples of 28×28 × "
                     f"{LAYERS_STEPS} steps (benchmarks/ref_layers.py)", results["numpy"]))
    report.add(timed(f"backprop train layers.yaml × {LAYERS_STEPS} steps (data and "
                     "parameters in the loop's .npy files)", results["backprop"],
                     versus="NumPy loop", target=1.5,
                     ratio=median(results["backprop"]) / median(results["numpy"]),
                     note=f"{agreement(ours, theirs)}; "
                          + cpu_ratio(results["backprop"], results["numpy"])))


GROUPS: dict[str, Callable[[Report, int, dict[str, str], Path], None]] = {
    "startup": bench_startup,
    "batch": bench_batch,
    "engine": bench_engine,
    "memory": bench_memory,
    "scale": bench_scale,
    "grading": bench_grading,
    "layers": bench_layers,
}


# ------------------------------------------------------------------- output


def machine() -> dict[str, Any]:
    import numpy
    import yaml

    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=ROOT, check=False).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, cwd=ROOT, check=False).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "pyyaml": f"{yaml.__version__} ({'libyaml' if yaml.__with_libyaml__ else 'pure Python'})",
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
        "load_average_at_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "commit": commit + (" + uncommitted changes" if dirty else ""),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def verdict(figure: Figure) -> str:
    return "" if figure.ok is None else ("pass" if figure.ok else "FAIL")


def table(report: Report) -> str:
    rows = [("figure", "median", "ratio", "target", "", "note")]
    for f in report.figures:
        rows.append((
            f.name,
            "" if f.seconds is None else f"{f.seconds * 1e3:.0f} ms",
            "" if f.ratio is None else f"{f.ratio:.2f}× {f.versus}",
            "" if f.target is None else f"≤ {f.target:g}×",
            verdict(f),
            f.note,
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = []
    for row in rows:
        cells = [row[i].ljust(widths[i]) if i == 0 else row[i].rjust(widths[i]) for i in range(5)]
        lines.append("  ".join(cells) + ("  " + row[5] if row[5] else ""))
    return "\n".join(lines)


def markdown(report: Report, runs: int) -> str:
    m = report.machine
    lines = [
        "# Benchmark results",
        "",
        f"{m['date']} · {m['cpu']}, {m['cores']} cores · {m['os']} · Python {m['python']} · "
        f"NumPy {m['numpy']} · PyYAML {m['pyyaml']} · commit {m['commit']}",
        "",
        f"Median of {runs} whole-process runs, each pair measured side by side; "
        f"environment: {report.details['environment']}.",
        "",
        "| figure | median | ratio | target | | note |",
        "| --- | ---: | ---: | ---: | --- | --- |",
    ]
    for f in report.figures:
        lines.append(
            f"| {f.name} | {'' if f.seconds is None else f'{f.seconds * 1e3:.0f} ms'} | "
            f"{'' if f.ratio is None else f'{f.ratio:.2f}× {f.versus}'} | "
            f"{'' if f.target is None else f'≤ {f.target:g}×'} | {verdict(f)} | {f.note} |")
    return "\n".join(lines) + "\n"


def bench_env(cache: Path) -> dict[str, str]:
    """The environment of every timed process, the same for both sides of a ratio.

    - Bytecode is cached (in a temporary folder), as after any installation;
      this sandbox sets PYTHONDONTWRITEBYTECODE, which would recompile every
      module of every run.
    - BLAS runs one thread: on a small shared machine OpenBLAS's spinning
      threads made one and the same run vary from 0.6 to 10 seconds.
    - OPENBLAS_CORETYPE is left as it is.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = "1"
    env["NO_COLOR"] = "1"
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=11, help="runs per command (default 11)")
    parser.add_argument("--only", nargs="+", choices=sorted(GROUPS), help="these groups only")
    parser.add_argument("--no-save", action="store_true", help="do not write results/")
    args = parser.parse_args(argv)

    report = Report(machine=machine())
    work = Path(tempfile.mkdtemp(prefix="backprop-bench-"))
    try:
        env = bench_env(work / "pycache")
        report.details["environment"] = (
            "bytecode cached, OPENBLAS_NUM_THREADS=1 on both sides, "
            f"OPENBLAS_CORETYPE={report.machine['OPENBLAS_CORETYPE']}")
        for name, group in GROUPS.items():
            if args.only and name not in args.only:
                continue
            print(f"… {name}", file=sys.stderr, flush=True)
            group(report, args.runs, env, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report.machine["load_average_at_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())

    m = report.machine
    print(f"{m['cpu']}, {m['cores']} cores · Python {m['python']} · NumPy {m['numpy']} · "
          f"load {m['load_average_at_start']} → {m['load_average_at_end']}")
    print(f"median of {args.runs} whole-process runs; {report.details['environment']}\n")
    print(table(report))
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        document = {
            "machine": report.machine,
            "runs": args.runs,
            "details": report.details,
            "figures": [vars(f) for f in report.figures],
        }
        (RESULTS / "latest.json").write_text(json.dumps(document, indent=2, ensure_ascii=False)
                                             + "\n", encoding="utf-8")
        (RESULTS / "latest.md").write_text(markdown(report, args.runs), encoding="utf-8")
        print(f"\nwritten to {(RESULTS / 'latest.json').relative_to(ROOT)} and latest.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
