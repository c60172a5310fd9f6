"""Run a layered network's problem (issue 19): steps of gradient descent over the layer
types of :mod:`backprop_cli.engine.layers`, recording every value key.

Each step is one forward pass over the batch (every sample at once), the loss, one
backward pass, and the optimizer's update (SGD: p ← p − η·g) with g the batch's gradient
(``reduction: mean``: the mean of the samples' gradients, ``sum``: their sum), over one
flat array of every parameter (model/optimizers.py's ``Updater``: weight decay, frozen
elements). The keys and their
order are :func:`backprop_cli.model.layered_keyspace.layered_keys`; every step's :class:`Pass`
is kept for the worked solution.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from backprop_cli.engine.layered_handcalc import (
    batch_gradient,
    hand_bptt,
    hand_delta,
    hand_forward,
)
from backprop_cli.engine.layers import (
    Activate,
    Conv,
    Dense,
    Dropout,
    Flatten,
    LayerType,
    Pool,
    Rnn,
    sequence_loss,
)
from backprop_cli.engine.layers.base import Array
from backprop_cli.engine.layers.rnn import Bptt
from backprop_cli.engine.passes import epoch_losses
from backprop_cli.errors import NumericError
from backprop_cli.model.activations import Activation
from backprop_cli.model.keys import (
    KeyKind,
    compose,
    epoch_key,
    key_glob,
    keys_of,
    named_kind,
    prefix_for,
    time_suffix,
)
from backprop_cli.model.layered import LayeredProblem, LayerSpec
from backprop_cli.model.layered_keyspace import layered_keys
from backprop_cli.model.optimizers import Updater
from backprop_cli.records import field, record
from backprop_cli.rounding import round_array, round_value


def engine_layers(spec: LayerSpec, problem: LayeredProblem) -> list[LayerType[Any]]:
    """The engine's layers of one layer of the file (a conv or dense layer and its
    activation are two)."""
    return layer_stack(spec.type, spec.activation, size=spec.filters or len(spec.units),
                       kernel=spec.kernel, stride=spec.stride, padding=spec.padding,
                       bias="bias" in {param.role for param in spec.params}, rate=spec.rate,
                       mask=spec.mask, initial=spec.initial)


def layer_stack(layer_type: str, activation: Activation | None, *, size: int = 0,
                kernel: tuple[int, ...] = (), stride: tuple[int, ...] = (),
                padding: tuple[int, ...] = (), bias: bool = True, rate: float = 0.0,
                mask: Array | None = None, initial: Array | None = None
                ) -> list[LayerType[Any]]:
    """The engine's layers of a layer of ``layer_type`` (one of model/layered.py's
    LAYER_TYPES) with these settings; ``size``: a conv's filters, a dense or rnn layer's
    units; ``kernel``: a conv's kernel or a pooling window (``backprop new`` builds its
    draws with it too)."""
    if layer_type in ("conv1d", "conv2d"):
        assert activation is not None
        return [Conv(int(layer_type[-2]), size, kernel, stride, padding, bias),
                Activate(activation)]
    if layer_type.endswith(("pool1d", "pool2d")):
        return [Pool(layer_type[:3], int(layer_type[-2]), kernel, stride)]
    if layer_type == "dropout":
        assert mask is not None
        return [Dropout(rate, mask)]
    if layer_type == "flatten":
        return [Flatten()]
    assert activation is not None
    if layer_type == "rnn":
        return [Rnn(size, activation, bias, initial)]
    return [Dense(size, bias), Activate(activation)]


@record(eq=False)
class Pass:
    """One step's numbers: what the worked solution shows."""

    step: int | None  # None: the final forward pass
    params: list[dict[str, Array]]  # per layer of the file: role -> values
    inputs: Array
    outs: list[list[Array]]  # per layer of the file: the output of each engine layer
    caches: list[list[Any]]
    losses: Array  # (N,) each sample's loss
    step_losses: Array | None = None  # (N, T): a sequence's per step
    loss: float = 0.0
    grad_outs: list[list[Array]] = field(default_factory=list)  # ∂L/∂(each output)
    bptt: dict[int, Bptt] = field(default_factory=dict)  # per rnn layer (file index)
    grad_input: Array | None = None
    grads: list[dict[str, Array]] = field(default_factory=list)  # the batch's, scaled
    # with samples: each sample's own (unscaled, a leading N axis), for grad.K[…]@k
    sample_grads: list[dict[str, Array]] = field(default_factory=list)
    new: list[dict[str, Array]] = field(default_factory=list)
    state: dict[str, list[dict[str, Array]]] = field(default_factory=dict)  # v, m, s, …
    # the (0-based) samples of the file this pass runs on, its batch: the arrays' N axis
    samples: range = range(0)
    targets: Array | None = None  # their targets (the whole file's without batches)


@record(eq=False)
class LayeredSolution:
    problem: LayeredProblem
    values: dict[str, float]  # every value key, in hand order
    passes: list[Pass]  # one per step, then the final forward pass


def solve_layered(problem: LayeredProblem) -> LayeredSolution:
    """Every value of the problem; NumericError when a value is not finite."""
    stacks = [engine_layers(spec, problem) for spec in problem.layers]
    params = [{p.role: p.values.copy() for p in spec.params} for spec in problem.layers]
    updater = FlatUpdater(problem)
    passes = []
    values: dict[str, float] = {}
    _record_data(problem, values)
    for step in range(1, max(problem.steps, 1) + 1):
        run = forward_pass(problem, stacks, params, step)
        backward_pass(problem, stacks, run)
        if problem.steps >= step:
            run.new = params = updater.step(run.params, run.grads)
            run.state = updater.state()
        _record(problem, run, values)
        passes.append(run)
    final = forward_pass(problem, stacks, params, None)
    _record(problem, final, values)
    passes.append(final)
    step_losses = np.array([run.loss for run in passes[:problem.steps]])
    for k, (mean, total) in enumerate(epoch_losses(step_losses, problem.batches_per_epoch,
                                                   problem.epochs_run, problem.round), start=1):
        values[epoch_key("epoch.loss", k)] = mean
        values[epoch_key("epoch.loss_sum", k)] = total
    ordered = {key: values[key] for key in layered_keys(problem)}
    assert len(ordered) == len(values), "a recorded key is not in layered_keys"
    finite = np.isfinite(np.fromiter(ordered.values(), np.float64, len(ordered)))
    if not finite.all():
        bad = list(ordered)[int(np.argmin(finite))]
        raise NumericError(f"{bad} is {ordered[bad]}: the numbers overflow")
    return LayeredSolution(problem, ordered, passes)


def final_loss(problem: LayeredProblem) -> float:
    """The loss after the problem's steps, recording no value key (for a long run: every
    step of :func:`solve_layered` records each value of each sample)."""
    stacks = [engine_layers(spec, problem) for spec in problem.layers]
    params = [{p.role: p.values.copy() for p in spec.params} for spec in problem.layers]
    updater = FlatUpdater(problem)
    for step in range(1, problem.steps + 1):
        run = forward_pass(problem, stacks, params, step)
        backward_pass(problem, stacks, run)
        params = updater.step(run.params, run.grads)
    return forward_pass(problem, stacks, params, None).loss


class FlatUpdater:
    """The optimizer's update (model/optimizers.py) over every parameter of the network as
    one flat array, in the order of ``problem.parameters()`` (weight decay on weights and
    recurrent weights, not biases)."""

    def __init__(self, problem: LayeredProblem) -> None:
        self.problem = problem
        self.places = [(li, param.role, param.values.shape)
                       for li, spec in enumerate(problem.layers) for param in spec.params]
        sizes = [int(np.prod(shape)) for _, _, shape in self.places]
        self.size = sum(sizes)
        decay = None
        if problem.weight_decay:
            decay = np.concatenate([np.full(n, 0.0 if role == "bias" else problem.weight_decay)
                                    for (_, role, _), n in zip(self.places, sizes,
                                                               strict=True)] or [np.zeros(0)])
        live = None
        if problem.freeze:
            globs = [key_glob(pattern) for pattern in problem.freeze]
            live = np.array([not any(glob.match(key) for glob in globs)
                             for _, param in problem.parameters()
                             for key in param.element_keys()], dtype=bool)
        self.updater = Updater(problem.optimizer, problem.learning_rate, self.size,
                               live=live, decay=decay, decimals=problem.round)

    def flat(self, arrays: list[dict[str, Array]]) -> Array:
        parts = [arrays[li][role].ravel() for li, role, _ in self.places]
        return np.concatenate(parts) if parts else np.zeros(0)

    def unflat(self, flat: Array) -> list[dict[str, Array]]:
        arrays: list[dict[str, Array]] = [{} for _ in self.problem.layers]
        start = 0
        for li, role, shape in self.places:
            n = int(np.prod(shape))
            arrays[li][role] = flat[start:start + n].reshape(shape).copy()
            start += n
        return arrays

    def step(self, params: list[dict[str, Array]], grads: list[dict[str, Array]]
             ) -> list[dict[str, Array]]:
        flat = self.flat(params)
        with np.errstate(all="ignore"):
            self.updater.step(flat, self.flat(grads))
        return self.unflat(flat)

    def state(self) -> dict[str, list[dict[str, Array]]]:
        """The optimizer's values after the step (v; m, s, mhat, shat), by layer and role."""
        return {kind: self.unflat(values) for kind, values in self.updater.state.items()}


def batch_stacks(problem: LayeredProblem, stacks: list[list[LayerType[Any]]],
                 samples: range) -> list[list[LayerType[Any]]]:
    """The stacks for a batch of the file's samples: a dropout mask given one per sample
    follows its sample (the other layers are the same for every sample)."""
    if len(samples) == problem.n_samples:
        return stacks
    return [[Dropout(layer.rate, layer.mask[samples.start:samples.stop])
             if isinstance(layer, Dropout) and layer.mask.ndim > len(spec.input_shape)
             else layer for layer in stack]
            for spec, stack in zip(problem.layers, stacks, strict=True)]


def forward_pass(problem: LayeredProblem, stacks: list[list[LayerType[Any]]],
             params: list[dict[str, Array]], step: int | None) -> Pass:
    """The forward pass and loss of step ``step``'s batch (every sample for None)."""
    samples = problem.batch(step)
    x, targets = problem.inputs, problem.targets
    if len(samples) < problem.n_samples:
        x, targets = x[samples.start:samples.stop], targets[samples.start:samples.stop]
        stacks = batch_stacks(problem, stacks, samples)
    inputs = x
    outs: list[list[Array]] = []
    caches: list[list[Any]] = []
    decimals = problem.round
    if decimals is not None:  # hand-calculation mode: the parameters written down rounded
        params = [{role: round_array(values, decimals) for role, values in p.items()}
                  for p in params]
    with np.errstate(all="ignore"):
        for stack, p in zip(stacks, params, strict=True):
            layer_outs, layer_caches = [], []
            for engine_layer in stack:
                own = p if isinstance(engine_layer, (Conv, Dense, Rnn)) else {}
                if decimals is None:
                    x, cache = engine_layer.forward(x, own)
                else:
                    x, cache = hand_forward(engine_layer, x, own, decimals)
                layer_outs.append(x)
                layer_caches.append(cache)
            outs.append(layer_outs)
            caches.append(layer_caches)
        run = Pass(step, params, inputs, outs, caches, np.zeros(0), samples=samples,
                   targets=targets)
        z, a = _output_z(problem, run), outs[-1][-1]
        activation = problem.output.activation
        assert activation is not None
        if decimals is not None:
            _hand_loss(problem, run, z, a, decimals)
            return run
        if problem.sequence:
            run.losses, run.step_losses, _ = sequence_loss(
                problem.loss, activation.name, z, a, targets, problem.loss_at)
        else:
            run.losses = problem.loss.per_sample(z, a, targets, activation.name)
    total = float(np.add.reduce(run.losses))
    run.loss = total / len(samples) if problem.reduction == "mean" else total
    return run


def _hand_loss(problem: LayeredProblem, run: Pass, z: Array, a: Array, decimals: int) -> None:
    """Hand-calculation mode: each sample's loss from the rounded outputs a (and each
    step's, summed once), rounded; the batch's the exact mean (or sum) of those, rounded."""
    assert run.targets is not None
    if problem.sequence:  # "": the loss of a, as its formula reads (not from z)
        _, per_step, _ = sequence_loss(problem.loss, "", z, a, run.targets, problem.loss_at)
        run.step_losses = round_array(per_step, decimals)
        losses = np.array([math.fsum(row) for row in run.step_losses.tolist()])
    else:
        losses = problem.loss.per_sample(z, a, run.targets, "")
    run.losses = round_array(np.asarray(losses, dtype=np.float64), decimals)
    total = math.fsum(run.losses.tolist())
    run.loss = round_value(total / len(run.samples) if problem.reduction == "mean" else total,
                           decimals)


def _output_z(problem: LayeredProblem, run: Pass) -> Array:
    last = run.outs[-1]
    if problem.output.type == "rnn":
        return run.caches[-1][0].z
    return last[0]


def backward_pass(problem: LayeredProblem, stacks: list[list[LayerType[Any]]], run: Pass,
              worked: bool = True) -> None:
    """∂L/∂(every output) and the batch's gradients; ``worked``: also ∂L/∂(the input) and
    each sample's own gradients, which the worked solution shows and a training run
    (engine/layered_train.py) does without."""
    if problem.round is not None:
        with np.errstate(all="ignore"):
            _hand_backward(problem, stacks, run, problem.round)
        return
    activation = problem.output.activation
    assert activation is not None
    z, a = _output_z(problem, run), run.outs[-1][-1]
    targets = run.targets
    assert targets is not None
    with np.errstate(all="ignore"):
        if problem.sequence:
            grad = sequence_loss(problem.loss, activation.name, z, a, targets,
                                 problem.loss_at)[2]
        else:
            grad = problem.loss.grad_a(z, a, targets, activation.name)
        scale = 1.0 / len(run.samples) if problem.reduction == "mean" else 1.0
        run.grad_outs = [[np.zeros(0)] * len(stack) for stack in stacks]
        run.grads = [{} for _ in stacks]
        for li in range(len(stacks) - 1, -1, -1):
            stack = stacks[li]
            p = run.params[li]
            for ei in range(len(stack) - 1, -1, -1):
                run.grad_outs[li][ei] = grad
                engine_layer = stack[ei]
                cache = run.caches[li][ei]
                if isinstance(engine_layer, Rnn):
                    run.bptt[li] = engine_layer.bptt(grad, cache, p)
                if not worked and li == ei == 0:  # the input is data: no ∂L/∂x
                    grads = engine_layer.param_grads(grad, cache, p) if p else {}
                else:
                    grad, grads = engine_layer.backward(grad, cache, p if isinstance(
                        engine_layer, (Conv, Dense, Rnn)) else {})
                for role, value in grads.items():
                    run.grads[li][role] = value * scale
        if not worked:
            return
        run.grad_input = grad
        if problem.has_samples:  # each sample's own gradients (grad.K[…]@k)
            run.sample_grads = [
                stack[0].param_grads(run.grad_outs[li][0], run.caches[li][0], run.params[li],
                                     per_sample=True) if run.params[li] else {}
                for li, stack in enumerate(stacks)]


def _hand_backward(problem: LayeredProblem, stacks: list[list[LayerType[Any]]], run: Pass,
                   decimals: int) -> None:
    """:func:`backward_pass` in hand-calculation mode (engine/layered_handcalc.py): every
    ∂L/∂a, δ and gradient rounded when it is produced; each sample's parameter gradients
    rounded, the batch's their exact mean (or sum), rounded."""
    activation = problem.output.activation
    targets = run.targets
    assert activation is not None and targets is not None
    z, a = _output_z(problem, run), run.outs[-1][-1]
    if problem.sequence:  # "": ∂L/∂a of the rounded a, as its formula reads
        grad = sequence_loss(problem.loss, "", z, a, targets, problem.loss_at)[2]
    else:
        grad = problem.loss.grad_a(z, a, targets, "")
    grad = round_array(np.asarray(grad, dtype=np.float64), decimals)
    softmax_targets = None  # softmax with cross-entropy: δ = a − y (as for dense networks)
    if problem.loss.spec.softmax_delta and activation.per_layer:
        softmax_targets = targets
        if problem.sequence and problem.loss_at == "last":  # no loss before the last step
            softmax_targets = np.array(a)
            softmax_targets[:, -1] = targets
    run.grad_outs = [[np.zeros(0)] * len(stack) for stack in stacks]
    run.grads = [{} for _ in stacks]
    sample_grads: list[dict[str, Array]] = [{} for _ in stacks]
    last = len(stacks) - 1
    for li in range(last, -1, -1):
        stack, p = stacks[li], run.params[li]
        for ei in range(len(stack) - 1, -1, -1):
            run.grad_outs[li][ei] = grad
            engine_layer, cache = stack[ei], run.caches[li][ei]
            own: dict[str, Array] = {}
            if isinstance(engine_layer, Rnn):
                bptt = run.bptt[li] = hand_bptt(engine_layer, grad, cache, p, decimals)
                own = engine_layer.delta_grads(bptt.grad_z, cache, per_sample=True)
                grad = round_array(bptt.grad_z @ p["weights"], decimals)
            elif isinstance(engine_layer, Activate):
                at_output = li == last and ei == len(stack) - 1
                grad = hand_delta(engine_layer, grad, cache, decimals,
                                  softmax_targets if at_output else None)
            else:
                below, _ = engine_layer.backward(grad, cache, p if isinstance(
                    engine_layer, (Conv, Dense)) else {})
                if isinstance(engine_layer, (Conv, Dense)) and p:
                    own = engine_layer.param_grads(grad, cache, p, per_sample=True)
                grad = below if isinstance(engine_layer, Flatten) else round_array(
                    below, decimals)
            for role, values in own.items():
                sample_grads[li][role] = each = round_array(values, decimals)
                run.grads[li][role] = batch_gradient(each, problem.reduction, decimals)
    run.grad_input = grad
    if problem.has_samples:
        run.sample_grads = sample_grads


# ---------------------------------------------------------------- recording


def _put(values: dict[str, float], prefix: str, kind: KeyKind, names: list[str], array: Array,
         over_time: bool, suffix: str) -> None:
    """One sample's array of a layer (its values row-major, or (T, units) over time)."""
    if over_time:
        for t in range(array.shape[0]):
            at = time_suffix(t + 1)
            values.update(zip(keys_of(prefix, kind, [name + at for name in names], suffix),
                              array[t].tolist(), strict=True))
    else:
        values.update(zip(keys_of(prefix, kind, names, suffix), array.ravel().tolist(),
                          strict=True))


def _record_data(problem: LayeredProblem, values: dict[str, float]) -> None:
    names = problem.input_value_names()
    outputs = problem.output.value_names()
    for k in range(problem.n_samples):
        suffix = problem.sample_suffix(k)
        _put(values, "", "input", names, problem.inputs[k], problem.sequence, suffix)
        y = problem.targets[k]
        _put(values, "", "target", outputs, y, y.ndim == 2, suffix)


def _record(problem: LayeredProblem, run: Pass, values: dict[str, float]) -> None:
    prefix = prefix_for(run.step)
    for spec, p in zip(problem.layers, run.params, strict=True):
        for param in spec.params:
            _put(values, prefix, "param", param.element_keys(), p[param.role], False, "")
    # k: the sample's place in the file (its @k), i: in the pass's batch (its arrays)
    for i, k in enumerate(run.samples):
        suffix = problem.sample_suffix(k)
        for li, spec in enumerate(problem.layers):
            if not spec.has_keys:
                continue
            names = spec.value_names()
            outs, caches = run.outs[li], run.caches[li]
            if spec.type == "rnn":
                cache = caches[0]
                z, a = cache.z[i], cache.h[i]
            elif spec.activation is not None:
                z, a = outs[0][i], outs[1][i]
            else:
                _put(values, prefix, "a", names, outs[-1][i], False, suffix)
                continue
            assert spec.activation is not None
            _put(values, prefix, "z", names, z, spec.over_time, suffix)
            _put(values, prefix, "a", names, a, spec.over_time, suffix)
            if not spec.activation.per_layer:
                dadz = spec.activation.derivative(z, a)
                if problem.round is not None:
                    dadz = round_array(np.asarray(dadz, dtype=np.float64), problem.round)
                _put(values, prefix, "dadz", names, dadz, spec.over_time, suffix)
        if run.step_losses is not None and problem.loss_at == "every":
            _put(values, prefix, "loss", [""], run.step_losses[i][:, None], True, suffix)
        if problem.has_samples:
            values[compose(prefix, "loss", "", suffix)] = float(run.losses[i])
    values[compose(prefix, "loss")] = run.loss
    if run.step is None:
        return
    for i, k in enumerate(run.samples):
        suffix = problem.sample_suffix(k)
        for li, spec in enumerate(problem.layers):
            if not spec.has_keys:
                continue
            names = spec.value_names()
            if spec.type == "rnn":
                bptt = run.bptt[li]
                _put(values, prefix, "grad.a", names, bptt.grad_h[i], True, suffix)
                _put(values, prefix, "grad.z", names, bptt.grad_z[i], True, suffix)
            elif spec.activation is not None:
                outs = run.grad_outs[li]
                _put(values, prefix, "grad.a", names, outs[1][i], spec.over_time, suffix)
                _put(values, prefix, "grad.z", names, outs[0][i], spec.over_time, suffix)
            else:
                _put(values, prefix, "grad.a", names, run.grad_outs[li][-1][i], False, suffix)
        assert run.grad_input is not None
        _put(values, prefix, "grad.input", problem.input_value_names(), run.grad_input[i],
             problem.sequence, suffix)
    for i, k in enumerate(run.samples if run.sample_grads else ()):
        suffix = problem.sample_suffix(k)
        for spec, grads in zip(problem.layers, run.sample_grads, strict=True):
            for param in spec.params:
                _put(values, prefix, "grad", param.element_keys(), grads[param.role][i], False,
                     suffix)
    for spec, grads, old, new_params in zip(problem.layers, run.grads, run.params,
                                            run.new or run.params, strict=True):
        for param in spec.params:
            keys = param.element_keys()
            _put(values, prefix, "grad", keys, grads[param.role], False, "")
            if run.new:
                for kind, arrays in run.state.items():
                    _put(values, prefix, named_kind(kind), keys,
                         arrays[problem.layers.index(spec)][param.role], False, "")
                _put(values, prefix, "new", keys, new_params[param.role], False, "")
                change = new_params[param.role] - old[param.role]
                if problem.round is not None:
                    change = round_array(change, problem.round)
                _put(values, prefix, "change", keys, change, False, "")


__all__ = ["FlatUpdater", "LayeredSolution", "Pass", "backward_pass", "batch_stacks",
           "final_loss", "forward_pass", "solve_layered"]
