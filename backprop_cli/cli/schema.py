"""`backprop schema`: the JSON Schema of the problem format, for editors."""

from __future__ import annotations

import click

from backprop_cli.cli.common import write_output


@click.command()
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to FILE instead of standard output.")
def schema(output: str | None) -> None:
    """Print the JSON Schema (draft 2020-12) of problem files, format v1.

    Editors that use the YAML language server (VS Code with the YAML extension,
    Neovim, Emacs, JetBrains, ...) validate and complete a problem file whose
    first line names it:

    \b
      # yaml-language-server: $schema=../docs/problem.schema.json

    \b
    Examples:
      backprop schema --output docs/problem.schema.json
      backprop schema | python -m json.tool --compact
    """
    from backprop_cli.files.schema import schema_text

    write_output(schema_text(), output)
