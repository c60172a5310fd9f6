"""Hand-calculation mode of a layered network (``round: N``, ``solve --round N``): every
value rounded when it is produced and the calculation going on with it, against a small
conv and a small rnn rounded by hand here (halves away from zero)."""

from __future__ import annotations

import pytest

from backprop_cli.engine.layered import solve_layered
from backprop_cli.engine.layered_loss import LayeredLoss
from backprop_cli.kinds.exercise import parse_exercise
from backprop_cli.model.layered import LayeredProblem
from backprop_cli.rounding import round_value


def layered(text: str) -> LayeredProblem:
    problem = parse_exercise(text, "t.yaml")
    assert isinstance(problem, LayeredProblem)
    return problem


CONV = """\
title: A conv rounded to 2 decimals
network:
  inputs: {shape: [1, 3]}
  layers:
    - {type: conv1d, name: C, filters: 1, kernel: 2, weights: [[[0.55, -0.25]]], bias: [0.05],
       weight_name: K, bias_name: c, activation: relu}
    - {type: avgpool1d, name: P, size: 2}
    - {type: flatten}
    - {units: [o], weights: [[1.5]], weight_name: W}
input: [[0.3, 0.7, 0.2]]
target: [1]
loss: half_squared_error
learning_rate: 0.1
round: 2
"""

# by hand, each value rounded to 2 decimals as soon as it is written down
CONV_BY_HAND = {
    # z = K·window + c, the whole sum rounded once
    "z.C[1,1]": 0.04,  # 0.55·0.3 − 0.25·0.7 + 0.05 = 0.165 − 0.175 + 0.05 = 0.04
    "z.C[1,2]": 0.39,  # 0.55·0.7 − 0.25·0.2 + 0.05 = 0.385 → 0.39
    "a.C[1,2]": 0.39,  # relu
    "a.P[1,1]": 0.22,  # (0.04 + 0.39)/2 = 0.215 → 0.22
    "z.o": 0.33,  # 1.5·0.22 = 0.33
    "loss": 0.22,  # ½·(0.33 − 1)² = ½·0.4489 = 0.22445 → 0.22
    "grad.a.o": -0.67,  # 0.33 − 1
    "grad.z.o": -0.67,  # −0.67·1
    "grad.W[1,1]": -0.15,  # −0.67·0.22 = −0.1474 → −0.15
    "grad.a.P[1,1]": -1.01,  # 1.5·(−0.67) = −1.005 → −1.01
    "grad.a.C[1,1]": -0.51,  # −1.01/2 = −0.505 → −0.51
    "grad.z.C[1,2]": -0.51,  # −0.51·1
    "grad.K[1,1,1]": -0.51,  # −0.51·0.3 + (−0.51)·0.7 = −0.153 − 0.357 = −0.51
    "grad.K[1,1,2]": -0.46,  # −0.51·0.7 + (−0.51)·0.2 = −0.357 − 0.102 = −0.459 → −0.46
    "grad.c[1]": -1.02,  # −0.51 − 0.51
    "grad.input.x[1,1]": -0.28,  # −0.51·0.55 = −0.2805 → −0.28
    "grad.input.x[1,2]": -0.15,  # −0.51·(−0.25) + (−0.51)·0.55 = 0.1275 − 0.2805 = −0.153
    "grad.input.x[1,3]": 0.13,  # −0.51·(−0.25) = 0.1275 → 0.13
    "new.K[1,1,1]": 0.6,  # 0.55 − 0.1·(−0.51) = 0.601 → 0.60
    "new.K[1,1,2]": -0.2,  # −0.25 − 0.1·(−0.46) = −0.204 → −0.20
    "new.c[1]": 0.15,  # 0.05 + 0.102 = 0.152 → 0.15
    "new.W[1,1]": 1.52,  # 1.5 + 0.015 = 1.515 → 1.52
    "final.z.C[1,1]": 0.19,  # 0.6·0.3 − 0.2·0.7 + 0.15 = 0.18 − 0.14 + 0.15
    "final.z.C[1,2]": 0.53,  # 0.6·0.7 − 0.2·0.2 + 0.15 = 0.42 − 0.04 + 0.15
    "final.a.P[1,1]": 0.36,  # (0.19 + 0.53)/2
    "final.z.o": 0.55,  # 1.52·0.36 = 0.5472 → 0.55
    "final.loss": 0.1,  # ½·(0.55 − 1)² = ½·0.2025 = 0.10125 → 0.10
}

RNN = """\
title: An rnn rounded to 4 decimals
network:
  inputs: [x]
  layers:
    - {type: rnn, units: [h], activation: tanh, weights: [[0.5]], weight_names: [[w]],
       recurrent: [[0.9]], recurrent_names: [[u]], bias: 0.1, bias_names: [b]}
    - {units: [y], weights: [[1.5]], weight_names: [[v]]}
sequence: [[1], [0.5]]
target: [0.5]
loss: half_squared_error
learning_rate: 0.1
round: 4
"""

RNN_BY_HAND = {
    "z.h#1": 0.6,  # 0.5·1 + 0.9·0 + 0.1
    "a.h#1": 0.537,  # tanh(0.6) = 0.537050 → 0.5370
    "dadz.h#1": 0.7116,  # 1 − 0.537² = 1 − 0.288369 = 0.711631 → 0.7116
    "z.h#2": 0.8333,  # 0.5·0.5 + 0.9·0.537 + 0.1 = 0.25 + 0.4833 + 0.1 (the rounded h#1)
    "a.h#2": 0.6822,  # tanh(0.8333) = 0.682157 → 0.6822
    "dadz.h#2": 0.5346,  # 1 − 0.6822² = 1 − 0.46539684 = 0.53460 → 0.5346
    "a.y#2": 1.0233,  # 1.5·0.6822
    "loss": 0.1369,  # ½·(1.0233 − 0.5)² = ½·0.27384289 = 0.136921 → 0.1369
    "grad.a.y#2": 0.5233,
    "grad.a.y#1": 0.0,  # no loss at step 1
    "grad.a.h#2": 0.785,  # 1.5·0.5233 = 0.78495 → 0.7850
    "grad.z.h#2": 0.4197,  # 0.785·0.5346 = 0.419661 → 0.4197
    "grad.a.h#1": 0.3777,  # 1.5·0 + 0.9·0.4197 = 0.37773 → 0.3777
    "grad.z.h#1": 0.2688,  # 0.3777·0.7116 = 0.26877 → 0.2688
    # the sums over time, each rounded once
    "grad.w": 0.4787,  # 0.2688·1 + 0.4197·0.5 = 0.2688 + 0.20985 = 0.47865 → 0.4787
    "grad.u": 0.2254,  # 0.2688·0 + 0.4197·0.537 = 0.2253789 → 0.2254
    "grad.b": 0.6885,  # 0.2688 + 0.4197
    "grad.v": 0.357,  # 0.5233·0.6822 = 0.35699526 → 0.3570
    "new.w": 0.4521,  # 0.5 − 0.1·0.4787 = 0.45213 → 0.4521
    "new.u": 0.8775,  # 0.9 − 0.02254 = 0.87746 → 0.8775
    "new.b": 0.0312,  # 0.1 − 0.06885 = 0.03115 → 0.0312
    "new.v": 1.4643,  # 1.5 − 0.0357
    "change.w": -0.0479,  # 0.4521 − 0.5
}


@pytest.mark.parametrize(("text", "by_hand"), [(CONV, CONV_BY_HAND), (RNN, RNN_BY_HAND)],
                         ids=["conv", "rnn"])
def test_every_value_is_rounded_as_by_hand(text: str, by_hand: dict[str, float]) -> None:
    values = solve_layered(layered(text)).values
    for key, value in by_hand.items():
        assert values[key] == value, (key, values[key], value)


def test_every_value_has_at_most_the_decimals_kept() -> None:
    for text, decimals in ((CONV, 2), (RNN, 4)):
        for key, value in solve_layered(layered(text)).values.items():
            assert round(value, decimals) == value, key


def test_the_loss_and_gradient_of_gradcheck_stay_exact() -> None:
    """gradcheck, probe and surface look at the exact loss (a difference of 10⁻⁶ would
    vanish in values rounded to 2 decimals)."""
    point = LayeredLoss(layered(CONV))
    exact = LayeredLoss(layered(CONV.replace("round: 2\n", "")))
    assert point.loss() == exact.loss()
    assert point.gradients() == exact.gradients()


def test_batches_in_hand_mode_average_the_rounded_sample_gradients() -> None:
    text = CONV.replace("input: [[0.3, 0.7, 0.2]]\ntarget: [1]\n", (
        "samples:\n  - {input: [[0.3, 0.7, 0.2]], target: [1]}\n"
        "  - {input: [[0.1, 0.2, 0.4]], target: [0]}\n"
        "  - {input: [[0.5, 0.5, 0.5]], target: [1]}\n")) + "batch_size: 2\nsteps: 2\n"
    values = solve_layered(layered(text)).values
    # step 1: samples 1 and 2; the batch's gradient the mean of their rounded own ones
    own = [values["grad.W[1,1]@1"], values["grad.W[1,1]@2"]]
    assert values["grad.W[1,1]@1"] == CONV_BY_HAND["grad.W[1,1]"]
    assert values["grad.W[1,1]"] == round_value((own[0] + own[1]) / 2, 2)
    # step 2: sample 3 alone
    assert values["step2.grad.W[1,1]"] == values["step2.grad.W[1,1]@3"]
    assert "step2.loss@1" not in values
