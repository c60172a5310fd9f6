"""`backprop probe FILE w2=+0.1`: the loss change the gradient predicts beside the real one."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from backprop_cli.cli.common import digits_option, format_option, load, user_errors, write_output

if TYPE_CHECKING:
    from backprop_cli.app.probe import ProbeResult



@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("nudges", nargs=-1, required=True,
                metavar="NAME+=CHANGE|NAME-=CHANGE|NAME=VALUE...")
@format_option("report", "plain",
               "Output format.")
@digits_option()
def probe(file: str, nudges: tuple[str, ...], fmt: str, digits: int) -> None:
    """Nudge parameters of FILE and compare the predicted change of the loss,
    ΔL ≈ Σ ∂L/∂p·Δp, with the actual change from a forward pass.

    A nudge is a change (w2+=0.1, w1-=0.05, or w2=+0.1) or a new value (w2=0.6,
    w1:=-0.3); w1=-0.3, which reads both ways, is refused. Each nudge is printed
    as old → new. The loss is over every sample, at the file's starting
    parameters, in full precision.

    \b
    Examples:
      backprop probe problems/003a_chain_x_w1_w2.yaml w2=+0.1
      backprop probe problems/003c_sigmoid_two_inputs.yaml w3=+0.1
      backprop probe problem.yaml w1-=0.05 w2+=0.1 --format json
    """
    from backprop_cli.app.probe import NudgeError, parse_nudge
    from backprop_cli.app.probe import probe as run

    try:
        parsed = [parse_nudge(text) for text in nudges]
    except NudgeError as error:
        raise click.BadParameter(str(error), param_hint="NUDGES") from None
    problem = load(file)
    try:
        with user_errors(file):
            result = run(problem, parsed)
    except NudgeError as error:
        raise click.BadParameter(str(error), param_hint="NUDGES") from None
    if fmt == "json":
        from backprop_cli.render.jsonout import dumps

        write_output(dumps(_document(result, file)), None)
    else:
        write_output("\n".join(_lines(result, digits)), None)


def _document(result: ProbeResult, path: str) -> dict[str, object]:
    import math

    def finite(value: float) -> float | None:  # JSON has no NaN or Infinity
        return value if math.isfinite(value) else None

    return {
        "file": path,
        "title": result.problem.title,
        "nudges": [{"name": m.name, "from": m.start, "to": m.new, "change": m.change,
                    "gradient": finite(m.gradient)} for m in result.moved],
        "values": {k: finite(v) for k, v in result.values().items()},
        "sentence": result.sentence(),
    }


def _lines(result: ProbeResult, digits: int) -> list[str]:
    from backprop_cli.numfmt import format_number

    def num(value: float) -> str:
        return format_number(value, digits)

    def wide(value: float) -> str:  # two losses close together: their difference shows
        return format_number(value, digits + 2)

    def factor(value: float) -> str:
        text = num(value)
        return f"({text})" if text.startswith("−") else text

    def signed(value: float) -> str:
        text = num(value)
        return text if text.startswith("−") else f"+{text}"

    lines = [result.problem.title, ""]
    for m in result.moved:
        lines.append(f"{m.name}: {num(m.start)} → {num(m.new)} (Δ{m.name} = {signed(m.change)}),"
                     f" ∂L/∂{m.name} = {num(m.gradient)}")
    symbols = " + ".join(f"∂L/∂{m.name}·Δ{m.name}" for m in result.moved)
    products = " + ".join(f"{factor(m.gradient)}·{factor(m.change)}" for m in result.moved)
    predicted = f"predicted  ΔL ≈ {symbols} = {products}"
    if len(result.moved) > 1:
        predicted += " = " + " + ".join(factor(m.contribution) for m in result.moved)
    changes = ", ".join(f"{m.name} = {num(m.new)}" for m in result.moved)
    lines += [
        "",
        f"{predicted} = {num(result.predicted)}",
        f"actual     ΔL = L({changes}) − L = {wide(result.new_loss)} − {wide(result.loss)} = "
        f"{num(result.actual)}",
        f"difference actual − predicted = {num(result.difference)}",
        "",
        result.sentence(digits),
    ]
    return lines
