"""The worked solution of a layered network's problem (issue 19), as the document model.

The solution is built as a :class:`~backprop_cli.render.model.Document` (sections,
equations over value keys, tables), so that every writer (plain, rich, Markdown, LaTeX,
HTML, SVG) typesets it, as it does a dense network's: the problem; the forward pass layer by
layer; the loss; the backward pass layer by layer; the parameters' gradients; the update;
the loss after it.

Convolution: each output as the sum over its window with the numbers substituted, and the
kernel gradient as the sum of δ·window products. Max pooling names the winner of each
window and routes its gradient there; average pooling shares it. Dropout shows the mask
and the scale. A recurrence is unrolled: the forward pass step by step, then BPTT from
the last step back, with the sums over time of the shared weights. A layer with more than
:data:`MAX_SPELLED` values shows its first :data:`EXAMPLES` in full, then every value in a
table.

Every key is built by :mod:`backprop_cli.model.keys` (:meth:`_Builder.key`); its symbol is
:mod:`backprop_cli.render.layered_notation`'s.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from backprop_cli.checking.checker import KeyResult
from backprop_cli.engine.layered import LayeredSolution
from backprop_cli.engine.layers import Pool
from backprop_cli.expr import Call, Const, Expr, Product, Quotient, Ref, Sum, reduce_innermost
from backprop_cli.model.keys import (
    KeyKind,
    compose,
    key_glob,
    named_kind,
    prefix_for,
    split_key,
    time_suffix,
)
from backprop_cli.model.layered import LayerSpec, indices
from backprop_cli.model.questions import is_given
from backprop_cli.numfmt import format_number
from backprop_cli.render.model import (
    FINAL,
    Cell,
    Column,
    Document,
    Equation,
    Fields,
    Inline,
    Judgement,
    Num,
    Para,
    Section,
    SectionBuilder,
    Sym,
    Table,
    VerdictMark,
    Word,
)

# the values of one layer (or parameter) worked out term by term; the rest as a table
MAX_SPELLED = 12
# samples shown in full (the others: their values in solve --format json)
MAX_SAMPLES = 3
# values of a larger layer (or parameter) worked out term by term, as examples
EXAMPLES = 4
# a vector longer than this is tabulated in rows of this many values
ROW_LENGTH = 12
# a sum of more terms is written Σ (its first and last term), not term by term
MAX_TERMS = 24
# kinds without a sample suffix (a parameter's), and without a step prefix (data)
_PARAM_KINDS = ("param", "grad", "new", "change")
_DATA_KINDS = ("input", "target")

Source = tuple[KeyKind, str]  # a value a layer reads: ("input", "x[1,2,3]"), ("a", "P[1,1]")


def _grad_of(kind: KeyKind) -> KeyKind:
    return "grad.input" if kind == "input" else "grad.a"


def judgements(results: Sequence[KeyResult]) -> dict[str, Judgement]:
    """The author's published values with their verdicts, by key."""
    return {r.key: Judgement(r.key, r.text, r.verdict, r.erratum_text, r.note, r.recomputed,
                             r.reason, r.diagnosis.message if r.diagnosis else None)
            for r in results}


def spelled(count: int) -> int:
    """How many of a layer's ``count`` values are worked out term by term: every one up to
    :data:`MAX_SPELLED`, else the first :data:`EXAMPLES` (the rest alike, in a table)."""
    return count if count <= MAX_SPELLED else EXAMPLES


def _sum(terms: Sequence[Expr]) -> Expr:
    return terms[0] if len(terms) == 1 else Sum(tuple(terms), (1,) * len(terms))


class _Builder(SectionBuilder):
    def __init__(self, solution: LayeredSolution, step: int,
                 judged: Mapping[str, Judgement], digits: int = 4) -> None:
        super().__init__(step, judged)
        self.digits = digits
        self.solution = solution
        self.problem = solution.problem
        self.values = solution.values
        self.run = solution.passes[step - 1]
        self.tabulated: set[tuple[KeyKind, str]] = set()  # (kind, first name): shown once
        self.pre = prefix_for(step)  # the step prefix of the values shown
        self.statement = False  # the problem sheet: no step shown in full
        self.sfx = ""  # the sample suffix of the values shown

    # ---------------------------------------------------------------- keys

    def key(self, kind: KeyKind, name: str = "") -> str:
        """The full key of a value of the step and sample shown."""
        return compose("" if kind in _DATA_KINDS else self.pre, kind, name,
                       "" if kind in _PARAM_KINDS else self.sfx)

    def ref(self, kind: KeyKind, name: str = "") -> Ref:
        return Ref(self.key(kind, name))

    def at(self, k: int | None) -> None:
        self.sfx = "" if k is None else self.problem.sample_suffix(k)

    def times(self, spec: LayerSpec) -> list[str]:
        if not spec.over_time:
            return [""]
        return [time_suffix(t) for t in range(1, self.problem.time_steps + 1)]

    # ---------------------------------------------------------------- equations

    def equation(self, key: str, expr: Expr, rate_symbol: bool = False) -> Equation:
        steps = [expr]
        reduced = reduce_innermost(expr, self.values) if len(expr.refs()) <= MAX_SPELLED else None
        if reduced is not None:
            steps.append(reduced)
        return Equation(key, steps, self.values, self.values[key], judgement=self.judge(key),
                        rate_symbol=rate_symbol)

    def value_line(self, key: str, before: Sequence[Inline] = (),
                   after: Sequence[Inline] = ()) -> Para:
        """``symbol = … = value`` as a sentence, with the published value's mark."""
        judgement = self.judge(key)
        mark: list[Inline] = [] if judgement is None else ["  ", VerdictMark(judgement)]
        return Para([Sym(key), " = ", *before, Num(self.values[key]), *after, *mark])

    def listing(self, keys: Sequence[str], lead: str = "") -> Para:
        """``a = 1, b = 2, …``: given values in one sentence."""
        parts: list[Inline] = [lead] if lead else []
        for index, key in enumerate(keys):
            parts += [", " if index else "", Sym(key), " = ", Num(self.values[key])]
            judgement = self.judge(key)
            if judgement is not None:
                parts += [" ", VerdictMark(judgement, compact=True)]
        return Para(parts)

    def long_sum(self, key: str, first: Sequence[Inline], last: Sequence[Inline],
                 count: int) -> Para:
        """A sum of ``count`` terms written by its first and last term."""
        return self.value_line(key, [*first, " + … + ", *last, f" ({count} terms) = "])

    # ---------------------------------------------------------------- tables

    def tensor_tables(self, section: Section, kind: KeyKind, names: Sequence[str],
                      shape: tuple[int, ...]) -> None:
        """The values ``kind`` of ``names`` (row-major, ``shape``) as one table: a row per
        index of every axis but the last (``1,2``: channel 1, row 2), a column per index of
        the last; a long vector in rows of :data:`ROW_LENGTH`. Once per tensor."""
        if (kind, names[0]) in self.tabulated:
            return
        self.tabulated.add((kind, names[0]))
        if len(names) == 1:
            section.add(self.value_line(self.key(kind, names[0])))
            return
        keys = [self.key(kind, name) for name in names]
        title: list[Inline] = [Sym(keys[0]), " to ", Sym(keys[-1])]
        if len(shape) <= 1 or math.prod(shape[:-1]) == 1:  # a vector
            width = min(len(keys), ROW_LENGTH)
            labels = [str(start + 1) for start in range(0, len(keys), width)]
            header = [Column(["j"] if len(keys) > width else [])]
        else:
            width = shape[-1]
            labels = [",".join(str(i + 1) for i in index) for index in indices(shape[:-1])]
            letters = "fcij"[-(len(shape) - 1) - 1:-1] if len(shape) <= 4 else ""
            header = [Column([f"{','.join(letters)} \\ j" if letters else ""])]
        if len(shape) <= 1 or math.prod(shape[:-1]) == 1:
            header += [Column([f"+{j}" if len(keys) > width else str(j + 1)], "right")
                       for j in range(width)]
        else:
            header += [Column([str(j + 1)], "right") for j in range(width)]
        rows: list[Sequence[Cell]] = []
        for row, label in enumerate(labels):
            cells: list[Cell] = [[label]]
            cells += [self.cell(key) for key in keys[row * width:(row + 1) * width]]
            cells += [[""]] * (width + 1 - len(cells))  # a vector's last row, when short
            rows.append(cells)
        if len(labels) == 1 and len(keys) <= width:
            header, rows = header[1:], [list(row[1:]) for row in rows]
        section.add(Table(header, rows, title=title))

    def mask_table(self, section: Section, spec: LayerSpec, mask: list[float]) -> None:
        """A dropout's mask laid out as its input is (a row per index of every axis but the
        last), so that it reads against the tensor it multiplies."""
        shape = spec.input_shape
        width = shape[-1] if len(shape) > 1 else min(len(mask), ROW_LENGTH)
        labels = ([",".join(str(i + 1) for i in index) for index in indices(shape[:-1])]
                  if len(shape) > 1 else [str(start + 1) for start in range(0, len(mask),
                                                                            width)])
        letters = "fcij"[-(len(shape) - 1) - 1:-1] if 1 < len(shape) <= 4 else ""
        header = [Column([f"{','.join(letters)} \\ j" if letters else ""]),
                  *[Column([str(j + 1)], "right") for j in range(width)]]
        rows: list[Sequence[Cell]] = []
        for row, label in enumerate(labels):
            cells: list[Cell] = [[label]]
            cells += [[format_number(m, 1)] for m in mask[row * width:(row + 1) * width]]
            cells += [[""]] * (width + 1 - len(cells))
            rows.append(cells)
        section.add(Table(header, rows, title=["The mask"]))

    def cell(self, key: str) -> Cell:
        judgement = self.judge(key)
        if judgement is None:
            return [Num(self.values[key])]
        return [Num(self.values[key]), " ", VerdictMark(judgement, compact=True)]

    # ---------------------------------------------------------------- the document

    def build(self) -> Document:
        problem = self.problem
        doc = Document(problem.title, problem.description)
        doc.sections.append(self.problem_section(1))
        doc.sections.append(self.forward_section(2))
        doc.sections.append(self.loss_section(3))
        doc.sections.append(self.backward_section(4))
        doc.sections.append(self.gradient_section(5))
        number = 6
        if self.run.new:
            doc.sections.append(self.update_section(number))
            number += 1
        doc.sections.append(self.after_section(number))
        leftover = [key for key in self.judged if key not in self.shown]
        if leftover:
            doc.sections.append(self.published_section(number + 1, leftover))
        return doc

    def problem_section(self, number: int) -> Section:
        problem = self.problem
        section = self.section(f"{number}. The problem", context=1)
        if problem.sequence:
            given = (f"a sequence of {problem.time_steps} steps of "
                     f"({', '.join(problem.input_names)})")
        else:
            given = f"{problem.input_name}, {'×'.join(map(str, problem.input_shape))}"
        loss = problem.loss.name
        if problem.sequence:
            loss += " (at every step, summed)" if problem.loss_at == "every" else (
                " (at the last step)")
        rows: list[tuple[str, Sequence[Inline]]] = [("Input", [given]), ("Loss", [loss])]
        if problem.has_samples:
            rows.append(("Samples", [f"{problem.n_samples} (the {problem.reduction} of their "
                                     "losses)"]))
        if self.batched:
            rows.append(("Batches", [f"{problem.batch_size} samples a step, in file order "
                                     f"({problem.batches_per_epoch} a pass over the data; "
                                     "the last may be smaller)"]))
        if problem.epochs is not None:
            rows.append(("Epochs", [str(problem.epochs)]))
        rows.append(("Learning rate", [Word("rate"), " = ", Num(problem.learning_rate)]))
        optimizer = problem.optimizer.label if problem.optimizer.name != "sgd" else "SGD"
        if problem.weight_decay:
            optimizer += f", weight decay λ = {format_number(problem.weight_decay, 4)}"
        rows.append(("Optimizer", [optimizer]))
        steps = problem.steps
        rows.append(("Steps", [f"{steps}" + (f" (step {self.step} in full)"
                                             if steps > 1 and not self.statement else "")]))
        if problem.round is not None:
            rows.append(("By hand", [f"every value is rounded to {problem.round} decimals as "
                                     "it is written down (a sum over a window or over time "
                                     "once, when complete), and the next step computes with "
                                     "the rounded number"]))
        section.add(Fields(rows))
        layers: list[Sequence[Cell]] = [
            [[str(layer.index)], [layer.name if layer.has_keys else "—"], [describe(layer)],
             ["×".join(map(str, layer.output_shape))]] for layer in problem.layers]
        section.add(Table([Column(["layer"], "right"), Column(["name"]), Column(["type"]),
                           Column(["output"])], layers, title=["The layers"]))
        section.add(self.data_section(problem.n_samples))
        # the parameters the step shown starts from: step K's, after K − 1 updates (the
        # file's are step 1's, in solve --format json without a step prefix)
        title = "Starting parameters"
        if self.step > 1:
            title = (f"Parameters at the start of step {self.step} (after {self.step - 1} "
                     f"update{'s' * (self.step > 2)}; the file's are step 1's)")
        params = self.section(title, 2, context=self.step)
        for spec in problem.layers:
            for param in spec.params:
                if param.element_names is not None:
                    params.add(self.listing([self.key("param", name)
                                             for name in param.element_keys()]))
                else:
                    self.tensor_tables(params, "param", param.element_keys(),
                                       param.values.shape)
        section.add(params)
        return section

    def data_section(self, samples: int) -> Section:
        problem = self.problem
        section = self.section("Data", 2, context=1)
        for k in range(min(samples, MAX_SAMPLES)):
            self.at(k)
            if problem.has_samples:
                section.add(Para([f"Sample {k + 1}:"]))
            if problem.sequence:
                rows: list[Sequence[Cell]] = [
                    [[str(t)], *[[Num(self.values[self.key("input", name + time_suffix(t))])]
                                 for name in problem.input_names]]
                    for t in range(1, problem.time_steps + 1)]
                section.add(Table([Column(["t"], "right"), *[
                    Column([Sym(self.key("input", name))], "right")
                    for name in problem.input_names]], rows))
            elif problem.input_names:
                section.add(self.listing([self.key("input", name)
                                          for name in problem.input_names]))
            else:
                self.tensor_tables(section, "input", problem.input_value_names(),
                                   problem.input_shape)
            section.add(self.listing([self.key("target", name + t) for t in self.target_times()
                                      for name in problem.output.units], "Target: "))
        if samples > MAX_SAMPLES:
            section.add(Para([f"(samples {MAX_SAMPLES + 1} to {samples}: their values are in "
                              "solve --format json)"], "note"))
        self.at(None)
        return section

    def target_times(self) -> list[str]:
        problem = self.problem
        if problem.sequence and problem.loss_at == "every":
            return [time_suffix(t) for t in range(1, problem.time_steps + 1)]
        return [""]

    def sources(self, li: int) -> list[Source]:
        """What layer ``li`` reads, row-major: the input, or the output of the layer
        below (through a flatten). A sequence's values, and those of a layer applied at
        every step, are one step's after another's (``h1#1, h2#1, h1#2, …``), as in the
        steps × units array they come from; a dropout over them has its own names
        (``D[2,1]``: step 2, unit 1)."""
        j = li - 1
        while j >= 0 and not self.problem.layers[j].has_keys:
            j -= 1
        if j < 0:
            names = self.problem.input_value_names()
            if self.problem.sequence:
                return [("input", name + time_suffix(t))
                        for t in range(1, self.problem.time_steps + 1) for name in names]
            return [("input", name) for name in names]
        below = self.problem.layers[j]
        return [("a", name + t) for t in self.times(below) for name in below.value_names()]

    def step_sources(self, li: int, step: int) -> list[Source]:
        """What layer ``li``, applied at every step, reads at step ``step`` (0-based); all
        it reads for a layer that is not."""
        below = self.sources(li)
        spec = self.problem.layers[li]
        if not spec.over_time:
            return below
        width = spec.input_shape[-1]
        return below[step * width:(step + 1) * width]

    def layer_title(self, spec: LayerSpec) -> list[Inline]:
        name = f" {spec.name}" if spec.has_keys and not spec.units else ""
        return [f"Layer {spec.index}{name}: {describe(spec)}"]

    @property
    def batched(self) -> bool:
        """Whether the steps run on mini-batches (``batch_size`` below the samples)."""
        size = self.problem.batch_size
        return size is not None and size < self.problem.n_samples

    @property
    def batch(self) -> range:
        """The samples the step shown uses (0-based; every sample without batches)."""
        return self.problem.batch(self.step)

    def samples(self) -> range:
        batch = self.batch
        return range(batch.start, min(batch.stop, batch.start + MAX_SAMPLES))

    def batch_note(self) -> Para:
        """Which samples the step uses: its batch, in file order."""
        batch, problem = self.batch, self.problem
        number = (self.step - 1) % problem.batches_per_epoch + 1
        which = (f"sample {batch.start + 1}" if len(batch) == 1
                 else f"samples {batch.start + 1} to {batch.stop}")
        return Para([f"Step {self.step} uses batch {number} of {problem.batches_per_epoch}: "
                     f"{which} (the other samples have no values in this step)."])

    def per_sample(self, section: Section, k: int) -> Section:
        if not self.problem.has_samples:
            return section
        sample = self.section(f"Sample {k + 1}", 2)
        section.add(sample)
        return sample

    def more_samples(self, section: Section) -> None:
        batch = self.batch
        if len(batch) > MAX_SAMPLES:
            section.add(Para([f"(samples {batch.start + MAX_SAMPLES + 1} to {batch.stop}: "
                              "the same; their values are in solve --format json)"], "note"))

    # ---------------------------------------------------------------- forward

    def forward_section(self, number: int) -> Section:
        problem = self.problem
        title = f"{number}. Forward pass"
        if problem.steps > 1:
            title += f" (step {self.step})"
        section = self.section(title)
        if self.batched:
            section.add(self.batch_note())
        for k in self.samples():
            self.at(k)
            target = self.per_sample(section, k)
            for li, spec in enumerate(problem.layers):
                sub = self.section(self.layer_title(spec), 3)
                target.add(sub)
                if spec.type in ("conv1d", "conv2d"):
                    self.conv_forward(sub, li, spec)
                elif spec.type.endswith(("pool1d", "pool2d")):
                    self.pool_forward(sub, li, spec, k)
                elif spec.type == "dropout":
                    self.dropout_forward(sub, li, spec, k)
                elif spec.type == "flatten":
                    shown = [Sym(self.key(*s)) for s in self.sources(li)[:6]]
                    parts: list[Inline] = [f"Row-major over {'×'.join(map(str, spec.input_shape))}"
                                           ": "]
                    for index, symbol in enumerate(shown):
                        parts += [", " if index else "", symbol]
                    if len(self.sources(li)) > 6:
                        parts.append(", …")
                    sub.add(Para(parts))
                else:
                    self.unit_forward(sub, li, spec)
        self.more_samples(section)
        self.at(None)
        return section

    def conv_forward(self, section: Section, li: int, spec: LayerSpec) -> None:
        weights = spec.params[0]
        bias = next((p for p in spec.params if p.role == "bias"), None)
        below = self.sources(li)
        channels, spatial = spec.input_shape[0], spec.input_shape[1:]
        w_names = weights.element_keys()
        section.add(Para(["Cross-correlation, as every framework computes convolution: ",
                          Word("rule", spec.type),
                          " (x padded with zeros)." if any(spec.padding) else "."]))
        names = spec.value_names()
        for count, index in enumerate(indices(spec.output_shape)):
            if count == spelled(len(names)):
                section.add(Para([f"The other {len(names) - count} outputs alike; all of "
                                  "them:"]))
                break
            f, pos = index[0], index[1:]
            terms: list[Expr] = []
            for c in range(channels):
                for offset in indices(spec.kernel):
                    at = tuple(p * s - pad + o for p, s, pad, o in zip(
                        pos, spec.stride, spec.padding, offset, strict=True))
                    w = self.ref("param", w_names[_flat((f, c, *offset),
                                                        weights.values.shape)])
                    if all(0 <= a < n for a, n in zip(at, spatial, strict=True)):
                        source = below[_flat((c, *at), spec.input_shape)]
                        terms.append(Product((w, self.ref(*source))))
                    else:
                        terms.append(Product((w, Const(0.0))))
            if bias is not None:
                terms.append(self.ref("param", bias.element_keys()[f]))
            section.add(self.equation(self.key("z", names[count]), _sum(terms)))
        self.activations(section, spec, names, "")
        if len(names) > MAX_SPELLED:
            self.tensor_tables(section, "z", names, spec.output_shape)
            self.tensor_tables(section, "a", names, spec.output_shape)

    def activations(self, section: Section, spec: LayerSpec, names: list[str], t: str) -> None:
        assert spec.activation is not None
        if spec.activation.per_layer:  # softmax: each output reads the whole layer
            for name in names[:spelled(len(names))]:
                section.add(self.value_line(self.key("a", name + t),
                                            [f"{spec.activation.name}(…) = "]))
            return
        for name in names[:spelled(len(names))]:
            section.add(self.equation(self.key("a", name + t), Call(
                spec.activation.name, (self.ref("z", name + t),))))

    def pool_forward(self, section: Section, li: int, spec: LayerSpec, k: int) -> None:
        below = self.sources(li)
        kind = spec.type[:3]
        share = math.prod(spec.kernel)
        window = "×".join(map(str, spec.kernel))
        stride = "×".join(map(str, spec.stride))
        section.add(Para([f"Window {window}, stride {stride}; "
                          + ("the gradient goes to the first maximum of each window "
                             "(row-major: with a tie the upper, then the left element)."
                             if kind == "max" else
                             f"each element gets 1/{share} of its window's gradient.")]))
        winners = None
        if kind == "max":
            winners = Pool("max", len(spec.kernel), spec.kernel, spec.stride).winners(
                self.run.caches[li][0])
        names = spec.value_names()
        for count, index in enumerate(indices(spec.output_shape)):
            if count == spelled(len(names)):
                section.add(Para([f"The other {len(names) - count} windows alike; all of "
                                  "them:"]))
                break
            members = [self.ref(*below[_flat((index[0], *at), spec.input_shape)])
                       for at in self.window(index, spec)]
            key = self.key("a", names[count])
            if winners is not None:
                win = tuple(int(w) for w in winners[(k, *index)])
                winner = below[_flat((index[0], *win), spec.input_shape)]
                section.add(self.equation(key, Call("max", tuple(members))))
                section.add(Para(["winner: ", Sym(self.key(*winner))], "note"))
            else:
                section.add(self.equation(key, Quotient(_sum(members), Const(float(share)))))
        if len(names) > MAX_SPELLED:
            self.tensor_tables(section, "a", names, spec.output_shape)

    @staticmethod
    def window(index: tuple[int, ...], spec: LayerSpec) -> list[tuple[int, ...]]:
        """The input positions (without the channel) of pooling window ``index``."""
        return [tuple(p * s + o for p, s, o in zip(index[1:], spec.stride, offset, strict=True))
                for offset in indices(spec.kernel)]

    def mask_of(self, spec: LayerSpec, k: int) -> list[float]:
        assert spec.mask is not None
        mask = spec.mask if spec.mask.ndim == len(spec.input_shape) else spec.mask[k]
        return [float(m) for m in mask.ravel()]

    def dropout_forward(self, section: Section, li: int, spec: LayerSpec, k: int) -> None:
        mask = self.mask_of(spec, k)
        scale = 1.0 / (1.0 - spec.rate)
        section.add(Para([f"Rate {format_number(spec.rate, 4)}: a kept element (mask 1) × "
                          f"1/(1 − {format_number(spec.rate, 4)}) = "
                          f"{format_number(scale, 6)}, a dropped one (mask 0) is 0."]))
        self.mask_table(section, spec, mask)
        names = spec.value_names()
        for count, (name, source, kept) in enumerate(zip(names, self.sources(li), mask,
                                                         strict=True)):
            if count == spelled(len(names)):
                section.add(Para([f"The other {len(names) - count} alike; all of them:"]))
                self.tensor_tables(section, "a", names, spec.output_shape)
                break
            section.add(self.equation(self.key("a", name), Product((
                Const(scale if kept else 0.0), self.ref(*source)))))

    def unit_forward(self, section: Section, li: int, spec: LayerSpec) -> None:
        recurrent = next((p for p in spec.params if p.role == "recurrent"), None)
        bias = next((p for p in spec.params if p.role == "bias"), None)
        w_names = spec.params[0].element_keys()
        u_names = recurrent.element_keys() if recurrent is not None else []
        b_names = bias.element_keys() if bias is not None else []
        units = list(spec.units)
        times = self.times(spec)
        h0 = [float(h) for h in spec.initial] if spec.initial is not None else [0.0] * len(units)
        for ti, t in enumerate(times):
            if spec.over_time:
                section.add(Para([f"t = {ti + 1}:"]))
            below = self.step_sources(li, ti)
            for u, unit in enumerate(units):
                terms: list[Expr] = [
                    Product((self.ref("param", w_names[u * len(below) + j]),
                             self.ref(kind, name)))
                    for j, (kind, name) in enumerate(below)]
                for j, other in enumerate(units if recurrent is not None else []):
                    w = self.ref("param", u_names[u * len(units) + j])
                    terms.append(Product((w, Const(h0[j]) if ti == 0 else
                                          self.ref("a", other + times[ti - 1]))))
                if b_names:
                    terms.append(self.ref("param", b_names[u]))
                key = self.key("z", unit + t)
                if len(terms) > MAX_TERMS:
                    first: list[Inline] = [Sym(self.key("param", w_names[u * len(below)])), "·",
                             Sym(self.key(*below[0]))]
                    last: list[Inline] = [
                        Sym(self.key("param", w_names[u * len(below) + len(below) - 1])),
                            "·", Sym(self.key(*below[-1]))]
                    if b_names:
                        last += [" + ", Sym(self.key("param", b_names[u]))]
                    section.add(self.long_sum(key, first, last, len(terms)))
                else:
                    section.add(self.equation(key, _sum(terms)))
            self.activations(section, spec, units, t)

    # ---------------------------------------------------------------- loss

    def loss_section(self, number: int) -> Section:
        problem = self.problem
        section = self.section(f"{number}. Loss ({problem.loss.name})")
        units = problem.output.units
        last = time_suffix(problem.time_steps) if problem.sequence else ""
        for k in self.samples():
            self.at(k)
            if problem.loss_at == "every":
                steps = self.target_times()
                for t in steps:
                    section.add(self.equation(self.key("loss", t), problem.loss.expr(
                        [self.key("a", u + t) for u in units],
                        [self.key("target", u + t) for u in units])))
                section.add(self.equation(self.key("loss"), _sum(
                    [self.ref("loss", t) for t in steps])))
            else:
                section.add(self.equation(self.key("loss"), problem.loss.expr(
                    [self.key("a", u + last) for u in units],
                    [self.key("target", u) for u in units])))
        self.at(None)
        if problem.has_samples:
            key = self.key("loss")
            n = len(self.batch)
            if n <= MAX_SAMPLES:
                total = _sum([Ref(key + problem.sample_suffix(k)) for k in self.batch])
                section.add(self.equation(key, Quotient(total, Const(float(n)))
                                          if problem.reduction == "mean" else total))
            else:
                section.add(self.value_line(key, after=[
                    f" (the {problem.reduction} of the {n} sample losses)"]))
        return section

    # ---------------------------------------------------------------- backward

    def backward_section(self, number: int) -> Section:
        problem = self.problem
        section = self.section(f"{number}. Backward pass")
        section.add(Para(["From the loss down, layer by layer: ∂L/∂a of each value, then ",
                          Word("rule", "delta"), "."]))
        for k in self.samples():
            self.at(k)
            target = self.per_sample(section, k)
            output = problem.output
            sub = self.section(["The loss's gradient"], 3)
            target.add(sub)
            for t in self.times(output):
                for unit in output.units:
                    self.loss_gradient(sub, unit, t)
            for li in range(len(problem.layers) - 1, -1, -1):
                spec = problem.layers[li]
                if not spec.has_keys:
                    continue
                sub = self.section(self.layer_title(spec), 3)
                target.add(sub)
                if spec.type == "rnn":
                    self.rnn_backward(sub, spec, li, k)
                elif spec.type.endswith(("pool1d", "pool2d")):
                    self.pool_backward(sub, li, spec, k)
                elif spec.type == "dropout":
                    self.dropout_backward(sub, li, spec, k)
                else:
                    self.deltas(sub, spec)
                    if li > 0 and spec.type == "dense" and not spec.over_time:
                        self.dense_input_gradients(sub, li, spec)
                    elif li > 0 and spec.type in ("conv1d", "conv2d"):
                        self.conv_input_gradients(sub, li)
        self.more_samples(section)
        self.at(None)
        return section

    def loss_gradient(self, section: Section, unit: str, t: str) -> None:
        """∂L/∂a of an output unit, from the loss's formula (a step without a loss, with
        loss_at: last, has 0)."""
        problem = self.problem
        key = self.key("grad.a", unit + t)
        every = problem.loss_at == "every"
        if problem.sequence and not every and t != time_suffix(problem.time_steps):
            section.add(self.value_line(key, after=[" (no loss at this step)"]))
            return
        expr = problem.loss.grad_a_expr(self.key("a", unit + t),
                                        self.key("target", unit + (t if every else "")),
                                        len(problem.output.units))
        section.add(self.equation(key, expr))

    def deltas(self, section: Section, spec: LayerSpec) -> None:
        assert spec.activation is not None
        names = spec.value_names()
        times = self.times(spec)
        shown = 0
        for t in reversed(times):
            for name in names:
                if shown == spelled(len(names) * len(times)):
                    break
                shown += 1
                key = self.key("grad.z", name + t)
                if spec.activation.per_layer:
                    section.add(self.value_line(key, after=[" (through softmax)"]))
                else:
                    section.add(self.equation(key, Product((self.ref("grad.a", name + t),
                                                            self.ref("dadz", name + t)))))
        if len(names) > MAX_SPELLED:
            section.add(Para(["All of them:"]))
            self.tensor_tables(section, "grad.a", names, spec.output_shape)
            self.tensor_tables(section, "grad.z", names, spec.output_shape)

    def dense_input_gradients(self, section: Section, li: int, spec: LayerSpec) -> None:
        """∂L/∂(the layer's inputs): the grad.a of the layer below."""
        below = self.sources(li)
        w_names = spec.params[0].element_keys()
        for j, (kind, name) in enumerate(below[:spelled(len(below))]):
            section.add(self.equation(self.key(_grad_of(kind), name), _sum([
                Product((self.ref("param", w_names[u * len(below) + j]),
                         self.ref("grad.z", unit))) for u, unit in enumerate(spec.units)])))
        self.below_table(section, li, len(below))

    def below_table(self, section: Section, li: int, count: int) -> None:
        """Every ∂L/∂a of the layer below ``li`` as tables, when not all were spelled out."""
        j = li - 1
        while j >= 0 and not self.problem.layers[j].has_keys:
            j -= 1
        if count > MAX_SPELLED and j >= 0:
            spec = self.problem.layers[j]
            section.add(Para(["All of them:"]))
            self.tensor_tables(section, "grad.a", spec.value_names(), spec.output_shape)

    def conv_input_gradients(self, section: Section, li: int) -> None:
        """∂L/∂a of the layer below a convolution: the full correlation of δ with the kernel
        rotated by 180° (each element: the sum of δ·K over the windows that read it)."""
        j = li - 1
        while j >= 0 and not self.problem.layers[j].has_keys:
            j -= 1
        below = self.problem.layers[j]
        section.add(Para(["∂L/∂a of the layer below: each element is the sum of δ·K over the "
                          "windows that read it (the full correlation of δ with the kernel "
                          "rotated by 180°):"]))
        self.tensor_tables(section, "grad.a", below.value_names(), below.output_shape)

    def dropout_backward(self, section: Section, li: int, spec: LayerSpec, k: int) -> None:
        mask = self.mask_of(spec, k)
        scale = 1.0 / (1.0 - spec.rate)
        sources = self.sources(li)
        if self.below_is_rnn(li):  # its ∂L/∂h also takes the later steps': BPTT, below
            section.add(Para([f"Each element passes {format_number(scale, 6)}·(its mask)·"
                              "its gradient to the rnn below, whose BPTT adds it to "
                              "∂L/∂a of that step."]))
            return
        for count, (name, (kind, source), kept) in enumerate(zip(
                spec.value_names(), sources, mask, strict=True)):
            if count == spelled(len(sources)):
                self.below_table(section, li, len(sources))
                break
            section.add(self.equation(self.key(_grad_of(kind), source), Product((
                Const(scale if kept else 0.0), self.ref("grad.a", name)))))

    def pool_backward(self, section: Section, li: int, spec: LayerSpec, k: int) -> None:
        below = self.sources(li)
        names = spec.value_names()
        if not spec.type.startswith("max"):
            share = float(math.prod(spec.kernel))
            section.add(Para(["Each element of a window gets 1/"
                              f"{math.prod(spec.kernel)} of its gradient, summed over the "
                              "windows it belongs to."]))
            members: dict[Source, list[str]] = {}
            for count, index in enumerate(indices(spec.output_shape)):
                for at in self.window(index, spec):
                    element = below[_flat((index[0], *at), spec.input_shape)]
                    members.setdefault(element, []).append(names[count])
            for (kind, source), windows in list(members.items())[:spelled(len(below))]:
                section.add(self.equation(self.key(_grad_of(kind), source), _sum([
                    Quotient(self.ref("grad.a", w), Const(share)) for w in windows])))
            self.below_table(section, li, len(below))
            return
        winners = Pool("max", len(spec.kernel), spec.kernel, spec.stride).winners(
            self.run.caches[li][0])
        routed: dict[Source, list[str]] = {}
        for count, index in enumerate(indices(spec.output_shape)):
            win = tuple(int(w) for w in winners[(k, *index)])
            winner = below[_flat((index[0], *win), spec.input_shape)]
            routed.setdefault(winner, []).append(names[count])
        for (kind, source), windows in list(routed.items())[:spelled(len(below))]:
            section.add(self.equation(self.key(_grad_of(kind), source),
                                      _sum([self.ref("grad.a", w) for w in windows])))
            wins: list[Inline] = ["it wins "]
            for number, w in enumerate(windows):
                wins += [", " if number else "", Sym(self.key("a", w))]
            section.add(Para(wins, "note"))
        section.add(Para(["Every other element: 0 (it wins no window)."]))
        self.below_table(section, li, len(below))

    def below_is_rnn(self, li: int) -> bool:
        return li > 0 and self.problem.layers[li - 1].type == "rnn"

    def from_above(self, li: int, i: int, t: int, k: int) -> list[Expr]:
        """What ∂L/∂h_t of unit i of the rnn ``li`` receives at step ``t`` (1-based) from
        the layer above it: a dense or rnn layer's δ through its input weights, or a
        dropout's gradient times its scale and mask (sample ``k``)."""
        layers = self.problem.layers
        if li + 1 >= len(layers):
            return []
        above, at = layers[li + 1], time_suffix(t)
        width = len(layers[li].units)
        if above.type == "dropout":
            kept = self.mask_of(above, k)[(t - 1) * width + i]
            scale = 1.0 / (1.0 - above.rate) if kept else 0.0
            return [Product((Const(scale), self.ref(
                "grad.a", above.value_names()[(t - 1) * width + i])))]
        w_names = above.params[0].element_keys()
        return [Product((self.ref("param", w_names[y * width + i]),
                         self.ref("grad.z", unit + at))) for y, unit in enumerate(above.units)]

    def rnn_backward(self, section: Section, spec: LayerSpec, li: int, k: int) -> None:
        steps = self.problem.time_steps
        recurrent = next(p for p in spec.params if p.role == "recurrent")
        u_names = recurrent.element_keys()
        units = list(spec.units)
        section.add(Para(["BPTT, from the last step back: ", Word("rule", "bptt"), "."]))
        for t in range(steps, 0, -1):
            at = time_suffix(t)
            section.add(Para([f"t = {t}:"]))
            for i, unit in enumerate(units):
                terms = self.from_above(li, i, t, k)
                if t < steps:
                    later = time_suffix(t + 1)
                    terms += [Product((self.ref("param", u_names[j * len(units) + i]),
                                       self.ref("grad.z", other + later)))
                              for j, other in enumerate(units)]
                key = self.key("grad.a", unit + at)
                if terms:
                    section.add(self.equation(key, _sum(terms)))
                else:
                    section.add(self.value_line(key, after=[" (from the loss)"]))
                section.add(self.equation(self.key("grad.z", unit + at), Product((
                    self.ref("grad.a", unit + at), self.ref("dadz", unit + at)))))

    # ---------------------------------------------------------------- gradients, update

    def gradient_section(self, number: int) -> Section:
        problem = self.problem
        section = self.section(f"{number}. Parameter gradients")
        several = len(self.batch) > 1
        if self.batched and not several:  # a batch of one: its sample's own terms
            self.at(self.batch.start)
        if several:
            scale = "(1/N)·" if problem.reduction == "mean" else ""
            section.add(Para([f"{scale}the sum of the samples' own gradients (each the sum of "
                              "its δ·input products, as for one sample; each sample's is "
                              "grad.<p>@k in solve --format json)."]))
        elif problem.sequence:
            section.add(Para(["Shared over time: each gradient is the sum over the steps."]))
        for li, spec in enumerate(problem.layers):
            for param in spec.params:
                for count, name in enumerate(param.element_keys()):
                    if count == spelled(len(param.element_keys())):
                        section.add(Para(["All of them:"]))
                        self.tensor_tables(section, "grad", param.element_keys(),
                                           param.values.shape)
                        break
                    key = self.key("grad", name)
                    terms = self.gradient_terms(spec, li, param.role, count)
                    if several or terms is None:
                        section.add(self.value_line(key))
                    elif len(terms) > MAX_SPELLED:
                        f = count // max(1, len(param.element_keys()) // max(spec.filters, 1))
                        section.add(self.value_line(key, [
                            f"Σ over the {len(terms)} outputs of filter {f + 1}: δ·(the input "
                            "under this weight) = "]))
                    else:
                        section.add(self.equation(key, _sum(terms)))
        self.at(None)
        return section

    def gradient_terms(self, spec: LayerSpec, li: int, role: str,
                       element: int) -> list[Expr] | None:
        """The terms δ·input of one parameter element's gradient (one sample); None for a
        layer without parameters."""
        below = self.sources(li)
        names = spec.value_names()
        terms: list[Expr] = []
        if spec.type in ("conv1d", "conv2d"):
            shape = spec.params[0].values.shape if role == "weights" else (spec.filters,)
            index = _unflat(element, shape)
            f = index[0]
            for count, out_index in enumerate(indices(spec.output_shape)):
                if out_index[0] != f:
                    continue
                delta = self.ref("grad.z", names[count])
                if role == "bias":
                    terms.append(delta)
                    continue
                c, offset = index[1], index[2:]
                at = tuple(p * s - pad + o for p, s, pad, o in zip(
                    out_index[1:], spec.stride, spec.padding, offset, strict=True))
                if all(0 <= a < n for a, n in zip(at, spec.input_shape[1:], strict=True)):
                    terms.append(Product((delta, self.ref(*below[_flat((c, *at),
                                                                       spec.input_shape)]))))
            return terms
        if spec.type not in ("dense", "rnn"):
            return None
        units = list(spec.units)
        times = self.times(spec)
        if role == "bias":
            return [self.ref("grad.z", units[element] + t) for t in times]
        u, j = divmod(element, spec.input_shape[-1] if role == "weights" else len(units))
        for ti, t in enumerate(times):
            delta = self.ref("grad.z", units[u] + t)
            if role == "weights":
                terms.append(Product((delta, self.ref(*self.step_sources(li, ti)[j]))))
            elif ti == 0:
                h0 = float(spec.initial[j]) if spec.initial is not None else 0.0
                terms.append(Product((delta, Const(h0))))
            else:
                terms.append(Product((delta, self.ref("a", units[j] + times[ti - 1]))))
        return terms

    def update_section(self, number: int) -> Section:
        problem = self.problem
        section = self.section(f"{number}. Update")
        plain = problem.optimizer.name == "sgd" and not problem.weight_decay
        if plain:
            section.add(Para(["Gradient descent: ", Word("update_rule"), ", ", Word("rate"),
                              " = ", Num(problem.learning_rate), "."]))
        else:
            decay = (f", weight decay λ = {format_number(problem.weight_decay, 4)} (g = grad + "
                     "λ·w for weights)" if problem.weight_decay else "")
            section.add(Para([f"{problem.optimizer.label}, ", Word("rate"), " = ",
                              Num(problem.learning_rate), f"{decay}."]))
        kinds = [named_kind(kind) for kind in problem.optimizer.kinds]
        for spec in problem.layers:
            for param in spec.params:
                for count, name in enumerate(param.element_keys()):
                    if count == spelled(len(param.element_keys())):
                        section.add(Para(["All of them:"]))
                        self.tensor_tables(section, "new", param.element_keys(),
                                           param.values.shape)
                        break
                    key = self.key("new", name)
                    if plain:
                        equation = self.equation(key, Sum((
                            self.ref("param", name),
                            Product((Const(problem.learning_rate, role="rate"),
                                     self.ref("grad", name)))), (1, -1)), rate_symbol=True)
                        equation.digits = self.change_digits(name)
                        section.add(equation)
                    else:  # the optimizer's values of the element, then its new value
                        states = [compose(self.pre, state, name) for state in kinds]
                        section.add(self.listing([*(state for state in states
                                                    if state in self.values), key]))
        return section

    def change_digits(self, name: str) -> int | None:
        """The significant digits that show a parameter's new value differs from its old
        one (None: the document's do)."""
        old, new = self.values[self.key("param", name)], self.values[self.key("new", name)]
        if old == new or format_number(old, self.digits) != format_number(new, self.digits):
            return None
        # the change's first two digits: 1 + 3.726e-5 = 1.000037
        return min(15, max(self.digits, math.ceil(math.log10(abs(new) / abs(new - old))) + 2))

    def after_section(self, number: int) -> Section:
        problem = self.problem
        steps = problem.steps
        section = self.section(f"{number}. After {steps} step{'s' * (steps != 1)}",
                               context=FINAL)
        section.add(self.value_line("final.loss"))
        return section

    def published_section(self, number: int, keys: list[str]) -> Section:
        section = self.section(f"{number}. Other published values")
        section.add(Table([Column(["value"]), Column(["key"]), Column(["computed"], "right"),
                           Column(["published"])],
                          [[[Sym(key)], [key], [Num(self.values[key])], self.cell(key)[2:]]
                           for key in keys]))
        return section


def _flat(index: tuple[int, ...], shape: tuple[int, ...]) -> int:
    """The row-major position of ``index`` in an array of ``shape``."""
    position = 0
    for i, n in zip(index, shape, strict=True):
        position = position * n + i
    return position


def _unflat(position: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    index = []
    for n in reversed(shape):
        position, i = divmod(position, n)
        index.append(i)
    return tuple(reversed(index))


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


def worked_document(solution: LayeredSolution, step: int = 1,
                    judged: Mapping[str, Judgement] | None = None, digits: int = 4) -> Document:
    """The worked solution of step ``step`` (1-based), with the published values' marks
    (``judged``; none for a handout); ``digits``: the significant digits it is written
    with (an update whose change they would hide gets more)."""
    return _Builder(solution, step, judged or {}, digits).build()


def statement_document(solution: LayeredSolution, asked: Sequence[str]) -> Document:
    """The problem sheet: the problem section, then what to compute (``asked``: keys or
    globs; the data and starting parameters are given, not asked)."""
    # lazy: the dense handouts' module (and its document builder) for a problem sheet only;
    # this module loads with the quiz, on check's path
    from backprop_cli.render.handout import add_questions

    builder = _Builder(solution, 1, {})
    builder.statement = True
    problem = solution.problem
    doc = Document(problem.title, problem.description)
    doc.sections.append(builder.problem_section(1))
    task = builder.section("2. What to compute", context=1)
    keys: list[str] = []
    for pattern in asked:
        regex = key_glob(pattern)
        for key in solution.values:
            parts = split_key(key)
            if (regex.match(key) and key not in keys and parts is not None
                    and not is_given(parts)):
                keys.append(key)
    add_questions(task, keys, problem.steps)
    doc.sections.append(task)
    return doc
