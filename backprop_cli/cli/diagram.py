"""`backprop diagram FILE`: the network as Mermaid or Graphviz DOT text."""

from __future__ import annotations

import click

from backprop_cli.cli.common import digits_option, format_option, load, user_errors, write_output


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@format_option("diagram", "mermaid",
               "mermaid (GitHub renders it in a ```mermaid block), dot (Graphviz) or json.")
@click.option("--grad", is_flag=True,
              help="Label the weights and biases with ∂L/∂w instead of their values.")
@digits_option()
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to FILE instead of standard output.")
def diagram(file: str, fmt: str, grad: bool, digits: int, output: str | None) -> None:
    """Draw FILE's network: inputs, units with their activation and bias, the loss,
    and every weight on its edge with the author's name and value (or gradient).

    \b
    Examples:
      backprop diagram problems/001b_two_layer_relu_sigmoid.yaml
      backprop diagram problem.yaml --grad --format dot | dot -Tsvg -o network.svg
      backprop diagram problem.yaml --format json
    """
    from backprop_cli.app.diagram import build, dot, json_document, mermaid

    problem = load(file)
    with user_errors(file):
        graph = build(problem, gradients=grad)
    if fmt == "json":
        from backprop_cli.render.jsonout import dumps

        write_output(dumps(json_document(graph, file)), output)
    elif fmt == "dot":
        write_output(dot(graph, digits), output)
    else:
        write_output(mermaid(graph, digits), output)
