"""The worked solution of a layered network's problem (issue 19), as plain text lines.

Convolution: each output as the sum over its window with the numbers substituted, and the
kernel gradient as the sum of δ·window products. Max pooling names the winner of each
window and routes its gradient there; average pooling shares it. Dropout shows the mask
and the scale. A recurrence is unrolled: the forward pass step by step, then BPTT from
the last step back, with the sums over time of the shared weights. A layer with more than
:data:`MAX_SPELLED` values shows its first ones in full, then every value in a table.

Every key is built by :mod:`backprop_cli.model.keys` (:meth:`_Writer.key` and
:meth:`_Writer.show`); a value's name is its key without the step prefix and the sample.
"""

from __future__ import annotations

import numpy as np

from backprop_cli.engine.layered import LayeredSolution, Pass
from backprop_cli.engine.layers import Pool
from backprop_cli.engine.layers.base import Array
from backprop_cli.model.keys import (
    KeyKind,
    compose,
    index_suffix,
    named_kind,
    prefix_for,
    split_key,
    time_suffix,
)
from backprop_cli.model.layered import LayerSpec, indices
from backprop_cli.numfmt import format_number
from backprop_cli.render.formula_text import substituted

# the values of one layer (or parameter) worked out term by term; the rest as a table
MAX_SPELLED = 12
# samples shown in full (the others: their values in solve --format json)
MAX_SAMPLES = 3
# kinds without a sample suffix (a parameter's), and without a step prefix (data)
_PARAM_KINDS = ("param", "grad", "new", "change")
_DATA_KINDS = ("input", "target")

Source = tuple[KeyKind, str]  # a value a layer reads: ("input", "x[1,2,3]"), ("a", "P[1,1]")


def _grad_of(kind: KeyKind) -> KeyKind:
    return "grad.input" if kind == "input" else "grad.a"


class _Writer:
    def __init__(self, solution: LayeredSolution, digits: int) -> None:
        self.solution = solution
        self.problem = solution.problem
        self.digits = digits
        self.values = solution.values
        self.lines: list[str] = []
        self.pre = ""  # the step prefix of the values shown
        self.sfx = ""  # the sample suffix of the values shown

    # ---------------------------------------------------------------- keys and numbers

    def key(self, kind: KeyKind, name: str = "") -> str:
        """The full key of a value of the step and sample shown."""
        return compose("" if kind in _DATA_KINDS else self.pre, kind, name,
                       "" if kind in _PARAM_KINDS else self.sfx)

    @staticmethod
    def show(kind: KeyKind, name: str = "") -> str:
        """A value's name in a formula (its key without step and sample)."""
        return compose("", kind, name)

    def n(self, value: float) -> str:
        """A number as an operand: a negative one in parentheses."""
        text = format_number(float(value), self.digits)
        return f"({text})" if text.startswith(("-", "−")) else text

    def r(self, value: float) -> str:
        """A number as a result."""
        return format_number(float(value), self.digits)

    def val(self, kind: KeyKind, name: str = "") -> str:
        return self.n(self.values[self.key(kind, name)])

    def res(self, kind: KeyKind, name: str = "") -> str:
        return self.r(self.values[self.key(kind, name)])

    def out(self, text: str = "") -> None:
        self.lines.append(text)

    def at(self, run: Pass, k: int | None) -> None:
        self.pre = prefix_for(run.step)
        self.sfx = "" if k is None else self.problem.sample_suffix(k)

    def times(self, spec: LayerSpec) -> list[str]:
        if not spec.over_time:
            return [""]
        return [time_suffix(t) for t in range(1, self.problem.time_steps + 1)]

    # ---------------------------------------------------------------- the document

    def write(self, step: int) -> list[str]:
        problem = self.problem
        self.out(problem.title)
        self.out("=" * len(problem.title))
        if problem.description:
            self.out(problem.description.strip())
        self.out()
        self.network()
        run = self.solution.passes[step - 1]
        self.out()
        heading = f"Step {step}" + (f" of {problem.steps}" if problem.steps > 1 else "")
        self.out(heading)
        self.out("-" * len(heading))
        self.at(run, None)
        self.parameters(run)
        samples = range(min(problem.n_samples, MAX_SAMPLES))
        for k in samples:
            self.forward(run, k)
        if problem.n_samples > MAX_SAMPLES:
            self.out(f"(samples {MAX_SAMPLES + 1} to {problem.n_samples}: the same; their "
                     "values are in solve --format json)")
        self.out()
        self.at(run, None)
        self.out(f"{self.show('loss')} = {self.res('loss')}"
                 + (f" (the {problem.reduction} over {problem.n_samples} samples)"
                    if problem.has_samples else ""))
        for k in samples:
            self.backward(run, k)
        self.at(run, None)
        self.param_gradients(run)
        if run.new:
            self.update(run)
        self.out()
        final = self.solution.passes[-1]
        self.at(final, None)
        self.out(f"After {problem.steps} step{'s' * (problem.steps != 1)}: "
                 f"{self.key('loss')} = {self.res('loss')}")
        return self.lines

    def network(self) -> None:
        problem = self.problem
        if problem.sequence:
            self.out(f"Input: a sequence of {problem.time_steps} steps of "
                     f"({', '.join(problem.input_names)})")
        else:
            self.out(f"Input: {problem.input_name}, {'×'.join(map(str, problem.input_shape))}")
        for layer in problem.layers:
            self.out(f"Layer {layer.index} {layer.name}: {describe(layer)} → "
                     f"{'×'.join(map(str, layer.output_shape))}")
        loss_at = ""
        if problem.sequence:
            loss_at = " (at every step, summed)" if problem.loss_at == "every" else (
                " (at the last step)")
        self.out(f"Loss: {problem.loss.name}{loss_at}; learning rate η = "
                 f"{self.r(problem.learning_rate)}")

    def parameters(self, run: Pass) -> None:
        self.out("Parameters:")
        for spec in self.problem.layers:
            for param in spec.params:
                if param.element_names is not None:
                    self.out("  " + ", ".join(f"{name} = {self.res('param', name)}"
                                              for name in param.element_keys()))
                else:
                    self.table(param.tensor_name, run.params[spec.index - 1][param.role])

    def table(self, name: str, array: Array) -> None:
        """A tensor as matrices: one per leading index (rows × columns)."""
        if array.ndim <= 1:
            self.out(f"  {name} = [" + ", ".join(self.r(x) for x in array.ravel()) + "]")
            return
        for lead in indices(array.shape[:-2]):
            matrix = array[lead]
            label = f"{name}[{','.join(str(i + 1) for i in lead)}{',' if lead else ''}·,·]"
            cells = [[self.r(x) for x in row] for row in matrix]
            width = max(len(c) for row in cells for c in row)
            self.out(f"  {label} =")
            for row in cells:
                self.out("    " + "  ".join(c.rjust(width) for c in row))

    def sources(self, li: int) -> list[Source]:
        """What layer ``li`` reads, row-major: the input, or the output of the layer
        below (through a flatten)."""
        j = li - 1
        while j >= 0 and not self.problem.layers[j].has_keys:
            j -= 1
        if j < 0:
            return [("input", name) for name in self.problem.input_value_names()]
        return [("a", name) for name in self.problem.layers[j].value_names()]

    # ---------------------------------------------------------------- forward

    def forward(self, run: Pass, k: int) -> None:
        problem = self.problem
        self.at(run, k)
        self.out()
        self.out("Forward pass" + (f", sample {k + 1}" if problem.has_samples else ""))
        if problem.sequence:
            for t in range(1, problem.time_steps + 1):
                self.out(f"  t = {t}: " + ", ".join(
                    f"{self.show('input', name + time_suffix(t))} = "
                    f"{self.res('input', name + time_suffix(t))}"
                    for name in problem.input_names))
        for li, spec in enumerate(problem.layers):
            self.out(f" Layer {spec.name} ({spec.type})")
            if spec.type in ("conv1d", "conv2d"):
                self.conv_forward(run, li, spec, k)
            elif spec.type.endswith(("pool1d", "pool2d")):
                self.pool_forward(run, li, spec, k)
            elif spec.type == "dropout":
                self.dropout_forward(li, spec, k)
            elif spec.type == "flatten":
                sources = [self.show(*s) for s in self.sources(li)]
                self.out(f"  row-major over {'×'.join(map(str, spec.input_shape))}: "
                         f"{', '.join(sources[:6])}{', …' if len(sources) > 6 else ''}")
            else:
                self.unit_forward(spec, li)
        if problem.loss_at == "every":
            steps = [time_suffix(t) for t in range(1, problem.time_steps + 1)]
            self.out(f"  {self.show('loss')} = " + " + ".join(self.show("loss", t)
                                                              for t in steps)
                     + " = " + " + ".join(self.val("loss", t) for t in steps)
                     + (f" = {self.res('loss')}" if problem.has_samples else ""))
        elif problem.has_samples:
            self.out(f"  {self.key('loss')} = {self.res('loss')}")

    def conv_forward(self, run: Pass, li: int, spec: LayerSpec, k: int) -> None:
        weights = spec.params[0]
        bias = next((p for p in spec.params if p.role == "bias"), None)
        below = self.sources(li)
        channels, spatial = spec.input_shape[0], spec.input_shape[1:]
        w_names = weights.element_keys()
        if len(spatial) == 1:
            where, over, window = "[f,i]", "c,p", "[f,c,p]·input[c, i·s+p]"
        else:
            where, over, window = "[f,i,j]", "c,p,q", "[f,c,p,q]·input[c, i·s+p, j·s+q]"
        self.out(f"  {self.show('z', spec.name)}{where} = Σ_{over} {weights.tensor_name}{window}"
                 f" + bias[f]  (cross-correlation"
                 f"{', zero padding' if any(spec.padding) else ''})")
        names = spec.value_names()
        for count, index in enumerate(indices(spec.output_shape)):
            if count == MAX_SPELLED:
                self.out(f"  … (the other {len(names) - MAX_SPELLED} outputs alike)")
                break
            f, pos = index[0], index[1:]
            terms, numbers = [], []
            for c in range(channels):
                for offset in indices(spec.kernel):
                    at = tuple(p * s - pad + o for p, s, pad, o in zip(
                        pos, spec.stride, spec.padding, offset, strict=True))
                    w = w_names[int(np.ravel_multi_index((f, c, *offset),
                                                         weights.values.shape))]
                    if all(0 <= a < n for a, n in zip(at, spatial, strict=True)):
                        source = below[int(np.ravel_multi_index((c, *at), spec.input_shape))]
                        terms.append(f"{w}·{self.show(*source)}")
                        numbers.append(f"{self.val('param', w)}·{self.val(*source)}")
                    else:
                        terms.append(f"{w}·0")
                        numbers.append(f"{self.val('param', w)}·0")
            if bias is not None:
                b = bias.element_keys()[f]
                terms.append(b)
                numbers.append(self.val("param", b))
            name = names[count]
            self.out(f"  {self.show('z', name)} = {' + '.join(terms)}")
            self.out(f"       = {' + '.join(numbers)} = {self.res('z', name)}")
        self.activation_lines(spec, names, "")
        if len(names) > MAX_SPELLED:
            self.table(self.show("z", spec.name), run.outs[li][0][k])
            self.table(self.show("a", spec.name), run.outs[li][1][k])

    def activation_lines(self, spec: LayerSpec, names: list[str], t: str) -> None:
        assert spec.activation is not None
        act = spec.activation.name
        for name in names[:MAX_SPELLED]:
            self.out(f"  {self.show('a', name + t)} = {act}({self.res('z', name + t)}) = "
                     f"{self.res('a', name + t)}")

    def pool_forward(self, run: Pass, li: int, spec: LayerSpec, k: int) -> None:
        below = self.sources(li)
        kind = spec.type[:3]
        share = int(np.prod(spec.kernel))
        self.out(f"  window {'×'.join(map(str, spec.kernel))}, stride "
                 f"{'×'.join(map(str, spec.stride))}"
                 + ("; the gradient goes to the first maximum of each window (row-major)"
                    if kind == "max" else f"; each element gets 1/{share} of the gradient"))
        winners = None
        if kind == "max":
            winners = Pool("max", len(spec.kernel), spec.kernel, spec.stride).winners(
                run.caches[li][0])
        names = spec.value_names()
        for count, index in enumerate(indices(spec.output_shape)):
            if count == MAX_SPELLED:
                self.out(f"  … (the other {len(names) - MAX_SPELLED} windows alike)")
                break
            c, pos = index[0], index[1:]
            members = []
            for offset in indices(spec.kernel):
                at = tuple(p * s + o for p, s, o in zip(pos, spec.stride, offset, strict=True))
                members.append(below[int(np.ravel_multi_index((c, *at), spec.input_shape))])
            shown = [self.val(*m) for m in members]
            name = names[count]
            if winners is not None:
                win = tuple(int(w) for w in winners[(k, *index)])
                winner = below[int(np.ravel_multi_index((c, *win), spec.input_shape))]
                self.out(f"  {self.show('a', name)} = max({', '.join(shown)}) = "
                         f"{self.res('a', name)}  (winner {self.show(*winner)})")
            else:
                self.out(f"  {self.show('a', name)} = ({' + '.join(shown)})/{share} = "
                         f"{self.res('a', name)}")
        if len(names) > MAX_SPELLED:
            self.table(self.show("a", spec.name), run.outs[li][0][k])

    def mask_of(self, spec: LayerSpec, k: int) -> Array:
        assert spec.mask is not None
        return spec.mask if spec.mask.ndim == len(spec.input_shape) else spec.mask[k]

    def dropout_forward(self, li: int, spec: LayerSpec, k: int) -> None:
        mask = self.mask_of(spec, k)
        scale = self.r(1.0 / (1.0 - spec.rate))
        self.out(f"  rate {self.r(spec.rate)}: a kept element × 1/(1 − {self.r(spec.rate)}) = "
                 f"{scale}, a dropped one 0")
        self.table("mask", mask.astype(np.float64))
        names = spec.value_names()
        for count, (name, source, kept) in enumerate(zip(names, self.sources(li), mask.ravel(),
                                                         strict=True)):
            if count == MAX_SPELLED:
                self.out(f"  … (the other {len(names) - MAX_SPELLED} alike)")
                break
            if kept:
                self.out(f"  {self.show('a', name)} = {scale}·{self.show(*source)} = {scale}·"
                         f"{self.val(*source)} = {self.res('a', name)}")
            else:
                self.out(f"  {self.show('a', name)} = 0 (dropped)")

    def unit_forward(self, spec: LayerSpec, li: int) -> None:
        recurrent = next((p for p in spec.params if p.role == "recurrent"), None)
        bias = next((p for p in spec.params if p.role == "bias"), None)
        below = self.sources(li)
        w_names = spec.params[0].element_keys()
        u_names = recurrent.element_keys() if recurrent is not None else []
        b_names = bias.element_keys() if bias is not None else []
        units = list(spec.units)
        times = self.times(spec)
        h0 = spec.initial if spec.initial is not None else np.zeros(len(units))
        for ti, t in enumerate(times):
            for u, unit in enumerate(units):
                terms, numbers = [], []
                for j, (kind, name) in enumerate(below):
                    w = w_names[u * len(below) + j]
                    terms.append(f"{w}·{self.show(kind, name + t)}")
                    numbers.append(f"{self.val('param', w)}·{self.val(kind, name + t)}")
                for j, other in enumerate(units if recurrent is not None else []):
                    w = u_names[u * len(units) + j]
                    if ti == 0:
                        terms.append(f"{w}·h0")
                        numbers.append(f"{self.val('param', w)}·{self.n(h0[j])}")
                    else:
                        terms.append(f"{w}·{self.show('a', other + times[ti - 1])}")
                        numbers.append(f"{self.val('param', w)}·"
                                       f"{self.val('a', other + times[ti - 1])}")
                if b_names:
                    terms.append(b_names[u])
                    numbers.append(self.val("param", b_names[u]))
                if len(terms) > 2 * MAX_SPELLED:
                    terms = [*terms[:3], "…", terms[-1]]
                    numbers = [*numbers[:3], "…", numbers[-1]]
                self.out(f"  {self.show('z', unit + t)} = {' + '.join(terms)}")
                self.out(f"       = {' + '.join(numbers)} = {self.res('z', unit + t)}")
            self.activation_lines(spec, units, t)

    # ---------------------------------------------------------------- backward

    def backward(self, run: Pass, k: int) -> None:
        problem = self.problem
        self.at(run, k)
        self.out()
        self.out("Backward pass" + (f", sample {k + 1}" if problem.has_samples else ""))
        output = problem.output
        for t in self.times(output):
            for unit in output.units:
                self.out(self.loss_gradient(unit, t))
        for li in range(len(problem.layers) - 1, -1, -1):
            spec = problem.layers[li]
            if not spec.has_keys:
                continue
            self.out(f" Layer {spec.name} ({spec.type})")
            if spec.type == "rnn":
                self.rnn_backward(spec, li)
            elif spec.type.endswith(("pool1d", "pool2d")):
                self.pool_backward(run, li, spec, k)
            elif spec.type == "dropout":
                self.dropout_backward(li, spec, k)
            else:
                self.delta_lines(run, li, spec, k)
                if li > 0 and spec.type == "dense" and not spec.over_time:
                    self.dense_input_gradients(li, spec)

    def loss_gradient(self, unit: str, t: str) -> str:
        """∂L/∂a of an output unit, from the loss's formula with the numbers substituted (a
        step without a loss, with loss_at: last, has 0)."""
        problem = self.problem
        target = self.show("grad.a", unit + t)
        every = problem.loss_at == "every"
        if problem.sequence and not every and t != time_suffix(problem.time_steps):
            return f"  {target} = 0 (no loss at this step)"
        refs = {"a": self.key("a", unit + t),
                "y": self.key("target", unit + (t if every else ""))}
        expr = problem.loss.grad_a_expr(refs["a"], refs["y"], len(problem.output.units))
        keys, numbers = substituted(expr, self.values, self.digits)
        for key in refs.values():
            keys = keys.replace(key, self.show(*_kind_and_name(key)))
        return f"  {target} = {keys} = {numbers} = {self.res('grad.a', unit + t)}"

    def delta_lines(self, run: Pass, li: int, spec: LayerSpec, k: int) -> None:
        assert spec.activation is not None
        names = spec.value_names()
        shown = 0
        for t in reversed(self.times(spec)):
            for name in names:
                if shown == MAX_SPELLED:
                    break
                shown += 1
                target = self.show("grad.z", name + t)
                if spec.activation.per_layer:
                    self.out(f"  {target} = {self.res('grad.z', name + t)} (through softmax)")
                else:
                    self.out(f"  {target} = {self.show('grad.a', name + t)}·"
                             f"{self.show('dadz', name + t)} = "
                             f"{self.val('grad.a', name + t)}·{self.val('dadz', name + t)} = "
                             f"{self.res('grad.z', name + t)}")
        if len(names) > MAX_SPELLED:
            self.table(self.show("grad.z", spec.name), run.grad_outs[li][0][k])

    def dense_input_gradients(self, li: int, spec: LayerSpec) -> None:
        """∂L/∂(the layer's inputs): the grad.a of the layer below."""
        below = self.sources(li)
        w_names = spec.params[0].element_keys()
        for j, (kind, name) in enumerate(below[:MAX_SPELLED]):
            terms = [f"{w_names[u * len(below) + j]}·{self.show('grad.z', unit)}"
                     for u, unit in enumerate(spec.units)]
            numbers = [f"{self.val('param', w_names[u * len(below) + j])}·"
                       f"{self.val('grad.z', unit)}" for u, unit in enumerate(spec.units)]
            self.out(f"  {self.show(_grad_of(kind), name)} = {' + '.join(terms)} = "
                     f"{' + '.join(numbers)} = {self.res(_grad_of(kind), name)}")

    def dropout_backward(self, li: int, spec: LayerSpec, k: int) -> None:
        mask = self.mask_of(spec, k)
        scale = self.r(1.0 / (1.0 - spec.rate))
        for count, (name, (kind, source), kept) in enumerate(zip(
                spec.value_names(), self.sources(li), mask.ravel(), strict=True)):
            if count == MAX_SPELLED:
                self.out("  … (the others alike)")
                break
            target = self.show(_grad_of(kind), source)
            if kept:
                self.out(f"  {target} = {scale}·{self.show('grad.a', name)} = {scale}·"
                         f"{self.val('grad.a', name)} = {self.res(_grad_of(kind), source)}")
            else:
                self.out(f"  {target} = 0 (dropped)")

    def pool_backward(self, run: Pass, li: int, spec: LayerSpec, k: int) -> None:
        below = self.sources(li)
        names = spec.value_names()
        if not spec.type.startswith("max"):
            share = int(np.prod(spec.kernel))
            self.out(f"  each element of a window gets 1/{share} of its gradient, summed over "
                     "the windows it belongs to")
            members: dict[Source, list[str]] = {}
            for count, index in enumerate(indices(spec.output_shape)):
                for offset in indices(spec.kernel):
                    at = tuple(p * st + o for p, st, o in zip(index[1:], spec.stride, offset,
                                                             strict=True))
                    element = below[int(np.ravel_multi_index((index[0], *at),
                                                             spec.input_shape))]
                    members.setdefault(element, []).append(names[count])
            for (kind, source), windows in list(members.items())[:MAX_SPELLED]:
                self.out(f"  {self.show(_grad_of(kind), source)} = "
                         + " + ".join(f"{self.show('grad.a', w)}/{share}" for w in windows)
                         + " = " + " + ".join(f"{self.val('grad.a', w)}/{share}"
                                              for w in windows)
                         + f" = {self.res(_grad_of(kind), source)}")
            return
        winners = Pool("max", len(spec.kernel), spec.kernel, spec.stride).winners(
            run.caches[li][0])
        routed: dict[Source, list[str]] = {}
        for count, index in enumerate(indices(spec.output_shape)):
            win = tuple(int(w) for w in winners[(k, *index)])
            winner = below[int(np.ravel_multi_index((index[0], *win), spec.input_shape))]
            routed.setdefault(winner, []).append(names[count])
        for (kind, source), windows in list(routed.items())[:MAX_SPELLED]:
            sums = "" if len(windows) == 1 else " = " + " + ".join(
                self.val("grad.a", w) for w in windows)
            self.out(f"  {self.show(_grad_of(kind), source)} = "
                     + " + ".join(self.show("grad.a", w) for w in windows)
                     + f"{sums} = {self.res(_grad_of(kind), source)}  (it wins "
                     + ", ".join(self.show("a", w) for w in windows) + ")")
        self.out("  every other element: 0 (it wins no window)")

    def from_above(self, li: int, i: int, at: str) -> tuple[str, str]:
        """What ∂L/∂h_t of unit i of the rnn ``li`` receives from the dense layer above it
        at step ``at``: (the terms, with numbers)."""
        layers = self.problem.layers
        if li + 1 >= len(layers) or layers[li + 1].type != "dense":
            return "(from the loss)", "(from the loss)"
        above = layers[li + 1]
        w_names = above.params[0].element_keys()
        width = len(layers[li].units)
        terms = [f"{w_names[y * width + i]}·{self.show('grad.z', unit + at)}"
                 for y, unit in enumerate(above.units)]
        numbers = [f"{self.val('param', w_names[y * width + i])}·{self.val('grad.z', unit + at)}"
                   for y, unit in enumerate(above.units)]
        return " + ".join(terms), " + ".join(numbers)

    def rnn_backward(self, spec: LayerSpec, li: int) -> None:
        steps = self.problem.time_steps
        recurrent = next(p for p in spec.params if p.role == "recurrent")
        u_names = recurrent.element_keys()
        units = list(spec.units)
        self.out("  BPTT, from the last step back: ∂L/∂h_t = (from the layer above at t) + "
                 "Uᵀ·∂L/∂z_(t+1)")
        for t in range(steps, 0, -1):
            at = time_suffix(t)
            for i, unit in enumerate(units):
                grad_h = self.show("grad.a", unit + at)
                above, above_numbers = self.from_above(li, i, at)
                if t < steps:
                    later = time_suffix(t + 1)
                    carried = " + ".join(
                        f"{u_names[j * len(units) + i]}·{self.show('grad.z', other + later)}"
                        for j, other in enumerate(units))
                    numbers = " + ".join(
                        f"{self.val('param', u_names[j * len(units) + i])}·"
                        f"{self.val('grad.z', other + later)}" for j, other in enumerate(units))
                    self.out(f"  {grad_h} = {above} + {carried}")
                    self.out(f"       = {above_numbers} + {numbers} = "
                             f"{self.res('grad.a', unit + at)}")
                else:
                    self.out(f"  {grad_h} = {above} = {above_numbers} = "
                             f"{self.res('grad.a', unit + at)}")
                self.out(f"  {self.show('grad.z', unit + at)} = {grad_h}·"
                         f"{self.show('dadz', unit + at)} = {self.val('grad.a', unit + at)}·"
                         f"{self.val('dadz', unit + at)} = {self.res('grad.z', unit + at)}")

    # ---------------------------------------------------------------- gradients, update

    def param_gradients(self, run: Pass) -> None:
        problem = self.problem
        self.out()
        if problem.n_samples > 1:
            scale = "(1/N)·" if problem.reduction == "mean" else ""
            self.out(f"Parameter gradients: {scale}the sum of the samples' (each as below "
                     "for one sample)")
        else:
            self.out("Parameter gradients" + (" (shared over time: the sum over the steps)"
                                              if problem.sequence else ""))
        for li, spec in enumerate(problem.layers):
            for param in spec.params:
                for count, name in enumerate(param.element_keys()):
                    if count == MAX_SPELLED:
                        self.table(self.show("grad", param.tensor_name),
                                   run.grads[li][param.role])
                        break
                    explain = "" if problem.n_samples > 1 else self.gradient_sum(
                        spec, li, param.role, count)
                    self.out(f"  {self.show('grad', name)}{explain} = {self.res('grad', name)}")

    def gradient_sum(self, spec: LayerSpec, li: int, role: str, element: int) -> str:
        """' = Σ δ·input = …' of one parameter element (one sample)."""
        below = self.sources(li)
        names = spec.value_names()
        terms, numbers = [], []
        if spec.type in ("conv1d", "conv2d"):
            shape = spec.params[0].values.shape if role == "weights" else (spec.filters,)
            index = tuple(int(i) for i in np.unravel_index(element, shape))
            f = index[0]
            for count, out_index in enumerate(indices(spec.output_shape)):
                if out_index[0] != f:
                    continue
                delta = names[count]
                if role == "bias":
                    terms.append(self.show("grad.z", delta))
                    numbers.append(self.val("grad.z", delta))
                    continue
                c, offset = index[1], index[2:]
                at = tuple(p * s - pad + o for p, s, pad, o in zip(
                    out_index[1:], spec.stride, spec.padding, offset, strict=True))
                if not all(0 <= a < n for a, n in zip(at, spec.input_shape[1:], strict=True)):
                    continue  # a padding zero
                under = below[int(np.ravel_multi_index((c, *at), spec.input_shape))]
                terms.append(f"{self.show('grad.z', delta)}·{self.show(*under)}")
                numbers.append(f"{self.val('grad.z', delta)}·{self.val(*under)}")
            if len(terms) > MAX_SPELLED:
                return (f" = Σ_i,j {self.show('grad.z', spec.name)}[{f + 1},i,j]·(the window "
                        "element under it)")
            return f" = {' + '.join(terms)}\n      = {' + '.join(numbers)}"
        if spec.type not in ("dense", "rnn"):
            return ""
        units = list(spec.units)
        times = self.times(spec)
        source: Source | None = None
        if role == "bias":
            u = element
        elif role == "weights":
            u, j = divmod(element, len(below))
            source = below[j]
        else:
            u, j = divmod(element, len(units))
            source = ("a", units[j])
        for ti, t in enumerate(times):
            delta = units[u] + t
            if source is None:
                terms.append(self.show("grad.z", delta))
                numbers.append(self.val("grad.z", delta))
                continue
            kind, name = source
            if role == "recurrent":
                if ti == 0:
                    h0 = spec.initial[j] if spec.initial is not None else 0.0
                    terms.append(f"{self.show('grad.z', delta)}·h0")
                    numbers.append(f"{self.val('grad.z', delta)}·{self.n(h0)}")
                    continue
                name += times[ti - 1]
            else:
                name += t
            terms.append(f"{self.show('grad.z', delta)}·{self.show(kind, name)}")
            numbers.append(f"{self.val('grad.z', delta)}·{self.val(kind, name)}")
        if len(terms) > MAX_SPELLED:
            return ""
        return f" = {' + '.join(terms)}\n      = {' + '.join(numbers)}"

    def update(self, run: Pass) -> None:
        problem = self.problem
        rate = self.r(problem.learning_rate)
        plain = problem.optimizer.name == "sgd" and not problem.weight_decay
        kinds = [named_kind(kind) for kind in problem.optimizer.kinds]
        self.out()
        if plain:
            self.out(f"Update (SGD): new = p − η·grad, η = {rate}")
        else:
            decay = (f", weight decay λ = {self.r(problem.weight_decay)} (g = grad + λ·w for "
                     "weights)" if problem.weight_decay else "")
            self.out(f"Update ({problem.optimizer.label}), η = {rate}{decay}")
        for li, spec in enumerate(problem.layers):
            for param in spec.params:
                for count, name in enumerate(param.element_keys()):
                    if count == MAX_SPELLED:
                        self.table(self.show("new", param.tensor_name), run.new[li][param.role])
                        break
                    if plain:
                        self.out(f"  {self.show('new', name)} = {self.val('param', name)} − "
                                 f"{rate}·{self.val('grad', name)} = {self.res('new', name)}")
                    else:
                        self.out("  " + ", ".join(f"{self.show(kind, name)} = "
                                                  f"{self.res(kind, name)}"
                                                  for kind in (*kinds, "new")))


def _kind_and_name(key: str) -> tuple[KeyKind, str]:
    """A key's kind and name (with index and time) without step and sample."""
    parts = split_key(key)
    assert parts is not None
    name = parts.name + index_suffix(parts.index) + time_suffix(parts.time)
    return parts.kind, name


def describe(layer: LayerSpec) -> str:
    """One layer's settings in a few words."""
    act = f", {layer.activation.name}" if layer.activation is not None else ""
    if layer.type in ("conv1d", "conv2d"):
        return (f"{layer.type}, {layer.filters} filter{'s' * (layer.filters != 1)} "
                f"{'×'.join(map(str, layer.kernel))}, stride {'×'.join(map(str, layer.stride))}"
                f", padding {'×'.join(map(str, layer.padding))}{act}")
    if layer.type.endswith(("pool1d", "pool2d")):
        return (f"{layer.type} {'×'.join(map(str, layer.kernel))}, stride "
                f"{'×'.join(map(str, layer.stride))}")
    if layer.type == "dropout":
        return f"dropout, rate {format_number(layer.rate, 4)}"
    if layer.type == "flatten":
        return "flatten (row-major)"
    return f"{layer.type} [{', '.join(layer.units)}]{act}"


def worked_lines(solution: LayeredSolution, digits: int = 4, step: int = 1) -> list[str]:
    """The worked solution of step ``step`` (1-based) as lines of plain text."""
    return _Writer(solution, digits).write(step)
