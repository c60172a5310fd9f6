"""The formula of every value key, as an :class:`~backprop_cli.expr.Expr`.

This is the single description of each step of the calculation. The renderers
print it (symbols, then numbers substituted, then the result) and the checker
evaluates it on the author's own numbers to tell a slip from an error carried
forward. Data (inputs, targets) and the starting parameters have no formula.

The update formulas (``new.``, and the optimizer's ``v.``, ``m.``…) come from
:mod:`backprop_cli.model.optimizers`. With batches a step's ``loss`` and
``grad.<param>`` reduce over the samples of that step's batch. In
hand-calculation mode (``problem.round``) every formula is wrapped in
:class:`~backprop_cli.expr.Round`, so evaluating it gives the rounded number the
engine produced and a student writes down.
"""

from __future__ import annotations

from functools import lru_cache

from backprop_cli.expr import Call, Const, Expr, Neg, Ref, Round, add, mul, sub
from backprop_cli.model.keys import KeyParts, compose, prefix_for, suffix_for, value_key
from backprop_cli.model.keyspace import parse_key
from backprop_cli.model.problem import Problem


class Formulas:
    """Builds formulas for one problem on demand (a big network has many keys)."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.unit_layer: dict[str, int] = {}
        for li, layer in enumerate(problem.layers):
            for unit in layer.units:
                self.unit_layer[unit] = li
        self.for_key = lru_cache(maxsize=65536)(self._for_key)

    def _for_key(self, key: str) -> Expr | None:
        parts = parse_key(key, self.problem)
        if parts is None:
            raise KeyError(key)
        return self.for_parts(parts)

    def suffix(self, parts: KeyParts) -> str:
        return parts.suffix

    def for_parts(self, parts: KeyParts) -> Expr | None:
        expr = self._formula(parts)
        decimals = self.problem.round
        if decimals is None or expr is None or isinstance(expr, (Ref, Const)):
            return expr  # a copy of a value (already rounded) needs no rounding
        return Round(expr, decimals)

    def _formula(self, parts: KeyParts) -> Expr | None:
        problem = self.problem
        kind = parts.kind
        prefix = parts.prefix
        sfx = self.suffix(parts)
        if kind in ("input", "target", "epoch.errors", "accuracy", "predict.accuracy",
                    "predict.z", "predict.a"):
            return None  # data; counts and shares; predictions (from rows with no keys)
        if kind == "epoch.loss" or kind == "epoch.loss_sum":
            size = problem.batches_per_epoch
            epoch = int(parts.name)
            losses = tuple(Ref(compose(prefix_for(step), "loss"))
                           for step in range((epoch - 1) * size + 1, epoch * size + 1))
            return Call("mean", losses) if kind == "epoch.loss" else add(*losses)
        if kind == "param":
            return self.param_start(parts.name, parts.step)
        if kind == "change":  # Δw = new − old
            return sub(Ref(compose(prefix, "new", parts.name)),
                       Ref(compose(prefix, "param", parts.name)))
        if kind == "error":  # the error term of the delta rule: −∂L/∂z
            return Neg(Ref(compose(prefix, "grad.z", parts.name, sfx)))
        if kind == "grad.input":
            return self.grad_input(prefix, parts.name, sfx)
        if kind == "new" or kind in problem.optimizer.kinds:
            return self.update(kind, parts.name, parts.step)
        if kind == "z":
            return self.weighted_sum(prefix, parts.name, sfx)
        if kind == "a":
            li = self.unit_layer[parts.name]
            layer = problem.layers[li]
            layer_z = [compose(prefix, "z", u, sfx) for u in layer.units]
            return layer.activation.expr(compose(prefix, "z", parts.name, sfx), layer_z)
        if kind == "dadz":
            layer = problem.layers[self.unit_layer[parts.name]]
            return layer.activation.derivative_expr(compose(prefix, "z", parts.name, sfx),
                                                    compose(prefix, "a", parts.name, sfx))
        if kind == "loss":
            if problem.has_samples and parts.sample is None:
                return self.reduce([compose(prefix, "loss", "", suffix_for(k))
                                    for k in problem.batch(parts.step)])
            outputs = problem.output_names
            return problem.loss.expr([compose(prefix, "a", o, sfx) for o in outputs],
                                     [compose("", "target", o, sfx) for o in outputs])
        if kind == "grad.a":
            return self.grad_a(prefix, parts.name, sfx)
        if kind == "grad.z":
            return self.grad_z(prefix, parts.name, sfx)
        if kind == "grad":
            if problem.has_samples and parts.sample is None:
                return self.reduce([compose(prefix, "grad", parts.name, suffix_for(k))
                                    for k in problem.batch(parts.step)])
            return self.param_grad(prefix, parts.name, sfx)
        raise ValueError(f"no formula for {kind}")

    # ------------------------------------------------------------- pieces

    def update(self, kind: str, name: str, step: int | None) -> Expr:
        """``new.<name>`` or an optimizer value of ``name`` at ``step``."""
        problem = self.problem
        assert step is not None
        param = problem.parameters[name]
        decay = problem.weight_decay if not any(u.is_bias for u in param.uses) else 0.0
        previous = prefix_for(step - 1) if step > 1 else None
        return problem.optimizer.formula(kind, name, step, prefix_for(step), previous,
                                         problem.learning_rate, decay, param.frozen)

    def param_start(self, name: str, step: int | None) -> Expr | None:
        steps = self.problem.steps
        if step == 1:
            return None
        if step is None:  # final.: after the last update
            if steps == 0:
                return Ref(value_key("param", name))
            return Ref(value_key("new", name, steps))
        return Ref(value_key("new", name, step - 1))

    def source_key(self, prefix: str, li: int, col: int, sfx: str) -> str:
        problem = self.problem
        if li == 0:
            return compose("", "input", problem.input_names[col], sfx)
        return compose(prefix, "a", problem.layers[li - 1].units[col], sfx)

    def weighted_sum(self, prefix: str, unit: str, sfx: str) -> Expr:
        li = self.unit_layer[unit]
        layer = self.problem.layers[li]
        row = layer.units.index(unit)
        terms: list[Expr] = [
            mul(Ref(compose(prefix, "param", name)), Ref(self.source_key(prefix, li, col, sfx)))
            for col, name in enumerate(layer.weight_names[row])
        ]
        if layer.bias_names is not None:
            terms.append(Ref(compose(prefix, "param", layer.bias_names[row])))
        return add(*terms)

    def grad_a(self, prefix: str, unit: str, sfx: str) -> Expr:
        problem = self.problem
        li = self.unit_layer[unit]
        if li == len(problem.layers) - 1:
            return problem.loss.grad_a_expr(compose(prefix, "a", unit, sfx),
                                            compose("", "target", unit, sfx),
                                            len(problem.output_names))
        above = problem.layers[li + 1]
        col = problem.layers[li].units.index(unit)
        return add(*(mul(Ref(compose(prefix, "param", above.weight_names[row][col])),
                         Ref(compose(prefix, "grad.z", u, sfx)))
                     for row, u in enumerate(above.units)))

    def grad_input(self, prefix: str, name: str, sfx: str) -> Expr:
        """∂L/∂x: the sum over the first layer's units of weight · δ."""
        first = self.problem.layers[0]
        col = self.problem.input_names.index(name)
        return add(*(mul(Ref(compose(prefix, "param", first.weight_names[row][col])),
                         Ref(compose(prefix, "grad.z", u, sfx)))
                     for row, u in enumerate(first.units)))

    def grad_z(self, prefix: str, unit: str, sfx: str) -> Expr:
        problem = self.problem
        li = self.unit_layer[unit]
        layer = problem.layers[li]
        is_output = li == len(problem.layers) - 1
        a = compose(prefix, "a", unit, sfx)
        if is_output and problem.perceptron:  # δ = y − t: the rule leaves the step's f' out
            return sub(Ref(a), Ref(compose("", "target", unit, sfx)))
        if layer.activation.per_layer:
            if is_output and problem.loss.spec.softmax_delta:
                return sub(Ref(a), Ref(compose("", "target", unit, sfx)))
            inner = add(*(mul(Ref(compose(prefix, "grad.a", u, sfx)),
                              Ref(compose(prefix, "a", u, sfx)))
                          for u in layer.units))
            return mul(Ref(a), sub(Ref(compose(prefix, "grad.a", unit, sfx)), inner))
        return mul(Ref(compose(prefix, "grad.a", unit, sfx)),
                   Ref(compose(prefix, "dadz", unit, sfx)))

    def param_grad(self, prefix: str, name: str, sfx: str) -> Expr:
        problem = self.problem
        terms: list[Expr] = []
        for use in problem.parameters[name].uses:
            unit = problem.layers[use.layer].units[use.row]
            delta = Ref(compose(prefix, "grad.z", unit, sfx))
            if use.is_bias:
                terms.append(delta)
            else:
                terms.append(mul(delta, Ref(self.source_key(prefix, use.layer, use.col, sfx))))
        return add(*terms)

    def reduce(self, keys: list[str]) -> Expr:
        refs = tuple(Ref(k) for k in keys)
        if self.problem.reduction == "mean":
            return Call("mean", refs)
        return add(*refs)
