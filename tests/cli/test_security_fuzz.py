"""Issue 18's fuzzing job: mutated problem files through every command, each command in a
process of its own under a memory limit (resource.setrlimit). Whatever the file, every
run ends with exit status 0, 1 or 2 and no traceback, JSON output parses and JUnit XML
is well formed. Deterministic (a fixed seed) and quick: the commands run side by side."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROBLEMS, ROOT

MEMORY_LIMIT = 2 << 30  # bytes of address space for each command's process
MUTANTS = 64
CHUNK = 16  # mutants per driver process
SEED = 18

# what an attacker types into a problem file
INSERTS = [
    "steps: 1000000\n", 'title: "Week 1\\e]0;pwned\\a\\e[2J"\n',
    "samples: {file: /proc/self/environ}\n",
    'description: "x\\n::error::forged"\n', "samples: {file: ../../../../etc/passwd}\n",
    "quiz: ['*nomatch']\n", "step: {x: 1e279}\n", "function: x^x^x^x^x^x^x^x\n",
    "expected: {final.loss: 1}\n", "title: '$\\\\frac{a}{b}$'\n", "tolerance: .nan\n",
    "batch_size: 0\n", "epochs: 100000000\n", "weights: {init: he, seed: 1}\n",
]
NUMBERS = ["1e308", "-1e308", "1e-320", "0", ".nan", ".inf", "1000000", "-1", "1e279", "2e9"]


def mutate(text: str, rng: random.Random) -> str:
    """One to three edits an attacker (or a typo) makes: mostly numbers and top-level
    keys, so that most mutants still parse and reach the engine and the renderers."""
    lines = text.splitlines(keepends=True) or ["\n"]
    for _ in range(rng.randint(1, 3)):
        op = rng.choices(range(5), weights=[5, 4, 1, 1, 1])[0]
        i = rng.randrange(len(lines))
        if op == 0:  # a number becomes an extreme one
            numbered = [k for k, line in enumerate(lines) if re.search(r"\d", line)]
            if numbered:
                k = rng.choice(numbered)
                lines[k] = re.sub(r"-?\d+(\.\d+)?(e-?\d+)?", lambda _: rng.choice(NUMBERS),
                                  lines[k], count=1)
        elif op == 1:  # a top-level key set to an attack: its one-line form replaced
            insert = rng.choice(INSERTS)
            key = insert.split(":", 1)[0] + ":"
            same = [k for k, line in enumerate(lines) if line.startswith(key)]
            if same and lines[same[0]].strip() != key:
                lines[same[0]] = insert
            elif not same:
                lines.append(insert)
        elif op == 2:
            lines.insert(i, lines[i]) if rng.random() < 0.5 or len(lines) < 2 else lines.pop(i)
        elif op == 3:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            raw = bytearray(lines[i].encode())
            if raw:
                raw[rng.randrange(len(raw))] = rng.randrange(256)
            lines[i] = raw.decode("utf-8", "replace")
    return "".join(lines)


DRIVER = r"""
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
resource.setrlimit(resource.RLIMIT_CPU, ({cpu}, {cpu}))
from click.testing import CliRunner
from backprop_cli.cli import cli
commands, files, folder = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
results = []
def run(args, name):
    result = CliRunner().invoke(cli, args, input="")
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    results.append({{"args": args, "file": name, "status": result.exit_code,
                    "out": result.stdout, "err": result.stderr,
                    "crash": repr(result.exception) if crashed else None}})
for command in commands:
    for name in files:
        run([a.replace("FILE", name) for a in command], name)
if folder:
    for fmt in ("json", "junit", "github", "text"):
        run(["check", folder, "--format", fmt, "--jobs", "1"], folder)
print(json.dumps(results))
"""

# every command a problem file reaches (check: below, over the whole folder)
COMMANDS = [
    ["solve", "FILE", "--format", "json"],
    ["solve", "FILE", "--format", "plain"],
    ["solve", "FILE", "--format", "svg"],
    ["quiz", "FILE"],
    ["train", "FILE", "--format", "json"],
    ["gradcheck", "FILE", "--format", "json"],
    ["probe", "FILE", "w1=+0.1", "--format", "json"],
    ["diagram", "FILE", "--format", "json"],
    ["surface", "FILE", "w1", "w2", "--format", "json"],
]
CPU_SECONDS = 240  # for the whole run: a mutant that makes a command run away fails it


@pytest.fixture(scope="module")
def mutants(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    folder = tmp_path_factory.mktemp("mutants")
    seeds = sorted(PROBLEMS.glob("*.yaml"))
    (folder / "data").mkdir()
    for data in (PROBLEMS / "data").iterdir():
        (folder / "data" / data.name).write_bytes(data.read_bytes())
    rng = random.Random(SEED)
    names = []
    for k in range(MUTANTS):
        seed = seeds[k % len(seeds)]
        path = folder / f"m{k:02}_{seed.name}"
        path.write_text(mutate(seed.read_text(encoding="utf-8"), rng), encoding="utf-8")
        names.append(str(path))
    return names


def test_mutated_files_through_every_command(mutants: list[str]) -> None:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    env.pop("GITHUB_ACTIONS", None)
    folder = str(Path(mutants[0]).parent)
    results = []
    # a few processes, each under the memory limit: memory one command leaves behind in
    # the allocator is not another command's (the limit is per command, not per suite)
    for start in range(0, MUTANTS, CHUNK):
        last = start + CHUNK >= MUTANTS
        proc = subprocess.run(
            [sys.executable, "-c", DRIVER.format(limit=MEMORY_LIMIT, cpu=CPU_SECONDS),
             json.dumps(COMMANDS), json.dumps(mutants[start:start + CHUNK]),
             folder if last else ""],
            capture_output=True, env=env, cwd=ROOT, timeout=900)
        assert proc.returncode == 0, (f"the driver failed ({proc.returncode}): "
                                      f"{proc.stderr[-3000:]!r}")
        results += json.loads(proc.stdout)
    problems: list[str] = []
    assert len(results) == len(COMMANDS) * MUTANTS + 4
    statuses = [r["status"] for r in results]
    assert statuses.count(0) >= MUTANTS // 4 and statuses.count(1) >= MUTANTS // 4  # both
    for result in results:
        args = result["args"]
        where = f"{args[0]} {' '.join(args[2:])} {Path(result['file']).name}"
        out = result["out"]
        if result["crash"] or result["status"] not in (0, 1, 2):
            problems.append(f"{where}: status {result['status']} {result['crash']}")
        if "Traceback" in out + result["err"]:
            problems.append(f"{where}: a traceback")
        fmt = args[args.index("--format") + 1] if "--format" in args else "plain"
        out.encode("utf-8")  # valid UTF-8 (no lone surrogate), or this raises
        if fmt == "json" and result["status"] in (0, 1) and out.startswith("{"):
            try:
                json.loads(out)
            except ValueError:
                problems.append(f"{where}: invalid JSON")
        if args[0] == "check":
            if fmt == "json":
                assert json.loads(out)["summary"]["files"] == MUTANTS
            elif fmt == "junit":
                from xml.etree import ElementTree

                ElementTree.fromstring(out.encode())
            elif fmt == "github":
                assert not [line for line in out.splitlines() if line.startswith("::")
                            and not line.startswith(("::error ", "::notice "))]
            assert "\x1b" not in out
    assert not problems, "\n".join(problems)
