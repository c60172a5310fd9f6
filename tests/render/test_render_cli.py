"""`backprop solve` in every format through click's CliRunner, and the large-network budget."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from backprop_cli.cli import cli
from tests.conftest import PROBLEMS

SEED = str(PROBLEMS / "001b_two_layer_relu_sigmoid.yaml")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
BOX_DRAWING = re.compile(r"[\u2500-\u257f]")


def solve(*args: str, env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(cli, ["solve", *args], env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_plain_is_the_default_in_a_pipe() -> None:
    out = solve(SEED)
    assert out == solve(SEED, "--format", "plain")
    assert not ANSI.search(out) and not BOX_DRAWING.search(out)
    assert "z_h1 = w1·x1 + w2·x2 + b1 = 0.5·1 + 0.6·2 + 0.1 = 0.5 + 1.2 + 0.1 = 1.8" in out
    assert "∂L/∂v1 = δ_o·a_h1 = −0.02529·1.8 = −0.04552" in out
    assert "σ′(z_o) = ŷ·(1 − ŷ) = 0.8249·(1 − 0.8249) = 0.8249·0.1751 = 0.1444" in out


def test_rich_has_colour_and_no_color_turns_it_off() -> None:
    out = solve(SEED, "--format", "rich", "--width", "100")
    assert ANSI.search(out)
    assert "ReLU′(z_h1)" in ANSI.sub("", out)
    plain = solve(SEED, "--format", "rich", "--width", "100", env={"NO_COLOR": "1"})
    assert not re.search(r"\x1b\[[0-9;]*3[0-9]m", plain)  # no foreground colours


def test_markdown_has_display_and_inline_math() -> None:
    out = solve(SEED, "--format", "markdown")
    assert out.startswith("# Seed 001, exercise 2")
    assert "## 2. Forward pass" in out
    assert ("$$z_{h1} = w_{1} \\cdot x_{1} + w_{2} \\cdot x_{2} + b_{1} = 0.5 \\cdot 1 + "
            "0.6 \\cdot 2 + 0.1 = 0.5 + 1.2 + 0.1 = 1.8$$") in out
    assert "| $w_{1}$ | 0.5 |" in out
    assert (r"\frac{\partial L}{\partial a_{h1}} = v_{1} \cdot \delta_{o} = "
            r"0.4 \cdot (-0.02529)") in out
    for math_text in re.findall(r"\$\$(.+?)\$\$|\$(.+?)\$", out, flags=re.S):
        text = "".join(math_text)
        assert text.count("{") == text.count("}"), text
        assert text.count(r"\left(") == text.count(r"\right)"), text


def test_html_is_a_document_and_svg_the_terminal_rendering(tmp_path: Path) -> None:
    html = solve(SEED, "--format", "html")  # tests/render/test_handouts.py has the details
    assert html.startswith("<!doctype html>") and "−0.04552" in html
    svg_file = tmp_path / "solution.svg"
    solve(SEED, "--output", str(svg_file))  # the format from the suffix
    svg = svg_file.read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<svg") and "</svg>" in svg


def test_output_suffix_picks_markdown(tmp_path: Path) -> None:
    target = tmp_path / "solution.md"
    assert solve(SEED, "-o", str(target)) == ""
    assert target.read_text(encoding="utf-8").startswith("# Seed 001")


def test_json_is_unchanged_by_the_renderers() -> None:
    values = json.loads(solve(SEED, "--format", "json"))["values"]
    assert values["grad.v1"] == -0.045518213707639046


def test_ascii_is_plain_ascii() -> None:
    out = solve(SEED, "--ascii")
    assert out.isascii()
    assert "dL/dv1 = delta_o*a_h1 = -0.02529*1.8 = -0.04552" in out
    assert "y_hat = sigmoid(z_o) = sigmoid(1.55) = 0.8249" in out


def test_digits() -> None:
    out = solve(SEED, "--digits", "6")
    assert "ŷ = σ(z_o) = σ(1.55) = 0.824914" in out


def test_step_k_is_shown_in_full() -> None:
    out = solve(SEED, "--steps", "5", "--step", "3")
    assert "2. Forward pass (step 3)" in out
    assert "Step 3 starts from the parameters after 2 updates." in out
    assert "Loss per step" in out and "Final parameters" in out
    # the update of step 3, from its own numbers: w1 after two updates, not 0.5
    assert re.search(r"w1ⁿᵉʷ = w1 − η·∂L/∂w1 = 0\.500\d+ − 0\.01·", out)


@pytest.mark.parametrize("args", [["--step", "2"], ["--keys", "grad.*"],
                                  ["--format", "nope"], ["--step", "0"]])
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = CliRunner().invoke(cli, ["solve", SEED, *args])
    assert result.exit_code == 2, result.output


def test_help_has_examples() -> None:
    result = CliRunner().invoke(cli, ["solve", "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.output and "--format markdown" in result.output


def large_network(tmp_path: Path, steps: int = 1) -> str:
    """A 64-32-10 ReLU/softmax classifier with fixed pseudo-random weights."""
    import numpy as np

    rng = np.random.default_rng(0)

    def uniform(*shape: int) -> list[object]:
        return np.round(rng.uniform(-0.5, 0.5, shape), 3).tolist()  # type: ignore[no-any-return]

    document = {
        "network": {"inputs": 64, "layers": [
            {"units": 32, "activation": "relu", "weights": uniform(32, 64), "bias": uniform(32)},
            {"units": 10, "activation": "softmax", "weights": uniform(10, 32),
             "bias": uniform(10)}]},
        "loss": "cross_entropy", "learning_rate": 0.1, "steps": steps,
        "input": np.round(rng.uniform(0, 1, 64), 2).tolist(), "target": "o3"}
    path = tmp_path / f"net_64_32_10_{steps}.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("steps", [1, 200])
def test_large_network_is_a_few_hundred_lines_in_well_under_a_second(
        tmp_path: Path, steps: int) -> None:
    path = large_network(tmp_path, steps)
    solve(path)  # imports and caches warm
    # CPU time, not wall time: other processes on a loaded CI machine do not count
    start = time.process_time()
    out = solve(path, "--width", "100")
    elapsed = time.process_time() - start
    lines = out.splitlines()
    assert elapsed < 1.0
    assert len(lines) <= 300
    assert max(len(line) for line in lines) <= 100
    assert "The 5 largest of the layer's 2080 gradients" in out


def test_plain_and_markdown_never_import_rich() -> None:
    code = ("import sys\nfrom backprop_cli.cli import cli\n"
            f"for fmt in ('plain', 'markdown'):\n"
            f"    try: cli(['solve', {SEED!r}, '--format', fmt, '-o', '/dev/null'])\n"
            "    except SystemExit: pass\n"
            "print('rich' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_a_long_run_records_only_what_is_shown() -> None:
    """Memory is flat in the number of steps: step K, step 1 and the final pass."""
    from backprop_cli.kinds.exercise import load_problem
    from backprop_cli.render import solve_for_display

    short = solve_for_display(load_problem(SEED, steps=10), step=5)
    long = solve_for_display(load_problem(SEED, steps=2000), step=1500)
    assert len(long.values) == len(short.values)
    assert "step1500.new.w1" in long.values and "step1499.w1" not in long.values
    assert len(long.losses) == 2001


def test_terminal_width_follows_columns(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from backprop_cli.cli.solve import PIPE_WIDTH, terminal_columns

    monkeypatch.setenv("COLUMNS", "123")
    assert terminal_columns() == 123
    monkeypatch.setenv("COLUMNS", "junk")
    assert terminal_columns() > 0  # the terminal's own width, or the pipe width
    monkeypatch.delenv("COLUMNS")
    monkeypatch.setattr("os.get_terminal_size", lambda fd: (_ for _ in ()).throw(OSError()))
    assert terminal_columns() == PIPE_WIDTH


def test_wide_layer_tables_name_no_unit_in_their_headers(tmp_path: Path) -> None:
    """Every row of a wide layer's table is its own unit's z and a: a header `z_h1` over
    h2's row was wrong."""
    from backprop_cli.app.generator import Options, generate

    path = tmp_path / "wide.yaml"
    path.write_text(generate(Options(layers=(2, 14, 1), activations=("tanh", "sigmoid"),
                                     seed=2)).text, encoding="utf-8")
    lines = CliRunner().invoke(cli, ["solve", str(path), "--format", "plain"]).output.splitlines()
    forward = lines.index("  Each unit's z and a")
    assert lines[forward + 1].split()[:3] == ["unit", "z", "a"]
    backward = lines.index("  Each unit's gradients")
    assert lines[backward + 1].split()[:6] == ["unit", "∂L/∂a", "∂a/∂z", "δ", "=", "∂L/∂z"]
    assert "z_h1" not in lines[forward + 1] and "δ_h1" not in lines[backward + 1]


def test_softmax_layer_shows_every_z_then_the_sum_then_each_a() -> None:
    """Issue 17: a_o1 was printed before z_o2 and z_o3, the exponentials and their sum were
    never shown, and the terms of the sum changed order from unit to unit."""
    path = str(PROBLEMS / "012_three_classes_init.yaml")
    text = CliRunner().invoke(cli, ["solve", path, "--format", "plain"]).output
    layer = text.split("Layer 2 (output, softmax)\n")[1].split("\n\n")[0]
    heads = [line.split(" = ")[0].strip() for line in layer.splitlines()
             if not line.startswith("    ")]
    assert heads == ["z_o1⁽¹⁾", "z_o2⁽¹⁾", "z_o3⁽¹⁾", "S", "a_o1⁽¹⁾", "a_o2⁽¹⁾", "a_o3⁽¹⁾"]
    assert ("  S = exp(z_o1⁽¹⁾) + exp(z_o2⁽¹⁾) + exp(z_o3⁽¹⁾) = exp(0.1558) + exp(−0.03556) + "
            "exp(−0.192)\n    = 1.169 + 0.9651 + 0.8253 = 2.959") in layer
    assert "  a_o2⁽¹⁾ = exp(z_o2⁽¹⁾)/S = exp(−0.03556)/2.959 = 0.9651/2.959 = 0.3261" in layer


def test_solve_ends_with_a_summary_of_the_loss() -> None:
    text = CliRunner().invoke(cli, ["solve", SEED, "--format", "plain"]).output
    assert text.endswith("7. Summary\n----------\n\nloss before:         0.01533\n"
                         "loss after 1 update: 0.01527\nchange:              −5.715e-5 "
                         "(0.4% lower)\n\nPublished values: 8 correct, 5 consistent, "
                         "10 errata.\n")
    none = CliRunner().invoke(cli, ["solve", SEED, "--format", "plain", "--steps", "0"]).output
    assert "Summary\n----------\n\nloss:    0.01533\nupdates: none (steps: 0)\n" in none
