"""`backprop train`: the seed's chain trained to convergence, the loss table, Ctrl-C, JSON."""

from __future__ import annotations

import json
import signal

import numpy as np
import pytest
from click.testing import CliRunner

from backprop_cli.app.training import StopOnInterrupt, TrainingResult, report_lines, train
from backprop_cli.cli import cli
from backprop_cli.kinds.exercise import load_exercise, load_problem
from backprop_cli.numfmt import format_number
from backprop_cli.render.textplot import loss_chart, spaced
from tests.conftest import PROBLEMS

CHAIN = PROBLEMS / "003d_chain_trained_to_convergence.yaml"


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["train", *args])


def by_hand(steps: int, lr: float = 0.01) -> tuple[float, float]:
    """Gradient descent on ½(20 − 2·w1·w2)² from (2, 0.5), written out."""
    w1, w2 = 2.0, 0.5
    for _ in range(steps):
        error = 2 * w1 * w2 - 20
        w1, w2 = w1 - lr * error * 2 * w2, w2 - lr * error * 2 * w1
    return w1, w2


def test_the_chain_converges_to_the_seeds_weights() -> None:
    result = train(load_problem(CHAIN))
    assert result.steps_run == 30 and not result.interrupted
    w1, w2 = result.final["final.w1"], result.final["final.w2"]
    assert (round(w1, 3), round(w2, 3)) == (3.391, 2.949)
    assert (w1, w2) == pytest.approx(by_hand(30), rel=1e-12)
    assert w1 * w2 == pytest.approx(10)  # on the valley w1·w2 = 10
    assert result.final["final.a.y"] == pytest.approx(20)
    seed_y = 2 * 3.391 * 2.949  # the seed's ŷ = 20.000118, from the rounded weights
    assert seed_y == pytest.approx(20.000118)


def test_other_learning_rates_end_elsewhere_on_the_valley() -> None:
    """The published weights pin the learning rate down: 0.005 and 0.02 do not give them."""
    for lr, expected in ((0.005, (3.434, 2.912)), (0.02, (3.280, 3.049))):
        w1, w2 = by_hand(20_000, lr)
        assert (round(w1, 3), round(w2, 3)) == expected


def test_losses_are_one_per_step_and_the_keys_name_them() -> None:
    result = train(load_problem(CHAIN), steps=3)
    assert result.losses.shape == (4,)
    assert result.losses[:2] == pytest.approx([162, 107.76294432])
    assert [result.loss_key(k) for k in range(4)] == [
        "loss", "step2.loss", "step3.loss", "final.loss"]
    table = result.table(rows=4)  # three steps and the final loss
    assert [(label, key) for label, key, _ in table] == [
        ("1", "loss"), ("2", "step2.loss"), ("3", "step3.loss"), ("final", "final.loss")]


def test_table_rows_are_first_last_and_evenly_spaced() -> None:
    assert spaced(30, 10) == [0, 3, 6, 10, 13, 16, 19, 23, 26, 29]
    assert spaced(3, 10) == [0, 1, 2]
    result = train(load_problem(CHAIN))
    labels = [label for label, _, _ in result.table(rows=11)]
    # evenly spaced: step 1, every 5th step (1, 2, 5, 10, ... apart), the last one
    assert labels == ["1", "5", "10", "15", "20", "25", "30", "final"]
    assert [label for label, _, _ in result.table(rows=31)][:4] == ["1", "2", "3", "4"]
    assert [label for label, _, _ in result.table(rows=5)] == ["1", "10", "20", "30", "final"]
    assert len(result.table(rows=0)) == 31


def test_keyboard_interrupt_from_on_step_keeps_the_state_reached() -> None:
    def stop_at_5(step: int, loss: float) -> None:
        if step == 5:
            raise KeyboardInterrupt

    result = train(load_problem(CHAIN), on_step=stop_at_5)
    assert result.interrupted and result.steps_run == 5
    assert (result.final["final.w1"], result.final["final.w2"]) == pytest.approx(by_hand(5))
    assert result.losses.shape == (6,)
    assert result.losses[-1] == result.final["final.loss"]
    assert result.stopped == "interrupted after 5 of 30 steps"


def test_ctrl_c_is_deferred_to_the_next_step_boundary() -> None:
    with StopOnInterrupt() as stop:
        signal.raise_signal(signal.SIGINT)  # no KeyboardInterrupt here, in mid-step
        assert stop.requested
        with pytest.raises(KeyboardInterrupt):
            stop.check()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_until_loss_stops_once_the_loss_is_reached() -> None:
    result = train(load_problem(CHAIN), steps=100, until_loss=1e-3)
    assert result.stopped is not None
    assert result.losses[-1] <= 1e-3
    assert result.steps_run < 100


def test_until_loss_does_not_update_past_the_target() -> None:
    result = train(load_problem(CHAIN), steps=100, until_loss=1e-3)
    # the loss after 7 updates is 0.000343, the first at most 1e-3: no eighth update
    assert result.steps_run == 7
    assert result.losses[-2] > 1e-3


def test_memory_is_one_number_per_step() -> None:
    result = train(load_problem(CHAIN), steps=20_000)
    assert result.losses.nbytes == 8 * 20_001
    assert all(key.startswith("final.") for key in result.final)


def test_report_and_chart() -> None:
    result = train(load_problem(CHAIN))
    lines = report_lines(result)
    assert lines[1] == "gradient descent, learning rate 0.01: 30 of 30 steps"
    assert "    1  162        loss" in lines
    assert "final  0          final.loss" in lines
    assert "  final.w1    3.391" in lines
    assert "  final.w2    2.949" in lines
    assert "  final.a.y   20" in lines
    assert "loss after each update (log scale)" in lines
    chart = loss_chart([4.0, 3.0, 2.0, 1.0], width=10, height=2)
    # linear (4/1 is no order of magnitude): 16, 11, 5 and 1 eighths of two rows
    assert chart[0] == "4 ┤█▃"  # no trailing blanks
    assert chart[1] == "1 ┤██▅▁"
    assert chart[3].split() == ["0", "updates", "3"]


def test_command_plain_output() -> None:
    result = run(str(CHAIN))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("Seed 003, exercise 1 trained to convergence")
    assert " step  loss       key" in lines
    assert "  final.w1    3.391" in lines
    assert "  final.w2    2.949" in lines


def test_command_json_and_steps_override() -> None:
    result = run(str(CHAIN), "--steps", "10", "--rows", "4", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["steps_run"] == 10 and document["interrupted"] is False
    assert list(document["losses"]) == ["loss", "step5.loss", "step10.loss", "final.loss"]
    assert document["losses"]["loss"] == 162
    assert document["values"]["final.w1"] == pytest.approx(by_hand(10)[0])
    assert set(document["values"]) == {"final.w1", "final.w2", "final.a.y", "final.loss"}


def test_command_until_loss() -> None:
    result = run(str(CHAIN), "--steps", "1000", "--until-loss", "1e-6", "--format", "json")
    document = json.loads(result.output)
    assert document["stopped"].startswith("loss ")
    assert document["values"]["final.loss"] <= 1e-6
    assert document["steps_run"] < 1000


def press_ctrl_c_after_step_3(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command's run gets a KeyboardInterrupt from its callback after update 3, as a
    Ctrl-C arrives (StopOnInterrupt raises it at the step boundary)."""
    import backprop_cli.app.training as training

    real = training.train

    def interrupted(problem, until_loss=None, on_step=None):  # type: ignore[no-untyped-def]
        def press_ctrl_c(step: int, loss: float) -> None:
            assert on_step is not None
            on_step(step, loss)
            if step == 3:
                raise KeyboardInterrupt

        return real(problem, until_loss=until_loss, on_step=press_ctrl_c)

    monkeypatch.setattr(training, "train", interrupted)


def test_command_ctrl_c_prints_the_state_and_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    press_ctrl_c_after_step_3(monkeypatch)
    result = run(str(CHAIN))
    assert result.exit_code == 130
    assert "interrupted (Ctrl-C) after step 3: the state reached" in result.output
    w1 = by_hand(3)[0]
    assert f"  final.w1    {w1:.4g}" in result.output


def test_command_progress_bar_on_request() -> None:
    result = run(str(CHAIN), "--steps", "500", "--progress")
    assert result.exit_code == 0, result.output


def test_command_errors() -> None:
    assert run(str(CHAIN), "--steps", "-1").exit_code == 2
    assert run(str(CHAIN), "--plot", "loss.txt").exit_code == 2
    missing = run(str(PROBLEMS / "nope.yaml"))
    assert missing.exit_code == 1


def test_command_invalid_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.yaml"
    bad.write_text("network:\n  inputs: [x]\n  layers: []\nloss: half_squared_error\n")
    result = run(str(bad))
    assert result.exit_code == 1
    assert result.output.startswith(f"{bad}:3:")


def test_diverging_run_is_a_clean_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = CHAIN.read_text().replace("learning_rate: 0.01", "learning_rate: 5")
    text = text.split("expected:")[0]
    fast = tmp_path / "fast.yaml"
    fast.write_text(text)
    result = run(str(fast), "--steps", "100")
    assert result.exit_code == 1
    assert "diverging" in result.output
    assert "Traceback" not in result.output


def test_result_type_is_the_documented_one() -> None:
    result = train(load_problem(CHAIN), steps=2)
    assert isinstance(result, TrainingResult)
    assert isinstance(result.losses, np.ndarray)


def test_a_zero_loss_gets_no_bar_on_the_log_chart_not_a_fake_floor() -> None:
    from backprop_cli.render.textplot import loss_chart

    chart = loss_chart([100.0, 1.0, 1e-4, 0.0, 0.0], width=5, height=2)
    assert chart[-1].strip() == "(no bar: the loss is 0, first at update 3)"
    assert chart[1] == "0.0001 ┤██▁"  # the bottom row: three bars, none for the two zeros
    assert chart[1].startswith("0.0001 ")  # the axis ends at the smallest real loss
    assert "no bar" not in "".join(loss_chart([3.0, 2.0, 0.0], width=3))  # a linear axis


# ---------------------------------------------------------------- layered networks (issue 19)

CONV = PROBLEMS / "030_conv_pool_dropout.yaml"
RNN = PROBLEMS / "031_rnn_bptt.yaml"

RNN_THREE_STEPS = """\
A recurrent unit unrolled over three steps: BPTT by hand
gradient descent, learning rate 0.1: 3 of 3 steps

 step  loss       key
    1  0.01688    loss
    2  0.0003431  step2.loss
    3  1.818e-5   step3.loss
final  1.07e-6    final.loss

loss after each update (log scale)
 0.0169 ┤█
        ┤█
        ┤█
        ┤█▆
        ┤██
        ┤██▃
        ┤███
1.07e-6 ┤███▁
        └────
         0 updates 3

final parameters
  final.w      0.4859
  final.u      0.929
  final.b      0.1546
  final.v      1.505
final outputs
  final.a.y#1  0.8507
  final.a.y#2  1.094
  final.a.y#3  0.4985
final loss
  final.loss   1.07e-6
"""


def test_layered_plain_output_exactly() -> None:
    from tests.engine.test_layered_train import rnn_run_by_hand

    result = run(str(RNN), "--steps", "3", "--rows", "0")
    assert result.exit_code == 0, result.output
    assert result.output == RNN_THREE_STEPS
    # its numbers are BPTT written out, to 4 significant digits
    losses, params, outputs = rnn_run_by_hand(3)
    shown = {line.split()[-1]: line.split()[1] for line in RNN_THREE_STEPS.splitlines()[4:8]}
    assert [float(shown[key]) for key in ("loss", "step2.loss", "step3.loss", "final.loss")
            ] == [float(f"{loss:.4g}") for loss in losses]
    rows = dict(line.split() for line in RNN_THREE_STEPS.splitlines()[-12:] if "final." in line)
    for name, value in params.items():
        assert float(rows[f"final.{name}"]) == float(f"{value:.4g}")
    for t, value in enumerate(outputs, start=1):
        assert float(rows[f"final.a.y#{t}"]) == float(f"{value:.4g}")


def test_layered_losses_are_the_loops_written_out() -> None:
    from tests.engine.test_layered_train import conv_by_hand, rnn_by_hand

    conv = train(load_exercise(CONV), steps=30)
    assert conv.losses == pytest.approx(conv_by_hand(30), rel=1e-12)
    assert [conv.loss_key(k) for k in (0, 1, 30)] == ["loss", "step2.loss", "final.loss"]
    rnn = train(load_exercise(RNN), steps=12)
    assert rnn.losses == pytest.approx(rnn_by_hand(12), rel=1e-9)


def test_layered_until_loss_stops_at_the_first_loss_reached() -> None:
    from tests.engine.test_layered_train import rnn_by_hand

    losses = rnn_by_hand(40)
    target = losses[6] * 0.999  # reached first after 7 updates (the losses only fall)
    assert losses[7] <= target < losses[6]
    result = run(str(RNN), "--steps", "40", "--until-loss", repr(target), "--format", "json")
    document = json.loads(result.output)
    assert document["steps_run"] == 7
    assert document["stopped"] == f"loss {losses[7]:.6g} reached {target:g} after 7 updates"
    assert document["values"]["final.loss"] == pytest.approx(losses[7], rel=1e-9)


def test_layered_json_document_lists_every_element_and_sums_up_big_tensors(
        tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.engine.test_layered_train import random_conv

    path = random_conv(tmp_path, 7)  # kernel 2×2×3×3 = 36 elements, dense 3×8 = 24
    result = run(str(path), "--steps", "5", "--rows", "3", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert list(document) == ["file", "title", "learning_rate", "steps", "steps_run",
                              "until_loss", "stopped", "interrupted", "losses", "values",
                              "tensors"]
    assert list(document["losses"]) == ["loss", "step5.loss", "final.loss"]
    values = document["values"]
    problem = load_exercise(path)
    solved = train(problem, steps=5)
    kernel = [values[f"final.W1[{f},{c},{i},{j}]"] for f in (1, 2) for c in (1, 2)
              for i in (1, 2, 3) for j in (1, 2, 3)]
    assert len(values) == 36 + 2 + 24 + 3 + 2 * 3 + 1  # parameters, outputs, loss
    assert list(values)[-7:] == [f"final.a.{unit}@{k}" for k in (1, 2) for unit in "pqr"] + [
        "final.loss"]
    assert document["tensors"]["final.W1"] == {
        "shape": [2, 2, 3, 3], "norm": pytest.approx(float(np.linalg.norm(kernel))),
        "min": min(kernel), "max": max(kernel)}
    assert set(document["tensors"]) == {"final.W1", "final.W4"}  # b1 (2), b4 (3): in full
    assert values["final.loss"] == solved.final["final.loss"]
    lines = report_lines(solved, digits=4)
    section = lines[lines.index("final parameters") + 1:lines.index("final outputs")]
    # in the order of the parameters: each tensor summed up, each bias in full
    assert [line.split()[0] for line in section[:-1]] == [
        "final.W1", "final.b1[1]", "final.b1[2]", "final.W4", "final.b4[1]", "final.b4[2]",
        "final.b4[3]"]
    norm, low, high = (format_number(number, 4) for number in (
        float(np.linalg.norm(kernel)), min(kernel), max(kernel)))
    assert section[0].split(None, 1)[1] == f"2×2×3×3: norm {norm}, min {low}, max {high}"
    assert section[-1] == ("  (a tensor of more than 12 elements summed up: --format json "
                           "lists every element)")


def test_layered_outputs_of_many_samples_are_listed_up_to_24(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.engine.test_layered_train import random_conv

    path = random_conv(tmp_path, 8)
    text = path.read_text(encoding="utf-8")
    samples = text[text.index("samples:\n") + len("samples:\n"):]
    path.write_text(text + samples * 9, encoding="utf-8")  # 20 samples × 3 outputs
    lines = report_lines(train(load_exercise(path), steps=1))
    outputs = lines[lines.index("final outputs") + 1:lines.index("final loss")]
    assert len(outputs) == 25 and outputs[-1] == "  … and 36 more (--format json lists them all)"


def test_layered_ctrl_c_prints_the_state_and_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.engine.test_layered_train import rnn_run_by_hand

    press_ctrl_c_after_step_3(monkeypatch)
    result = run(str(RNN), "--steps", "50")
    assert result.exit_code == 130
    assert "gradient descent, learning rate 0.1: 3 of 50 steps" in result.output
    assert "interrupted (Ctrl-C) after step 3: the state reached" in result.output
    w = rnn_run_by_hand(3)[1]["w"]
    assert f"  final.w      {w:.4g}\n" in result.output


def test_layered_long_run_past_what_solve_would_record() -> None:
    """solve refuses 14,000 steps of the conv exercise (it keeps every value of every
    step); train keeps the losses only."""
    from tests.engine.test_layered_train import conv_by_hand

    assert CliRunner().invoke(cli, ["solve", str(CONV), "--steps", "14000"]).exit_code == 1
    result = run(str(CONV), "--steps", "14000", "--until-loss", "4.9e-5", "--format", "json")
    assert result.exit_code == 0, result.output
    reached = next(k for k, loss in enumerate(conv_by_hand(20)) if loss <= 4.9e-5)
    assert json.loads(result.output)["steps_run"] == reached


def test_a_derivative_exercise_is_still_refused() -> None:
    result = run(str(PROBLEMS / "003e_derivative_polynomial.yaml"))
    assert result.exit_code == 1 and "has no network" in result.output
