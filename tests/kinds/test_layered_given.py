"""What a layered network's quiz states as given (issue 19 review): each dropout's rate,
scale and mask, and each tensor as rows, a matrix per leading index; a tensor too large
for a screen named by its shape. The quiz, `grade`'s material and `export moodle` share
these lines (tests/app/test_moodle.py)."""

from __future__ import annotations

from click.testing import CliRunner

from backprop_cli.app.quiz import QuizSession
from backprop_cli.cli import cli
from backprop_cli.kinds.exercise import load_exercise, parse_exercise
from tests.conftest import PROBLEMS
from tests.kinds.test_layered_document import large_network


def given(text_or_path: str) -> list[str]:
    exercise = (parse_exercise(text_or_path, "t.yaml") if "\n" in text_or_path
                else load_exercise(text_or_path))
    return QuizSession(exercise).given()


def test_the_conv_exercise_states_its_mask_and_its_tensors_as_rows() -> None:
    assert given(str(PROBLEMS / "030_conv_pool_dropout.yaml")) == [
        "Given:",
        "  layer 1 C: conv2d, 1 filter 2×2, stride 1×1, padding 0×0, relu",
        "  layer 2 P: maxpool2d 2×2, stride 1×1",
        "  layer 3 D: dropout, rate 0.5",
        "    a kept value (mask 1) is scaled by 1/(1 - 0.5) = 2, a dropped one (mask 0) is 0",
        "    mask (1×2×2):",
        "      mask[1,i,j] (row i, column j):",
        "        1  0",
        "        1  1",
        "  layer 4 L4: flatten (row-major)",
        "  layer 5 L5: dense [o], sigmoid",
        "  loss half_squared_error, learning rate 0.1",
        "  input.x (1×4×4):",
        "    input.x[1,i,j] (row i, column j):",
        "      1  2  0  1",
        "      0  1  3  1",
        "      2  1  0  0",
        "      1  0  1  2",
        "  target o = 1",
        "  K (1×1×2×2):",
        "    K[1,1,i,j] (row i, column j):",
        "       1   0",
        "       0  -1",
        "  c[1] = 0.5",
        "  W5 (1×4, row i, column j):",
        "     0.1  -0.2   0.3   0.4",
    ]


def test_a_sequence_is_a_row_per_step_and_named_parameters_one_line() -> None:
    assert given(str(PROBLEMS / "031_rnn_bptt.yaml")) == [
        "Given:",
        "  layer 1 L1: rnn [h], tanh",
        "  layer 2 L2: dense [y], identity",
        "  loss half_squared_error, learning rate 0.1",
        "  input (3×1, a row per time step t, a column per input x):",
        "      1",
        "    0.5",
        "     -1",
        "  target y = 0.5",
        "  w = 0.5, u = 0.9, b = 0.1, v = 1.5",
    ]


def test_each_samples_mask_and_data_after_an_rnn() -> None:
    text = """\
network:
  inputs: [x1, x2]
  layers:
    - {type: rnn, units: [h1, h2], weights: [[1, 0], [0, 1]], recurrent: [[0, 0], [0, 0]],
       bias: [0.5, -0.25]}
    - {type: dropout, name: D, rate: 0.25, mask: [[[1, 0], [1, 1]], [[0, 1], [1, 0]]]}
    - {units: [y], weights: [[1, 2]]}
samples:
  - {sequence: [[1, 2], [3, 4]], targets: [[0.5], [1]]}
  - {sequence: [[5, 6], [7, 8]], targets: [[0], [0.25]]}
loss_at: every
loss: half_squared_error
learning_rate: 0.1
"""
    assert given(text) == [
        "Given:",
        "  layer 1 L1: rnn [h1, h2], identity",
        "  layer 2 D: dropout, rate 0.25",
        "    a kept value (mask 1) is scaled by 1/(1 - 0.25) = 1.33333, a dropped one (mask "
        "0) is 0",
        "    mask of sample 1 (2×2, row i, column j):",
        "      1  0",
        "      1  1",
        "    mask of sample 2 (2×2, row i, column j):",
        "      0  1",
        "      1  0",
        "  layer 3 L3: dense [y], identity",
        "  loss half_squared_error, learning rate 0.1",
        "  sample 1:",
        "    input (2×2, a row per time step t, a column per input x1, x2):",
        "      1  2",
        "      3  4",
        "    target (2×1, a row per time step t, a column per output y):",
        "      0.5",
        "        1",
        "  sample 2:",
        "    input (2×2, a row per time step t, a column per input x1, x2):",
        "      5  6",
        "      7  8",
        "    target (2×1, a row per time step t, a column per output y):",
        "         0",
        "      0.25",
        "  W1 (2×2, row i, column j):",
        "    1  0",
        "    0  1",
        "  U1 (2×2, row i, column j):",
        "    0  0",
        "    0  0",
        "  b1[j], j = 1 to 2: 0.5  -0.25",
        "  W3 (1×2, row i, column j):",
        "    1  2",
    ]


def test_a_large_tensor_is_named_with_where_to_find_it() -> None:
    lines = given(large_network())  # a 1×8×8 input, 4 filters 3×3, 36 dense weights
    assert "  input.x (1×8×8): 64 values, too many to list here" not in lines  # 64 fit
    assert lines[lines.index("  input.x (1×8×8):") + 1] == (
        "    input.x[1,i,j] (row i, column j):")
    assert "  W4 (1×36): 36 values, too many to list here: backprop solve FILE --statement " \
           "gives them all" in lines  # rows of 36: longer than a screen's
    assert lines.count("  W1 (4×1×3×3):") == 1
    assert [line for line in lines if line.startswith("    W1[")] == [
        f"    W1[{f},1,i,j] (row i, column j):" for f in (1, 2, 3, 4)]


def test_the_quiz_command_prints_them() -> None:
    result = CliRunner().invoke(cli, ["quiz", str(PROBLEMS / "030_conv_pool_dropout.yaml")],
                                input="q\n")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1:27] == given(str(PROBLEMS / "030_conv_pool_dropout.yaml"))
