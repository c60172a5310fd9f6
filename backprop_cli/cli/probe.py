"""`backprop probe FILE w2=+0.1`: the loss change the gradient predicts beside the real one."""

from __future__ import annotations

import click

from backprop_cli.cli.common import (
    digits_option,
    format_option,
    load_network,
    user_errors,
    write_output,
)


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

    A layered network's (conv, pooling, dropout, rnn) parameters are its
    elements' keys: quote the bracketed ones for the shell ('K[1,1,2,2]+=0.1').

    \b
    Examples:
      backprop probe problems/003a_chain_x_w1_w2.yaml w2=+0.1
      backprop probe problems/003c_sigmoid_two_inputs.yaml w3=+0.1
      backprop probe problems/030_conv_pool_dropout.yaml 'K[1,1,1,1]+=0.1' 'c[1]-=0.05'
      backprop probe problem.yaml w1-=0.05 w2+=0.1 --format json
    """
    from backprop_cli.app.probe import NudgeError, json_document, parse_nudge, report_lines
    from backprop_cli.app.probe import probe as run

    try:
        parsed = [parse_nudge(text) for text in nudges]
    except NudgeError as error:
        raise click.BadParameter(str(error), param_hint="NUDGES") from None
    problem = load_network(file, records_values=False)
    try:
        with user_errors(file):
            result = run(problem, parsed)
    except NudgeError as error:
        raise click.BadParameter(str(error), param_hint="NUDGES") from None
    if fmt == "json":
        from backprop_cli.render.jsonout import dumps

        write_output(dumps(json_document(result, file)), None)
    else:
        write_output("\n".join(report_lines(result, digits)), None)
