"""Builds the worked solution (a :class:`~backprop_cli.render.model.Document`).

The order is the one of the seed documents: the problem, the forward pass unit
by unit, the loss, the backward pass layer by layer from the output (∂L/∂a,
f'(z), δ, then the gradients of the layer's parameters), the update, and the
forward pass with the new parameters. Every equation comes from
:class:`~backprop_cli.model.formulas.Formulas`: the formula with symbols, then with
numbers, then (for short formulas) its innermost results worked out, then the
engine's value.

Size decides the form: a layer with more than :data:`MAX_UNITS` units or
:data:`MAX_WEIGHTS` weights is shown as a table per layer with the largest
terms of each sum, and long lists are cut, so that a large network stays a few
hundred lines.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence

from backprop_cli.checking.checker import check_values
from backprop_cli.engine.passes import Solution
from backprop_cli.expr import Call, Expr, Piecewise, Quotient, Ref, Sum, add, reduce_innermost
from backprop_cli.model.activations import Activation
from backprop_cli.model.formulas import Formulas
from backprop_cli.model.keys import FINAL_PREFIX, KeyKind, compose, keys_of, prefix_for, value_key
from backprop_cli.model.keyspace import optimizer_kinds, update_kinds
from backprop_cli.model.problem import Problem
from backprop_cli.numfmt import digits_to_show_step, digits_to_tell_apart
from backprop_cli.records import record
from backprop_cli.render.marks import verdict_counts
from backprop_cli.render.model import (
    FINAL,
    Cell,
    Column,
    Condition,
    Document,
    Equation,
    Fields,
    Inline,
    Judgement,
    Math,
    Num,
    Para,
    Section,
    SectionBuilder,
    Sparkline,
    Sym,
    Table,
    VerdictMark,
    Word,
)
from backprop_cli.render.textplot import spaced
from backprop_cli.render.values import DisplayValues

MAX_UNITS = 12  # a layer with more units is shown as a table
MAX_WEIGHTS = 48  # ... or with more weights
MAX_TABLE_ROWS = 32  # units listed in a layer table
TOP_TERMS = 2  # largest terms of a sum shown in a layer table
TOP_GRADIENTS = 5  # largest gradients of a large layer, written out
MAX_PARAMETER_ROWS = 40  # parameters listed one by one in the update table
TOP_CHANGES = 10  # largest updates listed when there are more parameters
MAX_FULL_SAMPLES = 4  # samples worked out one by one
MAX_SAMPLE_ROWS = 20  # samples listed in a data table
MAX_LOSS_ROWS = 12  # steps listed in the loss table
MAX_LIST = 8  # items of an inline list (inputs, unit names)
MAX_REDUCTIONS = 2  # intermediate lines between the numbers and the result
MAX_REDUCED_REFS = 8  # longer formulas go from the numbers straight to the result


@record
class BuildOptions:
    digits: int = 4
    step: int = 1  # the step shown in full (1-based)


def judgements(problem: Problem, values: Mapping[str, float]) -> dict[str, Judgement]:
    """The author's values with the checker's verdicts (issue 4), or without when unavailable."""
    if not problem.expected:
        return {}
    if all(key in values for key in problem.expected):
        return {r.key: Judgement(r.key, r.text, r.verdict, r.erratum_text, r.note,
                                 r.recomputed, r.reason,
                                 r.diagnosis.message if r.diagnosis else None)
                for r in check_values(problem, values)}
    return {key: Judgement(key, entry.text, "erratum" if entry.erratum is not None else None,
                           entry.erratum_text, entry.note)
            for key, entry in problem.expected.items()}


def build_document(problem: Problem, solution: Solution,
                   options: BuildOptions | None = None) -> Document:
    return Builder(problem, solution, options or BuildOptions()).build()


class Builder(SectionBuilder):
    def __init__(self, problem: Problem, solution: Solution, options: BuildOptions) -> None:
        super().__init__(options.step, judgements(problem, solution.values))
        self.problem = problem
        self.solution = solution
        self.options = options
        self.formulas = Formulas(problem)
        self.values = DisplayValues(solution.values, self.formulas)
        self.large = {li for li, layer in enumerate(problem.layers)
                      if layer.size > MAX_UNITS or layer.weights.size > MAX_WEIGHTS}
        # a step's samples are its batch's; the forward pass after the update has them all
        self.samples = [problem.sample_suffix(k) for k in problem.batch(self.step)]
        self.all_samples = [problem.sample_suffix(k) for k in range(problem.n_samples)]
        self.few_parameters = len(problem.parameters) <= MAX_PARAMETER_ROWS
        self.prefix = prefix_for(self.step)
        self.updates = problem.steps >= 1
        # each parameter under the lowest layer that uses it: once, not once per layer
        # (rendering stays linear in the number of layers)
        self.params_by_layer: dict[int, list[str]] = {}
        for name, param in problem.parameters.items():
            lowest = min(use.layer for use in param.uses)
            self.params_by_layer.setdefault(lowest, []).append(name)

    # ------------------------------------------------------------------ whole

    def build(self) -> Document:
        problem = self.problem
        doc = Document(problem.title, problem.description)
        number = iter(range(1, 100))
        doc.sections.append(self.problem_section(next(number)))
        doc.sections.append(self.forward_section(next(number)))
        if not problem.loss.given:  # loss: none: the backward pass starts from upstream
            doc.sections.append(self.loss_section(next(number)))
        doc.sections.append(self.backward_section(next(number)))
        if self.updates:
            doc.sections.append(self.update_section(next(number)))
            if problem.steps > 1 and not problem.loss.given:  # loss: none: no loss chart
                doc.sections.append(self.training_section(next(number)))
            doc.sections.append(self.after_section(next(number)))
        at = next(number)
        leftover = self.leftover_section(at)
        if leftover is not None:
            doc.sections.append(leftover)
            at = next(number)
        doc.sections.append(self.summary_section(at))
        if self.values.cleaned:
            doc.sections[0].add(Para([
                "Sums that cancel to within rounding error (binary floating point writes 0.4·3 "
                "as 1.2000000000000002) are shown as the exact 0 they are; --format json has "
                "the raw numbers."], "note"))
        counts = verdict_counts([j.verdict for j in self.judged.values()])
        if counts:  # the published values, counted by verdict (issue 14)
            doc.sections[-1].add(Para([f"Published values: {counts}."]))
        return doc

    # ------------------------------------------------------------ equations

    def mark(self, key: str) -> list[Inline]:
        judgement = self.judge(key)
        return [] if judgement is None else [" ", VerdictMark(judgement)]

    def equation(self, key: str, rate_symbol: bool = False) -> Equation | None:
        expr = self.formulas.for_key(key)
        if expr is None or key not in self.values:
            return None
        values = self.values
        condition = None
        if isinstance(expr, Piecewise):
            # the branch the engine took, on its own numbers
            positive = expr.test.evaluate(self.solution.values) > 0
            condition = Condition(expr.test, positive)
            expr = expr.then if positive else expr.otherwise
        steps = [expr]
        if len(expr.refs()) <= MAX_REDUCED_REFS:
            current: Expr | None = expr
            for _ in range(MAX_REDUCTIONS):
                current = (reduce_innermost(current, values, self.values.evaluate)
                           if current is not None else None)
                if current is None:
                    break
                steps.append(current)
        return Equation(key, steps, values, values[key], condition=condition,
                        judgement=self.judge(key), rate_symbol=rate_symbol)

    def add_equation(self, section: Section, key: str) -> None:
        equation = self.equation(key)
        if equation is not None:
            section.add(equation)

    # ------------------------------------------------------------ the problem

    def problem_section(self, number: int) -> Section:
        problem = self.problem
        section = self.section(f"{number}. The problem", context=1)
        sizes = [_count(len(problem.input_names), "input")]
        for li, layer in enumerate(problem.layers):
            role = "output" if li == len(problem.layers) - 1 else "hidden"
            sizes.append(f"{_count(layer.size, role) if role == 'output' else layer.size} "
                         f"{'hidden ' if role == 'hidden' else ''}"
                         f"({activation_label(layer.activation)})")
        rows: list[tuple[str, list[Inline]]] = [("Network", [Word("text", " → ".join(sizes))])]
        section.add(Fields(rows))
        for li in range(len(problem.layers)):
            section.add(self.layer_drawing(li))
        section.add(Fields(self.data_fields()))
        if problem.has_samples and len(self.all_samples) > 1:
            section.add(self.samples_table())
        return section

    def layer_title(self, li: int) -> list[Inline]:
        layer = self.problem.layers[li]
        role = "output" if li == len(self.problem.layers) - 1 else "hidden"
        return [Word("text", f"Layer {li + 1} ({role}, {activation_label(layer.activation)})")]

    def layer_drawing(self, li: int) -> object:
        """Which parameter connects what, under the author's names."""
        problem = self.problem
        layer = problem.layers[li]
        sources = problem.layer_inputs(li)
        params = problem.parameters
        title = [*self.layer_title(li), ": ", *self.name_list(layer.units, "unit")]
        if li in self.large:
            names = layer.weight_names
            weights = layer.weights
            parts: list[Inline] = [
                *title, f"; {weights.size} weights ", Word("name", names[0][0]),
                " … ", Word("name", names[-1][-1]), " from ", Num(float(weights.min())),
                " to ", Num(float(weights.max()))]
            if layer.bias is not None and layer.bias_names is not None:
                parts += ["; biases ", Word("name", layer.bias_names[0]), " … ",
                          Word("name", layer.bias_names[-1])]
            frozen = sum(1 for row in names for n in row if params[n].frozen)
            if frozen:
                parts.append(f"; {frozen} frozen")
            return Para(parts)

        def cell(name: str, value: float) -> list[Inline]:
            mark: list[Inline] = ["*"] if params[name].frozen else []
            return [Word("name", name), " = ", Num(value), *mark]

        has_bias = layer.bias is not None and layer.bias_names is not None
        any_frozen = any(params[n].frozen for row in layer.weight_names for n in row) or (
            has_bias and any(params[n].frozen for n in layer.bias_names or []))
        footer: list[Inline] | None = ["* frozen: not updated"] if any_frozen else None
        if len(sources) + has_bias <= 7:
            columns = [Column(["unit"])] + [Column(["from ", self.source_word(li, s)])
                                            for s in sources]
            if has_bias:
                columns.append(Column(["bias"]))
            rows: list[Sequence[Cell]] = []
            for row, unit in enumerate(layer.units):
                cells = [[Word("unit", unit)]] + [
                    cell(name, float(layer.weights[row, col]))
                    for col, name in enumerate(layer.weight_names[row])]
                if has_bias:
                    assert layer.bias is not None and layer.bias_names is not None
                    cells.append(cell(layer.bias_names[row], float(layer.bias[row])))
                rows.append(cells)
            return Table(columns, rows, title=title, footer=footer)
        # many inputs, few units: one column per unit
        columns = [Column(["from"])] + [Column(["into ", Word("unit", u)]) for u in layer.units]
        rows = []
        for col, source in enumerate(sources):
            rows.append([[self.source_word(li, source)]] + [
                cell(layer.weight_names[row][col], float(layer.weights[row, col]))
                for row in range(layer.size)])
        if has_bias:
            assert layer.bias is not None and layer.bias_names is not None
            rows.append([["bias"]] + [cell(layer.bias_names[row], float(layer.bias[row]))
                                      for row in range(layer.size)])
        return Table(columns, rows, title=title, footer=footer)

    def source_word(self, li: int, source: str) -> Word:
        """An input (written like its symbol) or a unit of the layer below."""
        return Word("name" if li == 0 else "unit", source)

    def name_list(self, names: list[str], kind: str = "name") -> list[Inline]:
        parts: list[Inline] = []
        shown = names if len(names) <= MAX_LIST else [*names[:3], None, names[-1]]
        for index, name in enumerate(shown):
            if index:
                parts.append(", ")
            parts.append("…" if name is None else Word(kind, name))
        if len(names) > MAX_LIST:
            parts.append(f" ({len(names)})")
        return parts

    def value_list(self, keys: list[str]) -> list[Inline]:
        parts: list[Inline] = []
        shown: list[str | None] = list(keys) if len(keys) <= MAX_LIST else [
            *keys[:MAX_LIST - 2], None, keys[-1]]
        for index, key in enumerate(shown):
            if index:
                parts.append(", ")
            if key is None:
                parts.append("…")
            else:
                parts += [Sym(key), " = ", Num(self.values[key]), *self.mark(key)]
        return parts

    def data_fields(self) -> list[tuple[str, list[Inline]]]:
        problem = self.problem
        rows: list[tuple[str, list[Inline]]] = []
        if not problem.has_samples:
            rows.append(("Input", self.value_list(keys_of("", "input", problem.input_names))))
            target = self.value_list(keys_of("", "target", problem.output_names))
            if problem.target_labels and problem.target_labels[0]:
                label = problem.target_labels[0]
                target = [Word("unit", label), " (", Sym(value_key("target", label)),
                          " = 1, the other targets 0)"]
            rows.append(("Upstream" if problem.loss.given else "Target", target))
        if problem.loss.given:
            rows.append(("Loss", ["none: the backward pass starts from the given ∂L/∂a "
                                  "(upstream), and the update still applies with η"]))
        else:
            rows.append(self.loss_field())
        if problem.has_samples:
            n = problem.n_samples
            how = "mean" if problem.reduction == "mean" else "sum"
            batch: list[Inline] = [f"{n} sample{'s' * (n > 1)}"]
            if problem.batch_size is not None and problem.batch_size < n:
                batch.append(f" in mini-batches of {problem.batch_size}, in file order")
            if problem.loss.given:
                batch += [f"; each gradient is the {how} of the samples' gradients"]
            else:
                batch += ["; ", Word("loss"), f" is the {how} of the sample losses ",
                          Word("sample_def"),
                          " of the batch" if problem.batch_size is not None else ""]
            rows.append(("Batch", batch))
        if problem.optimizer.name != "sgd":
            rows.append(("Optimizer", [Word("text", problem.optimizer.label)]))
        rows.append(("Learning rate", [Word("rate"), " = ", Num(problem.learning_rate)]))
        if problem.weight_decay:
            rows.append(("Weight decay", [f"λ = {problem.weight_decay:g}, on the weights"]))
        steps = problem.steps
        if steps == 0:
            text = "0: the forward and backward pass only, no update"
        elif steps == 1:
            text = "1 update"
        else:
            text = f"{steps} updates (step {self.step} in full)"
        if problem.epochs is not None:
            text += f", {problem.epochs} epoch{'s' * (problem.epochs != 1)}"
        rows.append(("Steps", [text]))
        if problem.round is not None:
            rows.append(("By hand", [f"every value is rounded to {problem.round} decimals as "
                                     "it is written down, and the next step computes with the "
                                     "rounded number"]))
        frozen = [n for n, p in problem.parameters.items() if p.frozen]
        if frozen:
            rows.append(("Frozen", [*self.name_list(frozen), " (gradients computed, "
                                    "never updated)"]))
        notation: list[Inline] = [Word("delta_def")]
        if len(problem.output_names) == 1:
            notation += ["; ", Word("yhat_def", problem.output_names[0])]
        rows.append(("Notation", notation))
        return rows

    def loss_field(self) -> tuple[str, list[Inline]]:
        problem = self.problem
        loss_key = value_key("loss", sample=0 if problem.has_samples else None)
        loss_expr = self.formulas.for_key(loss_key)
        assert loss_expr is not None
        name = problem.loss.name.replace("_", " ")
        return ("Loss", [name, ": ", Word("loss"), " = ", Math(loss_expr, generic=True)])

    def samples_table(self) -> Table:
        problem = self.problem
        inputs = problem.input_names if len(problem.input_names) <= 6 else []
        outputs = problem.output_names if len(problem.output_names) <= 4 else []
        columns = [Column(["sample"], "right")]
        columns += [Column([Word("name", n)], "right") for n in inputs]
        columns += [Column([self.target_header(o)], "right") for o in outputs]
        rows: list[Sequence[Cell]] = []
        for k in range(min(problem.n_samples, MAX_SAMPLE_ROWS)):
            sfx = problem.sample_suffix(k)
            row: list[list[Inline]] = [[str(k + 1)]]
            row += [[Num(self.values[compose("", "input", n, sfx)])] for n in inputs]
            row += [[Num(self.values[compose("", "target", o, sfx)])] for o in outputs]
            rows.append(row)
        footer: list[Inline] | None = None
        if problem.n_samples > MAX_SAMPLE_ROWS:
            footer = [f"… and {problem.n_samples - MAX_SAMPLE_ROWS} more samples"]
        return Table(columns, rows, title=["Samples (inputs and targets)"], footer=footer)

    def target_header(self, unit: str) -> Inline:
        word = "upstream" if self.problem.loss.given else "target"
        return Word("text", f"{word} {unit}") if len(self.problem.output_names) > 1 else word

    # ---------------------------------------------------------- forward pass

    def forward_section(self, number: int) -> Section:
        title = f"{number}. Forward pass"
        if self.problem.steps > 1:
            title += f" (step {self.step})"
        section = self.section(title)
        if self.step > 1:
            section.add(Para([f"Step {self.step} starts from the parameters after "
                              f"{self.step - 1} update{'s' * (self.step > 2)}."], "note"))
        if len(self.samples) < len(self.all_samples):
            section.add(Para([self.batch_text()], "note"))
        self.forward_passes(section, self.prefix, self.samples)
        return section

    def batch_text(self) -> str:
        batch = self.problem.batch(self.step)
        return (f"Step {self.step} uses the mini-batch of samples {batch.start + 1} to "
                f"{batch.stop} (of {len(self.all_samples)}).")

    def forward_passes(self, section: Section, prefix: str, samples: list[str],
                       only_output: bool = False) -> None:
        problem = self.problem
        several = len(samples) > 1
        for sfx in samples[:MAX_FULL_SAMPLES]:
            target = section
            if several:
                target = section.add(self.section(f"Sample {sfx[1:]}", 2,  # type: ignore[assignment]
                                                  context=section.context))
                self.sample_data(target, sfx)
            for li in range(len(problem.layers)):
                if only_output and li in self.large and li != len(problem.layers) - 1:
                    continue
                sub_section = self.section(self.layer_title(li), 3, context=section.context)
                target.add(sub_section)
                if li in self.large:
                    sub_section.add(self.forward_table(li, prefix, sfx))
                    continue
                if problem.layers[li].activation.per_layer and self.softmax_layer(
                        sub_section, li, prefix, sfx):
                    continue
                for unit in problem.layers[li].units:
                    self.add_equation(sub_section, compose(prefix, "z", unit, sfx))
                    self.add_equation(sub_section, compose(prefix, "a", unit, sfx))
            if problem.has_samples and not problem.loss.given:
                self.add_loss(target, compose(prefix, "loss", "", sfx))
        if len(samples) > MAX_FULL_SAMPLES:
            section.add(self.other_samples_table(prefix, samples))

    def softmax_layer(self, section: Section, li: int, prefix: str, sfx: str) -> bool:
        """A softmax layer in the order it is computed by hand: every z, then the
        exponentials and their sum S, then each a = exp(z)/S; the units in layer order.
        False (nothing added) when an exponential overflows: the engine's shifted
        softmax is then shown as it is."""
        units = self.problem.layers[li].units
        z_keys = [compose(prefix, "z", unit, sfx) for unit in units]
        if any(key not in self.values for key in z_keys) or any(
                self.values[key] > EXP_LIMIT for key in z_keys):
            return False
        total_name = _free_name(self.problem, "S")
        exps = [Call("exp", (Ref(key),)) for key in z_keys]
        total = math.fsum(math.exp(self.values[key]) for key in z_keys)
        values = _WithValue(self.values, total_name, total)
        for key in z_keys:
            self.add_equation(section, key)
        steps = [add(*exps)]
        for _ in range(MAX_REDUCTIONS):
            reduced = reduce_innermost(steps[-1], values)
            if reduced is None:
                break
            steps.append(reduced)
        section.add(Equation(None, steps, values, total, lhs=[Math(Ref(total_name))]))
        for unit, exp in zip(units, exps, strict=True):
            a_key = compose(prefix, "a", unit, sfx)
            if a_key not in self.values:
                continue
            quotient = Quotient(exp, Ref(total_name))
            reduced_a = reduce_innermost(quotient, values)
            section.add(Equation(a_key, [quotient] + ([reduced_a] if reduced_a else []),
                                 values, self.values[a_key], judgement=self.judge(a_key)))
        return True

    def sample_data(self, section: Section, sfx: str) -> None:
        problem = self.problem
        parts: list[Inline] = self.value_list(keys_of("", "input", problem.input_names, sfx))
        parts += ["; ", *self.value_list(keys_of("", "target", problem.output_names, sfx))]
        section.add(Para(parts))

    def other_samples_table(self, prefix: str, samples: list[str]) -> Table:
        """Samples past the ones worked out: their outputs and losses."""
        problem = self.problem
        outputs = problem.output_names[:4]
        first = samples[0]
        columns = [Column(["sample"], "right")]
        columns += [Column([self.generic(compose(prefix, "a", o, first))], "right")
                    for o in outputs]
        given = problem.loss.given  # loss: none: no loss column
        columns += [] if given else [Column(["loss"], "right")]
        rows: list[Sequence[Cell]] = []
        for sfx in samples[MAX_FULL_SAMPLES:MAX_SAMPLE_ROWS]:
            row: list[list[Inline]] = [[sfx[1:]]]
            row += [[Num(self.values[compose(prefix, "a", o, sfx)])] for o in outputs]
            row += [] if given else [[Num(self.values[compose(prefix, "loss", "", sfx)])]]
            rows.append(row)
        footer: list[Inline] = ["The other samples, with the same formulas."]
        if len(samples) > MAX_SAMPLE_ROWS:
            footer.append(f" {len(samples) - MAX_SAMPLE_ROWS} more not listed.")
        return Table(columns, rows, title=[f"The other {len(samples) - MAX_FULL_SAMPLES} "
                                           "samples"], footer=footer)

    def generic(self, key: str) -> Inline:
        """The symbol of ``key`` without its sample mark (a column over all samples)."""
        return Math(Ref(key), generic=True)

    def top_terms(self, key: str) -> list[Inline]:
        """The largest terms of a sum formula, by absolute value."""
        expr = self.formulas.for_key(key)
        if not isinstance(expr, Sum):
            return []
        raw = self.solution.values  # for the ranking; the terms shown are display values
        scored = sorted(zip(expr.signs, expr.terms, strict=True),
                        key=lambda pair: -abs(pair[1].evaluate(raw)))
        parts: list[Inline] = []
        for index, (sign, term) in enumerate(scored[:TOP_TERMS]):
            if index:
                parts.append(", ")
            parts += [Math(term), " = ", Num(sign * self.values.evaluate(term))]
        return parts

    def term_count(self, key: str) -> int:
        expr = self.formulas.for_key(key)
        return len(expr.terms) if isinstance(expr, Sum) else 1

    def unit_rows(self, li: int) -> list[str]:
        units = self.problem.layers[li].units
        return units[:MAX_TABLE_ROWS]

    def rows_footer(self, li: int) -> list[Inline] | None:
        units = self.problem.layers[li].units
        if len(units) <= MAX_TABLE_ROWS:
            return None
        return [f"… and {len(units) - MAX_TABLE_ROWS} more units (every value: --format json)"]

    def forward_table(self, li: int, prefix: str, sfx: str) -> Table:
        layer = self.problem.layers[li]
        first = layer.units[0]
        z_first = compose(prefix, "z", first, sfx)
        # the headers name no unit: each row is its own unit's z and a
        columns = [Column(["unit"]), Column(["z"], "right"), Column(["a"], "right"),
                   Column([f"largest of the {self.term_count(z_first)} terms of z"])]
        rows: list[Sequence[Cell]] = []
        for unit in self.unit_rows(li):
            z, a = compose(prefix, "z", unit, sfx), compose(prefix, "a", unit, sfx)
            rows.append([[Word("unit", unit)], [Num(self.values[z]), *self.mark(z)],
                         [Num(self.values[a]), *self.mark(a)], self.top_terms(z)])
        below = len(self.problem.layer_inputs(li))
        footer: list[Inline] = [f"z: the weighted sum of the {below} values below"
                                f"{' plus the bias' if layer.bias is not None else ''}; "]
        if layer.activation.per_layer:
            footer.append("a: the softmax of the layer's z.")
        else:
            a_key = compose(prefix, "a", first, sfx)
            a_expr = self.formulas.for_key(a_key)
            assert a_expr is not None
            footer += [Sym(a_key), " = ", Math(a_expr), ", and likewise for each unit."]
        more = self.rows_footer(li)
        if more:
            footer = [*more, " ", *footer]
        return Table(columns, rows, title=["Each unit's z and a"], footer=footer)

    # -------------------------------------------------------------------- loss

    def add_loss(self, section: Section, key: str) -> None:
        problem = self.problem
        if len(problem.output_names) <= MAX_UNITS:
            self.add_equation(section, key)
            return
        section.add(Para([Sym(key), " = ", Num(self.values[key]), *self.mark(key),
                          f" (a sum over {len(problem.output_names)} outputs)"]))

    def loss_section(self, number: int) -> Section:
        section = self.section(f"{number}. Loss")
        problem = self.problem
        if not problem.has_samples:
            self.add_loss(section, compose(self.prefix, "loss"))
            return section
        if len(self.samples) <= 8:
            section.add(Para(["The batch loss, the ", problem.reduction,
                              " of the sample losses:"]))
            self.add_equation(section, compose(self.prefix, "loss"))
        else:
            key = compose(self.prefix, "loss")
            section.add(Para([Sym(key), " = ", Num(self.values[key]), *self.mark(key),
                              f" (the {problem.reduction} of {len(self.samples)} sample losses)"]))
        return section

    # ---------------------------------------------------------- backward pass

    def backward_section(self, number: int) -> Section:
        problem = self.problem
        title = f"{number}. Backward pass"
        section = self.section(title)
        section.add(Para(["From the output down, layer by layer: ∂L/∂a of each unit, the "
                          "derivative of its activation, the error ", Word("delta_def"),
                          ", then each parameter's gradient by the chain rule."], "note"))
        for sfx in self.samples[:MAX_FULL_SAMPLES]:
            target = section
            if len(self.samples) > 1:
                target = section.add(self.section(f"Sample {sfx[1:]}", 2))  # type: ignore[assignment]
            for li in range(len(problem.layers) - 1, -1, -1):
                self.backward_layer(target, li, sfx)
        if len(self.samples) > MAX_FULL_SAMPLES:
            first, last = self.samples[MAX_FULL_SAMPLES][1:], self.samples[-1][1:]
            section.add(Para([f"Samples {first} to {last} go through the same formulas; their "
                              "gradients are the terms of the batch gradient below."], "note"))
        if problem.has_samples:
            section.add(self.batch_gradient())
        return section

    def layer_params(self, li: int) -> list[str]:
        """Parameters whose gradient is complete once layer ``li`` is done."""
        return list(self.params_by_layer.get(li, ()))

    def backward_layer(self, section: Section, li: int, sfx: str) -> None:
        problem = self.problem
        layer = problem.layers[li]
        prefix = self.prefix
        sub_section = self.section(self.layer_title(li), 3)
        section.add(sub_section)
        if li == len(problem.layers) - 1 and problem.loss.spec.softmax_delta and (
                layer.activation.per_layer):
            sub_section.add(Para(["Softmax and cross-entropy together: the softmax Jacobian "
                                  "times ∂L/∂a simplifies to δ = a − y for each output."], "note"))
        if li == len(problem.layers) - 1 and problem.perceptron:
            sub_section.add(Para(["The perceptron rule: δ = ŷ − y, the step's derivative (0) "
                                  "left out, so each update is w ← w + η·(y − ŷ)·x and "
                                  "b ← b + η·(y − ŷ)."], "note"))
        if li in self.large:
            sub_section.add(self.backward_table(li, sfx))
            self.largest_gradients(sub_section, li, sfx)
            return
        for unit in layer.units:
            self.add_equation(sub_section, compose(prefix, "grad.a", unit, sfx))
        if not layer.activation.per_layer:
            for unit in layer.units:
                self.add_equation(sub_section, compose(prefix, "dadz", unit, sfx))
        for unit in layer.units:
            self.add_equation(sub_section, compose(prefix, "grad.z", unit, sfx))
            if "error" in problem.shown_kinds:  # the delta rule's error term, beside δ
                self.add_equation(sub_section, compose(prefix, "error", unit, sfx))
        suffix = sfx if problem.has_samples else ""
        for name in self.layer_params(li):
            self.add_equation(sub_section, compose(prefix, "grad", name, suffix))
        if li == 0 and "grad.input" in problem.shown_kinds:
            for name in problem.input_names:
                self.add_equation(sub_section, compose(prefix, "grad.input", name, sfx))

    def backward_table(self, li: int, sfx: str) -> Table:
        layer = self.problem.layers[li]
        prefix = self.prefix
        first = layer.units[0]
        is_output = li == len(self.problem.layers) - 1
        # the headers name no unit: each row is its own unit's values
        columns = [Column(["unit"]), Column(["∂L/∂a"], "right")]
        if not layer.activation.per_layer:
            columns.append(Column(["∂a/∂z"], "right"))
        columns.append(Column(["δ = ∂L/∂z"], "right"))
        if not is_output:
            count = self.term_count(compose(prefix, "grad.a", first, sfx))
            columns.append(Column([f"largest of the {count} terms of ∂L/∂a"]))
        rows: list[Sequence[Cell]] = []
        for unit in self.unit_rows(li):
            keys = [compose(prefix, "grad.a", unit, sfx)]
            if not layer.activation.per_layer:
                keys.append(compose(prefix, "dadz", unit, sfx))
            keys.append(compose(prefix, "grad.z", unit, sfx))
            row: list[list[Inline]] = [[Word("unit", unit)]]
            row += [[Num(self.values[k]), *self.mark(k)] for k in keys]
            if not is_output:
                row.append(self.top_terms(keys[0]))
            rows.append(row)
        footer: list[Inline] = []
        grad_a = compose(prefix, "grad.a", first, sfx)
        if is_output:
            keys = [grad_a, compose(prefix, "grad.z", first, sfx)]
        else:
            above = len(self.problem.layers[li + 1].units)
            footer.append(f"∂L/∂a: the sum over the {above} units above of weight · δ; ")
            keys = [compose(prefix, "grad.z", first, sfx)]
        if not layer.activation.per_layer:
            keys.insert(len(keys) - 1, compose(prefix, "dadz", first, sfx))
        for index, key in enumerate(keys):
            expr = self.formulas.for_key(key)
            assert expr is not None
            footer += ["; " if index else "", Sym(key), " = ", Math(expr)]
        footer.append(".")
        more = self.rows_footer(li)
        if more:
            footer = [*more, " ", *footer]
        return Table(columns, rows, title=["Each unit's gradients"], footer=footer or None)

    def largest_gradients(self, section: Section, li: int, sfx: str) -> None:
        problem = self.problem
        suffix = sfx if problem.has_samples else ""
        names = self.layer_params(li)
        keys = [compose(self.prefix, "grad", n, suffix) for n in names]
        grads = [self.solution.values[k] for k in keys]
        # largest magnitude first, ties in parameter order, NaN last (as a stable argsort)
        order = sorted(range(len(grads)),
                       key=lambda i: (math.isnan(grads[i]), -abs(grads[i])))[:TOP_GRADIENTS]
        norm = math.sqrt(math.fsum(g * g for g in grads))
        section.add(Para([f"The {len(order)} largest of the layer's {len(names)} gradients "
                          "(norm ", Num(norm), "):"]))
        for index in order:
            self.add_equation(section, keys[int(index)])

    def batch_gradient(self) -> Section:
        problem = self.problem
        prefix = self.prefix
        section = self.section("Batch gradient", 2)
        how = "mean" if problem.reduction == "mean" else "sum"
        section.add(Para([f"Each gradient is the {how} of the samples' gradients."]))
        names = list(problem.parameters)
        if self.few_parameters and len(self.samples) <= 8:
            for name in names:
                self.add_equation(section, compose(prefix, "grad", name))
            return section
        section.add(self.parameter_vector_table(
            names, prefix, [(Word("grad"), "grad")], "Batch gradients"))
        return section

    def parameter_vector_table(self, names: list[str], prefix: str,
                               columns: list[tuple[Inline, KeyKind]], title: str) -> Table:
        """A table of parameters (largest first when there are many) with keyed columns."""
        cols = [Column(["parameter"])] + [Column([h], "right") for h, _ in columns]
        if len(names) > MAX_PARAMETER_ROWS:
            first = columns[0][1]
            names = sorted(names, key=lambda n: -abs(self.values[compose(prefix, first, n)]))
            names = names[:TOP_CHANGES]
            title += f" (the {TOP_CHANGES} largest)"
        rows: list[Sequence[Cell]] = []
        for name in names:
            row: list[list[Inline]] = [[Word("name", name)]]
            for _, kind in columns:
                cell_key = compose(prefix, kind, name)
                row.append([Num(self.values[cell_key]), *self.mark(cell_key)])
            rows.append(row)
        return Table(cols, rows, title=[title])

    # ------------------------------------------------------------------ update

    @property
    def plain_sgd(self) -> bool:
        """The update is p − η·∂L/∂p (no optimizer state, no weight decay)."""
        return self.problem.optimizer.name == "sgd" and not self.problem.weight_decay

    def update_section(self, number: int) -> Section:
        problem = self.problem
        prefix = self.prefix
        title = f"{number}. Update"
        if problem.steps > 1:
            title += f" (step {self.step})"
        section = self.section(title)
        names = list(problem.parameters)
        movable = [n for n in names if not problem.parameters[n].frozen]
        if problem.perceptron:
            section.add(Para(["The perceptron rule, one sample at a time: ",
                              Word("update_rule"), " with δ = ŷ − y, ", Word("rate"), " = ",
                              Num(problem.learning_rate), "."]))
        elif self.plain_sgd:
            section.add(Para(["Gradient descent: each parameter moves against its gradient, ",
                              Word("update_rule"), ", with ", Word("rate"), " = ",
                              Num(problem.learning_rate), "."]))
        else:
            optimizer = problem.optimizer
            parts: list[Inline] = [Word("text", optimizer.label.capitalize())]
            if problem.weight_decay:
                parts += [" with weight decay λ = ", Num(problem.weight_decay),
                          " (added as λ·w to the gradient of each weight, not the biases)"]
            shown = self.example_parameter(movable)
            parts += [", ", Word("rate"), " = ", Num(problem.learning_rate), ". For ",
                      Word("name", shown) if shown else "each parameter", ":"]
            section.add(Para(parts))
        name = self.example_parameter(movable)
        if name is not None:
            for kind in update_kinds(problem):
                example = self.equation(compose(prefix, kind, name), rate_symbol=True)
                if example is None:
                    continue
                if kind == "new":
                    example.digits = self.new_digits(prefix, name)
                example.judgement = None  # the table below shows the author's value
                self.shown.discard(compose(prefix, kind, name))
                section.add(example)
        erased = self.erased_updates(movable, prefix)
        if erased:
            section.add(self.erased_warning(erased, len(movable)))
        if self.few_parameters:
            section.add(self.update_table(names, prefix))
        else:
            section.add(self.update_summary(prefix))
            changes = sorted(movable, key=lambda n: -abs(self.change(prefix, n)))
            section.add(self.update_table(changes[:TOP_CHANGES], prefix,
                                          title=f"The {min(TOP_CHANGES, len(changes))} "
                                                "largest updates"))
        return section

    def erased_updates(self, movable: list[str], prefix: str) -> list[str]:
        """Hand-calculation mode: the parameters with a gradient whose update rounding
        erased (η·∂L/∂p under half a unit of the last decimal kept: 0.5 + 0 = 0.5)."""
        if self.problem.round is None:
            return []
        raw = self.solution.values
        return [name for name in movable
                if raw.get(compose(prefix, "grad", name), 0.0) != 0.0
                and raw.get(compose(prefix, "new", name)) == raw.get(compose(prefix, "param",
                                                                             name))]

    def erased_warning(self, erased: list[str], movable: int) -> Para:
        decimals = self.problem.round
        assert decimals is not None
        listed = ", ".join(erased[:MAX_LIST]) + (", …" if len(erased) > MAX_LIST else "")
        which = ("every update" if len(erased) == movable else
                 f"the update of {_count(len(erased), 'parameter')} ({listed})")
        return Para([f"Warning: rounding to {decimals} decimals erases {which}: each change "
                     f"is smaller than half a unit of the last decimal kept, so the parameter "
                     f"stays as it was. Keep more decimals (--round {decimals + 2}, or round: "
                     f"{decimals + 2} in the file) to see the step."], "warning")

    def example_parameter(self, movable: list[str]) -> str | None:
        """The parameter whose update is written out: the first that moves shows it best."""
        if not movable:
            return None
        return next((n for n in movable if self.change(self.prefix, n)), movable[0])

    def change(self, prefix: str, name: str) -> float:
        """How far the update moved ``name`` (η·∂L/∂p for plain gradient descent)."""
        if self.plain_sgd:
            if self.problem.parameters[name].frozen:
                return 0.0
            return self.problem.learning_rate * self.values[compose(prefix, "grad", name)]
        values = self.values
        return values[compose(prefix, "new", name)] - values[compose(prefix, "param", name)]

    def new_digits(self, prefix: str, name: str) -> int:
        """Digits for a new value: enough to show the step just taken."""
        old = self.values[compose(prefix, "param", name)]
        new = self.values[compose(prefix, "new", name)]
        digits = digits_to_show_step(new, self.change(prefix, name), self.options.digits)
        return max(digits, digits_to_tell_apart(old, new, self.options.digits))

    def compact_mark(self, key: str, notes: list[Inline]) -> list[Inline]:
        judgement = self.judge(key)
        if judgement is None:
            return []
        if judgement.note:
            notes += [" " if notes else "", Sym(key), f": {judgement.note}."]
        return [VerdictMark(judgement, compact=True)]

    def update_table(self, names: list[str], prefix: str, title: str | None = None) -> Table:
        problem = self.problem
        kinds = optimizer_kinds(problem)
        with_change = "change" in problem.shown_kinds
        rows: list[Sequence[Cell]] = []
        notes: list[Inline] = []
        published = False
        for name in names:
            old = self.values[compose(prefix, "param", name)]
            grad = self.values[compose(prefix, "grad", name)]
            new_key = compose(prefix, "new", name)
            new = self.values[new_key]
            frozen = problem.parameters[name].frozen
            row: list[Cell] = [[Word("name", name)], [Num(old)], [Num(grad)]]
            labelled: list[tuple[str, list[Inline]]] = [
                ("old", self.compact_mark(compose(prefix, "param", name), notes))]
            for index, kind in enumerate(kinds):
                cell_key = compose(prefix, kind, name)
                if frozen:
                    row.append(["frozen" if index == 0 else "–"])
                else:
                    row.append([Num(self.values[cell_key])])
                labelled.append((kind, self.compact_mark(cell_key, notes)))
            if self.plain_sgd:
                row.append(["frozen"] if frozen else [Num(self.change(prefix, name))])
            labelled.append(("new", self.compact_mark(new_key, notes)))
            if with_change:  # Δp = new − old, as the delta-rule books print it
                change_key = compose(prefix, "change", name)
                row.append([Num(self.values[change_key])])
                labelled.append(("change", self.compact_mark(change_key, notes)))
            # several published values in one cell: say which column each belongs to
            present = [(label, inlines) for label, inlines in labelled if inlines]
            marks: list[Inline] = []
            for index, (label, inlines) in enumerate(present):
                if index:
                    marks.append(", ")
                if len(present) > 1:
                    marks += [Word("state_letter", label) if label in kinds else label, " "]
                marks += inlines
            published = published or bool(marks)
            new_cell: list[Cell] = [[Num(new, self.new_digits(prefix, name))]]
            if with_change:  # the new value before the change column
                row[-1:-1] = new_cell
            else:
                row += new_cell
            row.append(marks)
            rows.append(row)
        columns = [Column(["parameter"]), Column(["old"], "right"), Column([Word("grad")], "right")]
        columns += [Column([Word("state_letter", kind)], "right") for kind in kinds]
        if self.plain_sgd:
            columns.append(Column([Word("step")], "right"))
        columns.append(Column(["new"], "right"))
        if with_change:
            columns.append(Column(["change"], "right"))
        if published:
            columns.append(Column(["published"]))
        else:
            rows = [row[:-1] for row in rows]  # no published values: no column
        if self.plain_sgd:
            footer: list[Inline] = ["new = old − ", Word("step"), "."]
        else:
            footer = ["Columns as in the formulas above, for each parameter."]
        if any(problem.parameters[n].frozen for n in names):
            footer.append(" A frozen parameter keeps its value.")
        if notes:
            footer += [" ", *notes]
        return Table(columns, rows, title=[title] if title else None, footer=footer)

    def update_summary(self, prefix: str) -> Table:
        problem = self.problem
        columns = [Column(["layer"]), Column(["parameters"], "right"),
                   Column(["frozen"], "right"), Column(["largest change"], "right"),
                   Column(["mean change"], "right")]
        rows: list[Sequence[Cell]] = []
        for li in range(len(problem.layers)):
            names = self.layer_params(li)
            steps = [abs(self.change(prefix, n))
                     for n in names if not problem.parameters[n].frozen]
            frozen = sum(1 for n in names if problem.parameters[n].frozen)
            rows.append([[str(li + 1)], [str(len(names))], [str(frozen)],
                         [Num(max(steps))] if steps else ["–"],
                         [Num(sum(steps) / len(steps))] if steps else ["–"]])
        return Table(columns, rows, title=["Updates per layer"])

    # ---------------------------------------------------------------- training

    def training_section(self, number: int) -> Section:
        problem = self.problem
        losses = self.solution.losses
        steps_run = self.solution.steps_run
        section = self.section(f"{number}. Training: {steps_run} steps", context=FINAL)
        section.add(Sparkline([float(v) for v in losses], "loss"))
        indices = spaced(len(losses), MAX_LOSS_ROWS)
        batched = len(self.samples) < len(self.all_samples) or problem.batch_size is not None
        loss_header = "loss of the step's batch" if batched else "loss before the step"
        columns = [Column(["step"], "right"), Column([loss_header], "right"),
                   Column(["change since the row above"], "right")]
        rows: list[Sequence[Cell]] = []
        previous = None
        for index in indices:
            label = str(index + 1) if index < steps_run else "final"
            value = float(losses[index])
            change: list[Inline] = [] if previous is None else [Num(value - previous)]
            rows.append([[label], [Num(value)], change])
            previous = value
        footer: list[Inline] | None = None
        if len(indices) < len(losses):
            footer = [f"{len(indices)} of {len(losses)} losses; every one: "
                      "--format json --keys 'step*.loss'."]
        if batched:
            footer = [*(footer or []), " Each step's loss is its batch's (before the update); "
                      "the final one is over every sample."]
        section.add(Table(columns, rows, title=["Loss per step"], footer=footer))
        if self.solution.stopped:
            section.add(Para([f"Stopped early: {self.solution.stopped}."], "note"))
        names = list(problem.parameters)
        start = {n: problem.parameters[n].value for n in names}
        columns = [Column(["parameter"]), Column(["start"], "right"), Column(["final"], "right")]
        if len(names) > MAX_PARAMETER_ROWS:
            names = sorted(names,
                           key=lambda n: -abs(self.values[value_key("param", n, None)] - start[n]))
            names = names[:TOP_CHANGES]
            title = f"Final parameters (the {TOP_CHANGES} that moved most)"
        else:
            title = "Final parameters"
        notes: list[Inline] = []
        finals: list[Sequence[Cell]] = [
            [[Word("name", n)], [Num(start[n])], [Num(self.values[value_key("param", n, None)])],
             self.compact_mark(value_key("param", n, None), notes)] for n in names]
        if any(row[-1] for row in finals):
            columns.append(Column(["published"]))
        else:
            finals = [row[:-1] for row in finals]
        section.add(Table(columns, finals, title=[title], footer=notes or None))
        return section

    # ------------------------------------------------------------ after update

    def after_section(self, number: int) -> Section:
        steps = self.solution.steps_run
        title = (f"{number}. After the update" if steps == 1
                 else f"{number}. After {steps} updates")
        section = self.section(title, context=FINAL)
        section.add(Para(["The forward pass again, with the new parameters."], "note"))
        if len(self.all_samples) > 1:
            section.add(self.final_samples_table())
        else:
            self.forward_passes(section, FINAL_PREFIX, self.all_samples, only_output=True)
        if self.problem.loss.given:
            return section  # loss: none: no loss to compare
        self.add_loss(section, value_key("loss", step=None))
        before = self.values[value_key("loss")]
        after = self.values[value_key("loss", step=None)]
        when = "before the update" if steps == 1 else "at the start"
        parts: list[Inline] = [f"The loss {when} was ", Num(before), ", now it is ", Num(after),
                               ": ", Word("delta_loss"), " = ", Num(after - before)]
        if after < before:
            parts.append(f", {_percent(before - after, before)} lower.")
        elif after > before:
            parts.append(f", {_percent(after - before, before)} higher: the learning rate is too "
                         "large for this problem.")
        else:
            parts.append(": no change.")
        section.add(Para(parts))
        return section

    def summary_section(self, number: int) -> Section:
        """The end of the solution in one place: the loss before and after the updates.
        (A verdict count of the published values belongs here too.)"""
        section = self.section(f"{number}. Summary", context=1)
        steps = self.solution.steps_run
        if self.problem.loss.given:
            section.add(Fields([("updates", [str(steps) if steps else "none (steps: 0)"])]))
            return section
        before = self.values["loss"]
        if not steps or "final.loss" not in self.values:
            section.add(Fields([("loss", [Num(before)]),
                                ("updates", ["none (steps: 0)"])]))
            return section
        after = self.values["final.loss"]
        change = (f"{_percent(before - after, before)} lower" if after < before else
                  f"{_percent(after - before, before)} higher" if after > before else
                  "no change")
        section.add(Fields([
            ("loss before", [Num(before)]),
            (f"loss after {_count(steps, 'update')}", [Num(after)]),
            ("change", [Num(after - before), f" ({change})"]),
        ]))
        return section

    def final_samples_table(self) -> Table:
        """Every sample's outputs and loss with the new parameters."""
        problem = self.problem
        outputs = problem.output_names[:4]
        first = self.all_samples[0]
        columns = [Column(["sample"], "right")]
        columns += [Column([self.target_header(o)], "right") for o in outputs]
        columns += [Column([self.generic(compose(FINAL_PREFIX, "a", o, first))], "right")
                    for o in outputs]
        given = problem.loss.given  # loss: none: no loss column
        if not given:
            columns.append(Column(["loss"], "right"))
        rows: list[Sequence[Cell]] = []
        notes: list[Inline] = []
        for sfx in self.all_samples[:MAX_SAMPLE_ROWS]:
            row: list[Cell] = [[sfx[1:]]]
            row += [[Num(self.values[compose("", "target", o, sfx)])] for o in outputs]
            for key in [compose(FINAL_PREFIX, "a", o, sfx) for o in outputs] + (
                    [] if given else [compose(FINAL_PREFIX, "loss", "", sfx)]):
                row.append([Num(self.values[key]), *self.compact_mark(key, notes)])
            rows.append(row)
        footer: list[Inline] = ["Each row is the forward pass of the formulas above with the "
                                "new parameters, and the sample's loss."]
        if len(self.all_samples) > MAX_SAMPLE_ROWS:
            footer.append(f" {len(self.all_samples) - MAX_SAMPLE_ROWS} more samples not listed.")
        if notes:
            footer += [" ", *notes]
        return Table(columns, rows, title=["Every sample with the new parameters"],
                     footer=footer)

    # --------------------------------------------------------------- leftovers

    def leftover_section(self, number: int) -> Section | None:
        missing = [key for key in self.judged if key not in self.shown]
        if not missing:
            return None
        section = self.section(f"{number}. Other published values", context=1)
        columns = [Column(["value"]), Column(["computed"], "right"), Column(["published"])]
        rows: list[Sequence[Cell]] = []
        notes: list[Inline] = []
        for key in missing:
            computed: list[Inline] = [Num(self.values[key])] if key in self.values else ["–"]
            rows.append([[Sym(key)], computed, self.compact_mark(key, notes)])
        section.add(Table(columns, rows, footer=notes or None))
        return section


EXP_LIMIT = 700.0  # exp(z) of a larger z overflows a float


class _WithValue(Mapping[str, float]):
    """The document's values and one more, a display-only name (the softmax sum S)."""

    def __init__(self, values: Mapping[str, float], name: str, value: float) -> None:
        self.base, self.name, self.value = values, name, value

    def __getitem__(self, key: str) -> float:
        return self.value if key == self.name else self.base[key]

    def __iter__(self) -> Iterator[str]:
        yield self.name
        yield from self.base

    def __len__(self) -> int:
        return len(self.base) + 1


def _free_name(problem: Problem, name: str) -> str:
    """``name``, or ``name`` with primes, so that it is no parameter, unit or input."""
    taken = set(problem.parameters) | set(problem.unit_set) | set(problem.input_names)
    while name in taken:
        name += "′"
    return name


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def activation_label(activation: Activation) -> str:
    """'leaky ReLU, α = 0.1' (the label without nested brackets)."""
    label = activation.label
    return label.replace(" (", ", ").rstrip(")") if "(" in label else label


def _percent(part: float, whole: float) -> str:
    if whole == 0 or not math.isfinite(whole):
        return "—"
    share = 100 * part / abs(whole)
    if 99 < share < 100:  # 99.96% is not 100%: the loss did not vanish
        return f"{min(share, 99.99):.4g}%"
    if share >= 10:
        return f"{share:.0f}%"
    if share >= 0.1:
        return f"{share:.1f}%"
    return f"{share:.2g}%"
