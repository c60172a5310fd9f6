"""The carried pass of a layered network (issue 19): every value worked from given ones.

A dense network's check recomputes a published value from the author's own earlier values
with its formula (checking/checker.py, ``CarriedForward``). A layered network's values are
worked by array operations, not one formula per key, so the same idea is a pass: the
step's forward and backward pass and its update, run layer by layer as
:func:`backprop_cli.engine.layered.solve_layered` runs them, where each engine layer's
output is computed from its inputs and then the *given* values (an author's published
values, a student's answers) replace the computed ones they name. Every key in ``wanted``
records the value it takes from the given earlier values, before its own given value (if
any) replaces it: its carried value.

Each value comes from its direct inputs only, so one slip costs one mark: a wrong
``z.C[1,1,1]`` gives ``a.C[1,1,1]`` = f(that z); the winner of a pooling window is chosen
among the given values; ``grad.K`` sums δ·window over the given δ and the given inputs;
``dadz`` is f'(the given z, the given a); ``grad.z`` the given ``grad.a`` times the given
``dadz``; a batch's loss and gradients reduce the given per-sample ones; ``new`` is the
update of the given parameter by the given gradient, ``change`` the given new minus the
given old. A value not given is the pass's own, from the given values before it. Step k + 1
starts from step k's given ``new.*`` values (or its ``step<k+1>.`` parameters, when given).

With momentum or Adam, a step's optimizer values (``v.``, ``m.``, …) reach the next step
as given, but the step's own ``new.`` is worked from the optimizer values the pass
computes, not from the given ones of the same step.

In hand-calculation mode (``round: N``) each value worked from the given ones is rounded as
the run rounds it (engine/layered_handcalc.py: the loss and ∂L/∂a from a, δ = a − y for
softmax with cross-entropy, the batch's gradient the mean of the rounded own ones), so the
run's own values reproduce each other exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from backprop_cli.engine.layered import FlatUpdater, batch_stacks, engine_layers
from backprop_cli.engine.layered_handcalc import batch_gradient, rnn_steps
from backprop_cli.engine.layers import Activate, Flatten, LayerType, Rnn, sequence_loss
from backprop_cli.engine.layers.base import ActivateCache, Array
from backprop_cli.engine.layers.rnn import RnnCache
from backprop_cli.model.keys import KeyParts, index_suffix, named_kind, split_key
from backprop_cli.model.layered import LayeredProblem, LayerSpec
from backprop_cli.rounding import round_array

# where a key's value sits: (step (None: the final pass), what, file layer, role) and the
# index into that array (samples first)
Slot = tuple[int | None, str, int, str]
Place = tuple[Slot, tuple[int, ...]]

_LAYER_VALUES = ("z", "a", "dadz", "grad.a", "grad.z")
_PARAM_KINDS = ("param", "grad", "new", "change")


def carry_layered(problem: LayeredProblem, given: Mapping[str, float],
                  wanted: Iterable[str] | None = None) -> dict[str, float]:
    """The carried value of every key of ``wanted`` (default: the given keys) that the
    problem has: what the step gives it from the ``given`` values before it."""
    places = _Places(problem)
    subs = _Substitution(places, given, list(given) if wanted is None else wanted)
    with np.errstate(all="ignore"):  # a wrong value may overflow what follows: inf, no error
        _CarriedRun(problem, subs).run()
    return subs.carried


class _Places:
    """Where each key of a problem sits in the pass's arrays (:data:`Place`)."""

    def __init__(self, problem: LayeredProblem) -> None:
        self.problem = problem
        # a dense or rnn unit's name -> (file layer, unit); a tensor layer's name -> layer
        self.units: dict[str, tuple[int, int]] = {}
        self.tensors: dict[str, int] = {}
        for li, spec in enumerate(problem.layers):
            if not spec.has_keys:
                continue
            if spec.units:
                self.units.update((unit, (li, u)) for u, unit in enumerate(spec.units))
            else:
                self.tensors[spec.name] = li
        # a parameter element's name (K[1,1,2,2] or w) -> (file layer, role, index)
        self.params: dict[str, tuple[int, str, tuple[int, ...]]] = {}
        for li, spec in enumerate(problem.layers):
            for param in spec.params:
                for flat, name in enumerate(param.element_keys()):
                    index = np.unravel_index(flat, param.values.shape)
                    self.params[name] = (li, param.role, tuple(int(i) for i in index))

    def locate(self, key: str) -> Place | None:
        """The place of ``key``'s value, or None for a key the problem does not have."""
        parts = split_key(key)
        if parts is None:
            return None
        problem = self.problem
        sample = parts.sample or 0
        if sample >= problem.n_samples or (parts.sample is not None and not problem.has_samples):
            return None
        step = parts.step
        if step is not None and step > max(problem.steps, 1):
            return None
        kind = parts.kind
        if kind in ("input", "target"):  # the data: every sample's, read once
            return self._data(parts, 1, sample)
        # a step's values are its batch's: their arrays' first axis counts from its start
        if parts.sample is not None:
            batch = problem.batch(step)
            if sample not in batch:
                return None
            sample -= batch.start
        if kind in _LAYER_VALUES:
            return self._layer_value(parts, step, sample)
        if kind == "grad.input":
            return self._data(parts, step, sample)
        if kind == "loss":
            if parts.time is not None:
                return (step, "loss#", -1, ""), (sample, parts.time - 1)
            if parts.sample is not None:
                return (step, "loss@", -1, ""), (sample,)
            return (step, "loss", -1, ""), ()
        name = parts.name + index_suffix(parts.index)
        found = self.params.get(name)
        if found is None or parts.time is not None:
            return None
        li, role, index = found
        if kind == "grad" and parts.sample is not None:
            return (step, "grad@", li, role), (sample, *index)
        if kind in _PARAM_KINDS or kind in map(named_kind, problem.optimizer.kinds):
            return (step, kind, li, role), index
        return None

    def _layer_value(self, parts: KeyParts, step: int | None, sample: int) -> Place | None:
        problem = self.problem
        if parts.index is None:
            unit = self.units.get(parts.name)
            if unit is None:
                return None
            li, u = unit
            spec = problem.layers[li]
            if spec.over_time:
                if parts.time is None or not 1 <= parts.time <= problem.time_steps:
                    return None
                return (step, parts.kind, li, ""), (sample, parts.time - 1, u)
            return (step, parts.kind, li, ""), (sample, u)
        li = self.tensors.get(parts.name, -1)
        if li < 0 or not _inside(parts.index, problem.layers[li].output_shape):
            return None
        return (step, parts.kind, li, ""), (sample, *(i - 1 for i in parts.index))

    def _data(self, parts: KeyParts, step: int | None, sample: int) -> Place | None:
        problem = self.problem
        what = parts.kind
        if what == "target":
            names: list[str] = problem.output_names
        else:
            names = list(problem.input_names)
            if not names:  # a tensor input: x[c,i,j]
                if parts.name != problem.input_name or parts.index is None or not _inside(
                        parts.index, problem.input_shape):
                    return None
                return (step, what, -1, ""), (sample, *(i - 1 for i in parts.index))
        if parts.name not in names or parts.index is not None:
            return None
        col = names.index(parts.name)
        over_time = problem.targets.ndim == 3 if what == "target" else problem.sequence
        if over_time:
            if parts.time is None or not 1 <= parts.time <= problem.time_steps:
                return None
            return (step, what, -1, ""), (sample, parts.time - 1, col)
        return (step, what, -1, ""), (sample, col)


def _inside(index: tuple[int, ...], shape: tuple[int, ...]) -> bool:
    return len(index) == len(shape) and all(1 <= i <= n for i, n in zip(index, shape,
                                                                          strict=True))


class _Substitution:
    """The given values and the wanted keys by slot: :meth:`apply` records the wanted
    keys' carried values from an array, then writes the given ones over it."""

    def __init__(self, places: _Places, given: Mapping[str, float],
                 wanted: Iterable[str]) -> None:
        self.given: dict[Slot, list[tuple[tuple[int, ...], float]]] = {}
        self.wanted: dict[Slot, list[tuple[tuple[int, ...], str]]] = {}
        self.carried: dict[str, float] = {}
        for key, value in given.items():
            place = places.locate(key)
            if place is not None:
                self.given.setdefault(place[0], []).append((place[1], float(value)))
        for key in wanted:
            place = places.locate(key)
            if place is not None:
                self.wanted.setdefault(place[0], []).append((place[1], key))

    def apply(self, slot: Slot, array: Array, time: int | None = None) -> Array:
        """``array`` with the given values of ``slot`` written in (a copy when it has
        any), after the wanted keys' values are read; ``time``: only the entries of that
        time step (axis 1: an rnn's, worked one step at a time)."""
        for index, key in self.wanted.get(slot, ()):
            if time is None or index[1] == time:
                self.carried[key] = float(array[index])
        entries = [(index, value) for index, value in self.given.get(slot, ())
                   if time is None or index[1] == time]
        if not entries:
            return array
        array = np.array(array, dtype=np.float64)  # a copy: caches may share the array
        for index, value in entries:
            array[index] = value
        return array


class _Layer:
    """What the forward pass leaves of one file layer for the backward pass: its input,
    z, a and f'(z), each with the given values written in, and its first engine layer's
    cache (made from the given input)."""

    def __init__(self, x: Array, a: Array, cache: Any, z: Array | None = None,
                 dadz: Array | None = None) -> None:
        self.x = x
        self.a = a
        self.cache = cache
        self.z = z
        self.dadz = dadz


class _CarriedRun:
    def __init__(self, problem: LayeredProblem, subs: _Substitution) -> None:
        self.problem = problem
        self.subs = subs
        self.file_stacks = [engine_layers(spec, problem) for spec in problem.layers]
        # the step's batch (set by run): its stacks, inputs, targets and 1/N of the mean
        self.stacks = self.file_stacks
        self.scale = 1.0
        self.decimals = problem.round
        # the loss and ∂L/∂a of the outputs: in hand-calculation mode from a, as the formula
        # reads it; else the stable form from z the run uses
        assert problem.output.activation is not None
        self.output_activation = "" if self.decimals is not None else (
            problem.output.activation.name)

    def hand(self, values: Any) -> Any:
        """In hand-calculation mode (``round: N``) a value worked from the given ones is
        rounded as the run rounds it (engine/layered_handcalc.py) before it is judged."""
        if self.decimals is None:
            return values
        array = np.asarray(values, dtype=np.float64)
        return round_array(array.reshape(-1), self.decimals).reshape(array.shape)

    def run(self) -> None:
        problem = self.problem
        subs = self.subs
        all_inputs = subs.apply((1, "input", -1, ""), problem.inputs)
        all_targets = subs.apply((1, "target", -1, ""), problem.targets)
        updater = FlatUpdater(problem)
        params = [{p.role: p.values.copy() for p in spec.params} for spec in problem.layers]
        last = max(problem.steps, 1)
        steps: list[int | None] = [*range(1, last + 1), None]
        for step in steps:
            batch = problem.batch(step)
            self.inputs = all_inputs[batch.start:batch.stop]
            self.targets = all_targets[batch.start:batch.stop]
            self.stacks = batch_stacks(problem, self.file_stacks, batch)
            self.scale = 1.0 / len(batch) if problem.reduction == "mean" else 1.0
            params = [{role: subs.apply((step, "param", li, role), self.hand(values))
                       for role, values in p.items()} for li, p in enumerate(params)]
            layers = self.forward(step, params)
            if step is None:
                return
            grads = self.backward(step, params, layers)
            if problem.steps >= step:
                params = self.update(step, updater, params, grads)

    # ------------------------------------------------------------ forward

    def forward(self, step: int | None, params: list[dict[str, Array]]) -> list[_Layer]:
        subs = self.subs
        x = self.inputs
        layers = []
        for li, (spec, stack) in enumerate(zip(self.problem.layers, self.stacks, strict=True)):
            if isinstance(stack[0], Rnn):
                layer = self._rnn_forward(step, li, stack[0], x, params[li])
            elif spec.activation is not None:
                z, cache = stack[0].forward(x, params[li])
                z = subs.apply((step, "z", li, ""), self.hand(z))
                a = subs.apply((step, "a", li, ""), self.hand(spec.activation.forward(z)))
                dadz = None
                if not spec.activation.per_layer:
                    dadz = subs.apply((step, "dadz", li, ""),
                                      self.hand(spec.activation.derivative(z, a)))
                layer = _Layer(x, a, cache, z, dadz)
            else:  # pooling, dropout, flatten
                out, cache = stack[0].forward(x, {})
                if spec.has_keys:
                    out = subs.apply((step, "a", li, ""), self.hand(out))
                layer = _Layer(x, out, cache)
            layers.append(layer)
            x = layer.a
        self._loss(step, layers[-1])
        return layers

    def _rnn_forward(self, step: int | None, li: int, rnn: Rnn, x: Array,
                     p: dict[str, Array]) -> _Layer:
        """z_t = W·x_t + U·h_{t−1} + b and h_t = f(z_t), one step at a time, with the
        given z_t and h_t written in before the next step reads them."""
        subs = self.subs

        def given(kind: str, array: Array, t: int) -> Array:
            return subs.apply((step, kind, li, ""), array, t)

        z, h, h0 = rnn_steps(rnn, x, p, self.decimals, given)
        dadz = subs.apply((step, "dadz", li, ""), self.hand(rnn.activation.derivative(z, h)))
        return _Layer(x, h, RnnCache(x, h0, z, h), z, dadz)

    def _loss(self, step: int | None, output: _Layer) -> None:
        problem = self.problem
        subs = self.subs
        activation = problem.output.activation
        assert activation is not None and output.z is not None
        name = self.output_activation
        if problem.sequence:
            _, per_step, _ = sequence_loss(problem.loss, name, output.z, output.a,
                                           self.targets, problem.loss_at)
            per_step = subs.apply((step, "loss#", -1, ""), self.hand(per_step))
            losses = np.add.reduce(per_step, axis=1) if self.decimals is None else np.array(
                [math.fsum(row) for row in per_step.tolist()])
        else:
            losses = problem.loss.per_sample(output.z, output.a, self.targets, name)
        losses = subs.apply((step, "loss@", -1, ""), self.hand(losses))
        if self.decimals is None:
            total = float(np.add.reduce(losses))
        else:
            total = math.fsum(np.asarray(losses, dtype=np.float64).tolist())
        if problem.reduction == "mean":
            total /= len(losses)
        subs.apply((step, "loss", -1, ""), self.hand(np.array(total)))

    # ------------------------------------------------------------ backward

    def backward(self, step: int, params: list[dict[str, Array]], layers: list[_Layer]
                 ) -> list[dict[str, Array]]:
        """The backward pass from the given values; the batch's parameter gradients
        (given ones written in)."""
        problem = self.problem
        subs = self.subs
        output = layers[-1]
        activation = problem.output.activation
        assert activation is not None and output.z is not None
        name = self.output_activation
        if problem.sequence:
            grad = sequence_loss(problem.loss, name, output.z, output.a, self.targets,
                                 problem.loss_at)[2]
        else:
            grad = problem.loss.grad_a(output.z, output.a, self.targets, name)
        grad = self.hand(grad)
        grads: list[dict[str, Array]] = [{} for _ in layers]
        for li in range(len(layers) - 1, -1, -1):
            spec, stack, layer, p = problem.layers[li], self.stacks[li], layers[li], params[li]
            if isinstance(stack[0], Rnn):
                grad_z = self._bptt(step, li, stack[0], grad, layer, p)
                grad = grad_z @ p["weights"]
                sample_grads = stack[0].delta_grads(grad_z, layer.cache, per_sample=True)
                batch = stack[0].delta_grads(grad_z, layer.cache)
            else:
                grad_z = self._delta(step, li, spec, stack, grad, layer, li == len(layers) - 1)
                grad, batch = stack[0].backward(grad_z, layer.cache, p)
                hand = self.decimals is not None
                sample_grads = stack[0].param_grads(grad_z, layer.cache, p, per_sample=True
                                                    ) if p and (problem.has_samples or hand
                                                                ) else {}
            if not isinstance(stack[0], Flatten):
                grad = self.hand(grad)
            for role, value in batch.items():
                if self.decimals is not None:  # the mean of the rounded own ones, rounded
                    per_sample = subs.apply((step, "grad@", li, role),
                                            self.hand(sample_grads[role]))
                    value = batch_gradient(per_sample, problem.reduction, self.decimals)
                    grads[li][role] = subs.apply((step, "grad", li, role), value)
                    continue
                if problem.has_samples:  # the batch's: the given per-sample ones reduced
                    per_sample = subs.apply((step, "grad@", li, role), sample_grads[role])
                    value = np.add.reduce(per_sample, axis=0)
                grads[li][role] = subs.apply((step, "grad", li, role), value * self.scale)
        subs.apply((step, "grad.input", -1, ""), grad)
        return grads

    def _delta(self, step: int, li: int, spec: LayerSpec, stack: list[LayerType[Any]],
               grad: Array, layer: _Layer, output: bool = False) -> Array:
        """∂L/∂(the first engine layer's output) from the given ∂L/∂a: ∂L/∂z of a conv
        or dense layer (the given ∂L/∂a times the given f'(z)), the gradient itself for
        pooling and dropout (flatten: no keys)."""
        subs = self.subs
        if not spec.has_keys:
            return grad
        grad = subs.apply((step, "grad.a", li, ""), grad)
        if spec.activation is None:
            return grad
        if layer.dadz is None and output and self.decimals is not None and (
                self.problem.loss.spec.softmax_delta):  # by hand: δ = a − y
            grad = layer.a - self._softmax_targets(layer.a)
        elif layer.dadz is None:  # softmax: its Jacobian at the given a
            assert layer.z is not None and isinstance(stack[1], Activate)
            grad = stack[1].backward(grad, ActivateCache(layer.z, layer.a), {})[0]
        else:
            grad = grad * layer.dadz
        return subs.apply((step, "grad.z", li, ""), self.hand(grad))

    def _softmax_targets(self, a: Array) -> Array:
        """y of δ = a − y (softmax with cross-entropy): with a sequence's loss at the last
        step only, a itself before it (δ = 0 there)."""
        if self.problem.sequence and self.problem.loss_at == "last":
            targets = np.array(a)
            targets[:, -1] = self.targets
            return targets
        return self.targets

    def _bptt(self, step: int, li: int, rnn: Rnn, grad: Array, layer: _Layer,
              p: dict[str, Array]) -> Array:
        """∂L/∂h_t = g_t + Uᵀ·∂L/∂z_{t+1} and ∂L/∂z_t = ∂L/∂h_t·f'(z_t) from the last step
        back, with the given values written in before the step below reads them."""
        subs = self.subs
        assert layer.dadz is not None
        grad_h = np.empty_like(grad)
        grad_z = np.empty_like(grad)
        carried = np.zeros_like(grad[:, 0])
        for t in range(grad.shape[1] - 1, -1, -1):
            grad_h[:, t] = self.hand(grad[:, t] + carried)
            grad_h = subs.apply((step, "grad.a", li, ""), grad_h, t)
            grad_z[:, t] = self.hand(grad_h[:, t] * layer.dadz[:, t])
            grad_z = subs.apply((step, "grad.z", li, ""), grad_z, t)
            carried = grad_z[:, t] @ p["recurrent"]
        return grad_z

    # ------------------------------------------------------------ update

    def update(self, step: int, updater: FlatUpdater, params: list[dict[str, Array]],
               grads: list[dict[str, Array]]) -> list[dict[str, Array]]:
        """The optimizer's step on the given parameters and gradients; its values (v, m,
        …) with the given ones written in are what the next step reads."""
        subs = self.subs
        new = updater.step(params, grads)
        state = updater.state()
        for kind, arrays in state.items():
            given = [{role: subs.apply((step, named_kind(kind), li, role), values)
                      for role, values in layer.items()} for li, layer in enumerate(arrays)]
            updater.updater.state[kind][...] = updater.flat(given)
        new = [{role: subs.apply((step, "new", li, role), values)
                for role, values in layer.items()} for li, layer in enumerate(new)]
        for li, layer in enumerate(new):
            for role, values in layer.items():
                subs.apply((step, "change", li, role), self.hand(values - params[li][role]))
        return new


__all__ = ["carry_layered"]
