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


def test_a_keys_typo_is_an_error_with_the_key_meant() -> None:
    result = CliRunner().invoke(cli, ["solve", SEED, "--format", "json", "--keys", "grad.W1"])
    assert result.exit_code == 1
    assert result.output == (f"{SEED}: --keys 'grad.W1' matches no value key "
                             "(did you mean 'grad.w1'?)\n")
    both = CliRunner().invoke(cli, ["solve", SEED, "--format", "json", "--keys", "grad.w*",
                                    "--keys", "nope.*"])
    assert both.exit_code == 1 and "--keys 'nope.*' matches no value key" in both.output


def test_an_output_suffix_with_no_format_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "solution.png"
    result = CliRunner().invoke(cli, ["solve", SEED, "-o", str(target)])
    assert result.exit_code == 2
    assert "backprop solve writes no .png file (suffixes: .htm, .html, .json" in result.output
    assert not target.exists()
    explicit = CliRunner().invoke(cli, ["solve", SEED, "-o", str(target), "--format", "plain"])
    assert explicit.exit_code == 0 and target.read_text().startswith("Seed 001")
    bare = tmp_path / "solution"
    assert CliRunner().invoke(cli, ["solve", SEED, "-o", str(bare)]).exit_code == 0


def test_steps_0_skips_the_update_keys_the_file_publishes_with_a_notice() -> None:
    result = CliRunner().invoke(cli, ["solve", SEED, "--steps", "0", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        f"{SEED}: notice: --steps 0 computes no value for 2 expected keys of the file's own "
        "steps; skipped: new.v1, new.v2\n")
    document = json.loads(result.output.split("\n", 1)[1])
    assert "new.v1" not in document["values"] and "loss" in document["values"]
    # a key no step count makes (a typo) is still an error
    from backprop_cli.errors import ProblemError
    from backprop_cli.files.loader import parse_problem

    text = (PROBLEMS / "001b_two_layer_relu_sigmoid.yaml").read_text(encoding="utf-8")
    try:
        parse_problem(text.replace("new.v1:", "new.vv1:"), steps=0)
    except ProblemError as error:
        assert "unknown value key 'new.vv1'" in str(error)
    else:
        raise AssertionError("a typo in an expected key must be an error")


def test_notes_are_read_and_never_rendered(tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = (PROBLEMS / "001b_two_layer_relu_sigmoid.yaml").read_text(encoding="utf-8")
    path = tmp_path / "with_notes.yaml"
    path.write_text("notes: |\n  SECRET: hide the answers from students\n" + text,
                    encoding="utf-8")
    for fmt in ("plain", "markdown", "html", "json"):
        result = CliRunner().invoke(cli, ["solve", str(path), "--format", fmt])
        assert result.exit_code == 0, result.output
        assert "SECRET" not in result.output, fmt
    from backprop_cli.kinds.exercise import load_problem

    assert load_problem(path).notes == "SECRET: hide the answers from students\n"


def test_softmax_over_one_unit_is_refused_with_the_reason(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "one.yaml"
    path.write_text("network:\n  inputs: [x]\n  layers:\n"
                    "    - {units: [o], activation: softmax, weights: [[1]]}\n"
                    "loss: half_squared_error\nlearning_rate: 0.1\ninput: [1]\ntarget: 1\n")
    result = CliRunner().invoke(cli, ["solve", str(path)])
    assert result.exit_code == 1
    assert result.output == (f"{path}:4:32: layer 1: softmax over one unit is always 1, so the "
                             "loss and every gradient through it are constant: give the layer "
                             "at least two units, or use sigmoid for a single unit\n")


def test_output_into_a_missing_folder_or_an_unwritable_one_is_a_clean_error(
        tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The instructors' guide makes exams/2025_midterm/ first (issue 18: --output never
    creates folders, a missing one is a clear error)."""
    target = tmp_path / "exams" / "2025_midterm" / "variant_01.yaml"
    missing = CliRunner().invoke(cli, ["new", "--layers", "2-2-1", "--seed", "1", "--nice",
                                       "-o", str(target)])
    assert missing.exit_code == 1 and "no such folder" in missing.output
    target.parent.mkdir(parents=True)
    result = CliRunner().invoke(cli, ["new", "--layers", "2-2-1", "--seed", "1", "--nice",
                                      "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_text().startswith("# backprop new")
    blocked = tmp_path / "file.txt"
    blocked.write_text("x")
    bad = CliRunner().invoke(cli, ["solve", SEED, "-o", str(blocked / "out.txt")])
    assert bad.exit_code == 1
    assert bad.output.startswith(f"{blocked / 'out.txt'}: no such folder")
