"""The command line: a thin click layer over the core.

Commands live in their own modules and are imported only when run, so
``backprop --help`` and ``backprop --version`` import neither numpy nor rich.
Library exceptions become ``path:line:col: message`` on stderr and exit
status 1 here, at the edge; usage errors exit with status 2 (click's).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from typing import Any

import click

from backprop_cli import __version__

# name -> (module, attribute, one-line help shown by `backprop --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "solve": ("backprop_cli.cli.solve", "solve", "Print the worked solution of a problem file."),
    "check": ("backprop_cli.cli.check", "check",
              "Check the expected answers of problem files (CI-friendly)."),
    "quiz": ("backprop_cli.cli.quiz", "quiz", "Quiz yourself: type each value, get a verdict."),
    "new": ("backprop_cli.cli.new", "new", "Write a generated exercise, or a template."),
    "schema": ("backprop_cli.cli.schema", "schema", "Print the JSON Schema of problem files."),
    "train": ("backprop_cli.cli.train", "train",
              "Train for many steps: loss table and chart, final values."),
    "gradcheck": ("backprop_cli.cli.gradcheck", "gradcheck",
                  "Compare every gradient with a central finite difference."),
    "probe": ("backprop_cli.cli.probe", "probe",
              "Nudge parameters: predicted loss change beside the actual one."),
    "diagram": ("backprop_cli.cli.diagram", "diagram",
                "Draw the network as Mermaid or Graphviz DOT text."),
    "derive": ("backprop_cli.cli.derive", "derive",
               "Differentiate an expression, at a point, against the real change."),
    "surface": ("backprop_cli.cli.surface", "surface",
                "The loss over two parameters, with the gradient-descent path."),
    "grade": ("backprop_cli.cli.grade", "grade",
              "Grade a class's answers with error carried forward: a gradebook."),
    "vary": ("backprop_cli.cli.vary", "vary",
             "Write a variant of an exercise for each student (new numbers)."),
    "export": ("backprop_cli.cli.export", "export",
               "Export exercises for an LMS (export moodle: Moodle XML)."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module_name, attribute, _ = COMMANDS[cmd_name]
        command: click.Command = getattr(importlib.import_module(module_name), attribute)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="backprop")
def cli(**_: Any) -> None:
    """Solve and check backpropagation exercises, step by step.

    \b
    Examples:
      backprop solve problems/001b_two_layer_relu_sigmoid.yaml
      backprop solve problem.yaml --format json --keys 'grad.*'
      backprop check problems/
    """


def main() -> None:
    """The ``backprop`` program: run the command line, flush, and leave.

    Leaving with ``os._exit`` skips the interpreter's teardown, which frees every
    module and object one by one (numpy's among them): about 15 ms, a tenth of a
    short run, for nothing a finished command needs. Everything is flushed first;
    no command leaves a thread or an exit handler behind.
    """
    try:
        cli.main(prog_name="backprop")  # standalone mode: it always ends in SystemExit
        status = 0
    except SystemExit as stop:
        status = _exit_status(stop.code)
    for stream in (sys.stdout, sys.stderr):
        # a reader that left early (`backprop solve … | head`) is fine; so is a closed stream
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
    os._exit(status)


def _exit_status(code: object) -> int:
    """The status ``sys.exit(code)`` would give: None is 0, a message is printed and 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1
