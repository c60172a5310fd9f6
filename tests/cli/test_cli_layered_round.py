"""backprop solve --round and check on a layered network in hand-calculation mode (the
values rounded by hand: tests/engine/test_layered_handcalc.py)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from backprop_cli.cli import cli
from tests.engine.test_layered_handcalc import RNN, RNN_BY_HAND


def test_solve_round_is_the_file_round_and_overrides_it(tmp_path: Path) -> None:
    plain = tmp_path / "rnn.yaml"
    plain.write_text(RNN.replace("round: 4\n", ""), encoding="utf-8")
    rounded = tmp_path / "rnn4.yaml"
    rounded.write_text(RNN, encoding="utf-8")
    runner = CliRunner()
    by_option = runner.invoke(cli, ["solve", str(plain), "--round", "4", "--format", "json"])
    by_file = runner.invoke(cli, ["solve", str(rounded), "--format", "json"])
    assert by_option.exit_code == 0 and by_file.exit_code == 0, by_option.output
    assert json.loads(by_option.output)["values"] == json.loads(by_file.output)["values"]
    two = runner.invoke(cli, ["solve", str(rounded), "--round", "2", "--format", "json"])
    assert json.loads(two.output)["values"]["a.h#1"] == 0.54  # tanh(0.6) → 0.54


def test_a_file_with_its_rounded_published_values_passes(tmp_path: Path) -> None:
    expected = "".join(f"  {key}: {value}\n" for key, value in RNN_BY_HAND.items())
    path = tmp_path / "rnn.yaml"
    path.write_text(RNN + "expected:\n" + expected, encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 0, result.output
    assert f"passed ({len(RNN_BY_HAND)} values: {len(RNN_BY_HAND)} correct)" in result.output
    wrong = path.read_text(encoding="utf-8").replace("grad.w: 0.4787", "grad.w: 0.5787")
    path.write_text(wrong, encoding="utf-8")
    assert CliRunner().invoke(cli, ["check", str(path)]).exit_code == 1


def test_the_quiz_states_the_rounding_and_the_batches(tmp_path: Path) -> None:
    path = tmp_path / "rnn.yaml"
    samples = ("samples:\n  - {sequence: [[1], [0.5]], target: [0.5]}\n"
               "  - {sequence: [[0], [1]], target: [0]}\n"
               "  - {sequence: [[1], [1]], target: [1]}\nbatch_size: 2\n")
    path.write_text(RNN.replace("sequence: [[1], [0.5]]\ntarget: [0.5]\n", samples),
                    encoding="utf-8")
    result = CliRunner().invoke(cli, ["quiz", str(path), "--keys", "a.h#1@1"], input="\n")
    assert "  batches of 2: step 1 uses samples 1–2\n" in result.output
    assert "  round every value to 4 decimals as you go\n" in result.output
