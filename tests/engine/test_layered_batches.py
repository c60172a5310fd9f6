"""Mini-batches and epochs of a layered network (batch_size, epochs): a batch as large as
the data changes nothing, each step's gradient is the slope of its own batch's loss, and a
step's keys are its batch's samples."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_cli.engine.layered import solve_layered
from backprop_cli.engine.layered_loss import LayeredLoss
from backprop_cli.engine.layered_train import train_layered
from backprop_cli.kinds.exercise import parse_exercise
from backprop_cli.model.keys import compose, prefix_for
from backprop_cli.model.layered import LayeredProblem
from backprop_cli.model.layered_keyspace import layered_keys
from backprop_cli.records import replace


def layered(text: str) -> LayeredProblem:
    problem = parse_exercise(text, "t.yaml")
    assert isinstance(problem, LayeredProblem)
    return problem


def conv_network(data: st.DataObject, samples: int) -> str:
    """A random conv network (conv, pooling or not, dropout with a mask per sample or
    not, dense output) on ``samples`` samples, its settings to be appended."""
    rng = np.random.default_rng(data.draw(st.integers(0, 10**6)))
    dims = data.draw(st.sampled_from([1, 2]))
    size = 4
    kernel = data.draw(st.integers(1, 2))
    conv_out = size - kernel + 1
    pooled = data.draw(st.booleans())
    spatial = conv_out - 1 if pooled else conv_out
    loss, out_act, outputs = data.draw(st.sampled_from([
        ("half_squared_error", "sigmoid", 1), ("cross_entropy", "softmax", 3)]))
    weights = rng.normal(0, 0.5, (2, 1, *([kernel] * dims))).round(2).tolist()
    dense = rng.normal(0, 0.5, (outputs, 2 * spatial**dims)).round(2).tolist()
    masks = rng.integers(0, 2, (samples, 2, *([spatial] * dims))).tolist()
    layers = (f"    - {{type: conv{dims}d, filters: 2, kernel: {kernel}, weights: {weights}, "
              "bias: 0.1, activation: tanh, name: C, weight_name: K}\n")
    if pooled:
        layers += f"    - {{type: maxpool{dims}d, size: 2, stride: 1}}\n"
    if data.draw(st.booleans()):
        layers += f"    - {{type: dropout, rate: 0.5, mask: {masks}}}\n"
    rows = []
    for _ in range(samples):
        target = [0.0] * outputs
        target[int(rng.integers(outputs))] = 1.0
        rows.append(f"  - {{input: {rng.normal(0, 1, [1] + [size] * dims).round(1).tolist()}, "
                    f"target: {target}}}\n")
    return (f"network:\n  inputs: {{shape: {[1] + [size] * dims}}}\n  layers:\n{layers}"
            f"    - {{type: flatten}}\n"
            f"    - {{units: {outputs}, activation: {out_act}, weights: {dense}}}\n"
            f"loss: {loss}\nlearning_rate: 0.3\nsamples:\n" + "".join(rows))


def rnn_network(data: st.DataObject, samples: int, *, initial: bool = False,
                learning_rate: float = 0.2) -> str:
    """A random rnn file: ``samples`` samples (0: one sequence written inline), an output
    loss at the last step or every step, ``initial`` h₀ given or zeros."""
    rng = np.random.default_rng(data.draw(st.integers(0, 10**6)))
    hidden = data.draw(st.integers(1, 2))
    steps = data.draw(st.integers(1, 3))
    every = data.draw(st.booleans())

    def m(rows: int, cols: int) -> list[list[float]]:
        return rng.normal(0, 0.6, (rows, cols)).round(2).tolist()  # type: ignore[no-any-return]

    def sample() -> tuple[str, str]:
        target = (f"targets: {rng.normal(0, 1, (steps, 1)).round(1).tolist()}" if every
                  else f"target: [{rng.normal(0, 1):.1f}]")
        return f"sequence: {rng.normal(0, 1, (steps, 1)).round(1).tolist()}", target

    if samples:
        data_lines = "samples:\n" + "".join(
            "  - {{{}, {}}}\n".format(*sample()) for _ in range(samples))
    else:
        data_lines = "{}\n{}\n".format(*sample())
    start = f", initial: {[0.1] * hidden}" if initial else ""
    return (f"network:\n  inputs: [x]\n  layers:\n"
            f"    - {{type: rnn, units: {hidden}, activation: tanh, weights: {m(hidden, 1)}, "
            f"recurrent: {m(hidden, hidden)}, bias: 0.05{start}}}\n"
            f"    - {{units: [y], weights: {m(1, hidden)}, bias: [0.1]}}\n"
            f"loss_at: {'every' if every else 'last'}\nloss: half_squared_error\n"
            f"learning_rate: {learning_rate}\n{data_lines}")


NETWORKS = st.sampled_from([conv_network, rnn_network])


@settings(max_examples=20, deadline=None)
@given(st.data())
def test_a_batch_of_every_sample_changes_no_value(data: st.DataObject) -> None:
    """batch_size = the number of samples: every key as without it, bit for bit."""
    samples = data.draw(st.integers(1, 3))
    text = data.draw(NETWORKS)(data, samples) + "steps: 3\n"
    plain = solve_layered(layered(text)).values
    batched = solve_layered(layered(text + f"batch_size: {samples}\n")).values
    assert list(batched) == list(plain)
    for key, value in plain.items():
        assert batched[key] == value or (math.isnan(value) and math.isnan(batched[key])), key


def batch_only(problem: LayeredProblem, batch: range) -> LayeredProblem:
    """The problem of the batch's samples alone, every step on all of them (built without
    the engine's batching: the samples and the masks given one per sample cut here)."""
    cut = slice(batch.start, batch.stop)
    layers = [replace(spec, mask=spec.mask[cut]) if spec.mask is not None
              and spec.mask.ndim > len(spec.input_shape) else spec for spec in problem.layers]
    return replace(problem, inputs=problem.inputs[cut], targets=problem.targets[cut],
                   layers=layers, batch_size=None, epochs=None)


@settings(max_examples=20, deadline=None)
@given(st.data())
def test_each_step_gradient_is_the_slope_of_its_batch_loss(data: st.DataObject) -> None:
    """step<s>.grad.<p> = the central difference of the loss of step s's batch at the
    step's starting parameters, for every parameter element and step."""
    samples = data.draw(st.integers(2, 3))
    batch_size = data.draw(st.integers(1, samples - 1))
    text = data.draw(NETWORKS)(data, samples) + f"steps: 3\nbatch_size: {batch_size}\n"
    problem = layered(text)
    values = solve_layered(problem).values
    h = 1e-6
    for step in range(1, 4):
        batch = problem.batch(step)
        assert batch == range((step - 1) % -(-samples // batch_size) * batch_size,
                              min(((step - 1) % -(-samples // batch_size) + 1) * batch_size,
                                  samples))
        point = LayeredLoss(batch_only(problem, batch))
        for name in point.names:
            point.set(name, values[prefix_for(step) + name])
        assert math.isclose(point.loss(), values[compose(prefix_for(step), "loss")],
                            rel_tol=1e-12)
        for name in point.names:
            start = point.get(name)
            point.set(name, start + h)
            plus = point.loss()
            point.set(name, start - h)
            minus = point.loss()
            point.set(name, start)
            slope = (plus - minus) / (2 * h)
            grad = values[compose(prefix_for(step), "grad", name)]
            # the difference's rounding (1e-16·L/h) and its h² error
            assert abs(slope - grad) <= 1e-6 + 1e-5 * abs(grad), (step, name, slope, grad)


BATCHES = """\
network:
  inputs: {shape: [1, 3]}
  layers:
    - {type: conv1d, name: C, filters: 1, kernel: 2, weights: [[[0.5, -0.3]]], bias: [0.1],
       weight_name: K, bias_name: c, activation: tanh}
    - {type: dropout, name: D, rate: 0.5, mask: [[[1, 0]], [[0, 1]], [[1, 1]]]}
    - {type: flatten}
    - {units: [o], activation: sigmoid, weights: [[0.2, -0.4]]}
samples:
  - {input: [[1, 2, 0]], target: [1]}
  - {input: [[0, -1, 1]], target: [0]}
  - {input: [[2, 1, 1]], target: [1]}
loss: half_squared_error
learning_rate: 0.5
batch_size: 2
epochs: 2
"""


def test_a_step_has_the_keys_of_its_batch_and_the_epochs_their_losses() -> None:
    problem = layered(BATCHES)
    assert problem.steps == 4  # 2 epochs of 2 batches (2 samples, then 1)
    keys = layered_keys(problem)
    values = solve_layered(problem).values
    assert list(values) == keys
    assert "a.D[1,1]@2" in keys and "a.D[1,1]@3" not in keys
    assert "step2.a.D[1,1]@3" in keys and "step2.loss@1" not in keys
    assert "step3.loss@1" in keys and "final.loss@3" in keys
    # sample 3 (alone in step 2) keeps its own mask [1, 1]: both elements × 2
    assert values["step2.a.D[1,2]@3"] == 2 * values["step2.a.C[1,2]@3"]
    # the batch's loss: the mean over its samples only
    assert values["loss"] == (values["loss@1"] + values["loss@2"]) / 2
    assert values["step2.loss"] == values["step2.loss@3"]
    for epoch in (1, 2):
        first = values[compose(prefix_for(2 * epoch - 1), "loss")]
        second = values[compose(prefix_for(2 * epoch), "loss")]
        assert values[f"epoch{epoch}.loss_sum"] == math.fsum([first, second])
        assert values[f"epoch{epoch}.loss"] == math.fsum([first, second]) / 2
    assert keys[-4:] == ["epoch1.loss", "epoch1.loss_sum", "epoch2.loss", "epoch2.loss_sum"]


def test_training_follows_the_batches() -> None:
    problem = layered(BATCHES)
    run = train_layered(problem)
    values = solve_layered(problem).values
    assert run.losses.tolist() == [values[compose(prefix_for(s), "loss")] for s in range(1, 5)] + [
        values["final.loss"]]
