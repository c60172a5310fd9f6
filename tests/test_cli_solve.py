"""`backprop solve` through click's CliRunner, and the lazy imports of the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from backprop_cli.cli import cli
from tests.conftest import PROBLEMS

SEED = str(PROBLEMS / "001b_two_layer_relu_sigmoid.yaml")


def test_json_has_every_value_key() -> None:
    result = CliRunner().invoke(cli, ["solve", SEED, "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["file"] == SEED
    assert document["title"].startswith("Seed 001")
    values = document["values"]
    assert values["a.o"] == 0.8249137318359602
    assert values["grad.v1"] == -0.045518213707639046
    assert "final.loss" in values and "new.w1" in values and "input.x1" in values
    assert list(values)[:3] == ["input.x1", "input.x2", "target.o"]


def test_keys_filter_and_steps_override() -> None:
    result = CliRunner().invoke(cli, ["solve", SEED, "--format", "json", "--keys", "final.loss",
                                      "--keys", "step3.loss", "--steps", "3"])
    assert result.exit_code == 0, result.output
    assert sorted(json.loads(result.output)["values"]) == ["final.loss", "step3.loss"]


def test_invalid_file_gives_path_line_col_and_exit_1(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.yaml"
    bad.write_text("network:\n  inputs: [x]\n  layers: []\nloss: l2\n")
    result = CliRunner().invoke(cli, ["solve", str(bad)])
    assert result.exit_code == 1
    message = "network.layers is empty: a network needs at least one layer"
    assert result.output == f"{bad}:3:11: {message}\n"


def test_usage_error_exits_2() -> None:
    result = CliRunner().invoke(cli, ["solve", SEED, "--format", "nope"])
    assert result.exit_code == 2


def test_help_and_version_import_neither_numpy_nor_rich() -> None:
    code = ("import sys; from backprop_cli.cli import cli\n"
            "for args in (['--help'], ['--version'], ['solve', '--help']):\n"
            "    try: cli(args)\n"
            "    except SystemExit: pass\n"
            "print(sorted(m for m in ('numpy', 'rich', 'yaml') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_python_dash_m_entry_point() -> None:
    out = subprocess.run([sys.executable, "-m", "backprop_cli", "--version"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "backprop, version 0.1.0"


def test_the_program_flushes_everything_and_keeps_exit_statuses() -> None:
    """backprop_cli.cli.main leaves with os._exit (no interpreter teardown): all output is
    written first, and each exit status is the one click gives."""
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "backprop_cli", *args],
                              capture_output=True, text=True)

    full = run("solve", str(PROBLEMS / "mazur_2-2-2_sigmoid.yaml"), "--format", "json")
    assert full.returncode == 0 and json.loads(full.stdout)["values"]  # complete JSON
    wrong = run("check", str(PROBLEMS.parent / "tests" / "bad" / "input_bool.yaml"))
    assert wrong.returncode == 1 and "input 'x2' must be a number" in wrong.stdout
    assert run("no-such-command").returncode == 2
    assert run("check", "/no/such/folder").returncode == 2


def test_a_reader_that_leaves_early_is_no_error() -> None:
    """`backprop solve … | head`: the rest of the output has nowhere to go; no traceback."""
    proc = subprocess.Popen([sys.executable, "-m", "backprop_cli", "solve",
                             str(PROBLEMS / "mazur_2-2-2_sigmoid.yaml"), "--steps", "3000",
                             "--format", "json"],  # megabytes: far more than a pipe holds
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(10)
    proc.stdout.close()
    assert proc.wait(timeout=60) in (0, 1)
    assert b"Traceback" not in proc.stderr.read()
