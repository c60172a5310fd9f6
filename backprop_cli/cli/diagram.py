"""`backprop diagram FILE`: the network as Mermaid or Graphviz DOT text."""

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
    from backprop_cli.app.diagram import diagram_text

    problem = load_network(file)  # dense or layered (or the reason this file has none)
    with user_errors(file):
        text = diagram_text(problem, fmt, grad, digits, file)
    write_output(text, output)
