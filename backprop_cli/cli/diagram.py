"""`backprop diagram FILE`: the network as Mermaid or Graphviz DOT text."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from backprop_cli.cli.common import (
    digits_option,
    format_option,
    load,
    load_exercise,
    user_errors,
    write_output,
)

if TYPE_CHECKING:
    from backprop_cli.model.layered import LayeredProblem


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@format_option("diagram", "mermaid",
               "mermaid (GitHub renders it in a ```mermaid block), dot (Graphviz) or json.")
@click.option("--grad", is_flag=True,
              help="Label the weights and biases with ∂L/∂w instead of their values (a "
                   "layered network: small tensors' gradients, the norm of larger ones).")
@digits_option()
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to FILE instead of standard output.")
def diagram(file: str, fmt: str, grad: bool, digits: int, output: str | None) -> None:
    """Draw FILE's network: inputs, units with their activation and bias, the loss,
    and every weight on its edge with the author's name and value (or gradient).

    A network with conv, pooling, dropout or rnn layers is drawn a node per
    layer: its type, shape in -> out, kernel, stride, padding, size or rate,
    activation and parameter tensors (values of tensors of up to 9 values, the
    shape of larger ones), an rnn's recurrent weights as an edge to itself, and
    the loss.

    \b
    Examples:
      backprop diagram problems/001b_two_layer_relu_sigmoid.yaml
      backprop diagram problems/030_conv_pool_dropout.yaml --grad
      backprop diagram problems/031_rnn_bptt.yaml --format dot | dot -Tsvg -o rnn.svg
      backprop diagram problem.yaml --grad --format dot | dot -Tsvg -o network.svg
      backprop diagram problem.yaml --format json
    """
    from backprop_cli.app.diagram import build, dot, json_document, mermaid
    from backprop_cli.model.layered import LayeredProblem

    exercise = load_exercise(file)
    if isinstance(exercise, LayeredProblem):
        _layered(exercise, file, fmt, grad, digits, output)
        return
    problem = load(file)  # a network, or the reason this file has none
    with user_errors(file):
        graph = build(problem, gradients=grad)
    if fmt == "json":
        from backprop_cli.render.jsonout import dumps

        write_output(dumps(json_document(graph, file)), output)
    elif fmt == "dot":
        write_output(dot(graph, digits), output)
    else:
        write_output(mermaid(graph, digits), output)


def _layered(exercise: LayeredProblem, file: str, fmt: str, grad: bool, digits: int,
             output: str | None) -> None:
    from backprop_cli.app.diagram import build_layered, layered_dot, layered_json, layered_mermaid

    with user_errors(file):
        graph = build_layered(exercise, gradients=grad)
    if fmt == "json":
        from backprop_cli.render.jsonout import dumps

        write_output(dumps(layered_json(graph, file)), output)
    elif fmt == "dot":
        write_output(layered_dot(graph, digits), output)
    else:
        write_output(layered_mermaid(graph, digits), output)
