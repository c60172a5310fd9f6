"""The command line: a thin click layer over the core.

Commands live in their own modules and are imported only when run, so
``backprop --help`` and ``backprop --version`` import neither numpy nor rich.
Library exceptions become ``path:line:col: message`` on stderr and exit
status 1 here, at the edge; usage errors exit with status 2 (click's).
"""

from __future__ import annotations

import codecs
import contextlib
import errno
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
        if not any(param.name == "allow_outside" for param in command.params):
            command.params.append(click.Option(
                ["--allow-outside"], is_flag=True, expose_value=False, is_eager=True,
                callback=_allow_outside,
                help="Read data and problem files outside the problem's folder and the "
                     "tree being checked (local use, on files you trust; see "
                     "docs/security.md)."))
            command.params.append(click.Option(
                ["--allow-big"], is_flag=True, expose_value=False, is_eager=True,
                callback=_allow_big,
                help="Run past the work budget (parameters × samples × steps) for a "
                     "deliberate big run (see docs/security.md)."))
        return command

    def invoke(self, ctx: click.Context) -> Any:
        """The command, with the last-resort handling: Ctrl-C is status 130 in every
        command; an error no command foresaw is one line on stderr and status 1, never a
        traceback."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("\nbackprop: interrupted (Ctrl-C)", err=True)
            raise click.exceptions.Exit(INTERRUPTED) from None
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except OSError as error:
            if error.errno == errno.EPIPE:
                raise  # click's: a reader that left early is no error
            raise _Failure(f"backprop: {error.strerror or error}"
                           f"{_where(error)}") from None
        except MemoryError:
            raise _Failure("backprop: out of memory: the work asked for is too large for this "
                           "machine (see the limits in docs/security.md)") from None
        except RecursionError:
            raise _Failure("backprop: the input is nested too deeply to be processed") from None
        except Exception as error:  # the last resort: a bug, told in one line
            raise _Failure(f"backprop: internal error ({type(error).__name__}: "
                           f"{_one_line(str(error))}). This is a bug: please report it with the "
                           "command and the file that caused it.") from None

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
    from backprop_cli.files import trust  # lazy: `backprop --help` imports no core

    trust.reset()  # a fresh boundary for each run (tests run many in one process)


INTERRUPTED = 130  # the shell's status for a program stopped by Ctrl-C


class _Failure(click.ClickException):
    """An unexpected error, already worded: printed as it is, exit status 1."""

    exit_code = 1

    def show(self, file: object = None) -> None:
        click.echo(self.message, err=True)


def _one_line(text: str, limit: int = 200) -> str:
    from backprop_cli.render.sanitize import printable  # lazy: only on the error path

    text = printable(text)
    return text if len(text) <= limit else text[:limit] + "…"


def _where(error: OSError) -> str:
    name = error.filename
    return f": {_one_line(os.fsdecode(name))}" if isinstance(name, (str, bytes)) else ""


# What the output encoding cannot carry (a cp1252 pipe on Windows, LANG=C): marks and
# symbols in ASCII, anything else '?'; a file name that is not UTF-8 (lone surrogates) U+FFFD.
ASCII_MARKS = {"✓": "v", "✗": "x", "≈": "~", "∂": "d", "·": "*", "−": "-", "…": "...",
               "→": "->", "←": "<-", "≤": "<=", "≥": ">=", "≠": "!=", "×": "x", "δ": "delta",
               "σ": "sigma", "Σ": "sum", "√": "sqrt", "η": "eta", "ŷ": "y_hat", "²": "^2",
               "│": "|", "─": "-", "┃": "|", "━": "-", "█": "#", "▏": "|", "•": "*",
               "\ufffd": "?"}


def _encoding_fallback(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    out = []
    for char in error.object[error.start:error.end]:
        if 0xD800 <= ord(char) <= 0xDFFF:
            char = "\ufffd"
            try:
                char.encode(error.encoding)
                out.append(char)
                continue
            except UnicodeError:
                pass
        out.append(ASCII_MARKS.get(char, "?"))
    return "".join(out), error.end


codecs.register_error("backprop-fallback", _encoding_fallback)


def _safe_streams() -> None:
    """Standard output and error never fail on a character their encoding lacks."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError, OSError):
            stream.reconfigure(errors="backprop-fallback")  # type: ignore[union-attr]


def _allow_outside(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """``--allow-outside``, on every command: lift the trust boundary's tree rule."""
    if value:
        from backprop_cli.files import trust  # lazy: `backprop --help` imports no core

        trust.allow_outside()


def _allow_big(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """``--allow-big``, on every command: lift the work budget."""
    if value:
        from backprop_cli.files import trust  # lazy: `backprop --help` imports no core

        trust.allow_big()


def main() -> None:
    """The ``backprop`` program: run the command line, flush, and leave.

    Leaving with ``os._exit`` skips the interpreter's teardown, which frees every
    module and object one by one (numpy's among them): about 15 ms, a tenth of a
    short run, for nothing a finished command needs. Everything is flushed first;
    no command leaves a thread or an exit handler behind.
    """
    _safe_streams()
    try:
        cli.main(prog_name="backprop")  # standalone mode: it always ends in SystemExit
        status = 0
    except SystemExit as stop:
        status = _exit_status(stop.code)
    except KeyboardInterrupt:  # Ctrl-C outside a command (while parsing its options)
        status = INTERRUPTED
    except BaseException as error:  # the last resort: one line, never a traceback
        with contextlib.suppress(Exception):
            print(f"backprop: internal error ({type(error).__name__}). This is a bug: please "
                  "report it with the command and the file that caused it.", file=sys.stderr)
        status = 1
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        pass  # a reader that left early (`backprop solve … | head`) is fine
    except OSError as error:  # a full disk (`> /dev/full`): the output is lost, say so
        with contextlib.suppress(Exception):
            print(f"backprop: cannot write the output: {error.strerror or error}",
                  file=sys.stderr)
        status = status or 1
    except (ValueError, AttributeError):
        pass  # a closed or replaced stream
    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.stderr.flush()
    os._exit(status)


def _exit_status(code: object) -> int:
    """The status ``sys.exit(code)`` would give: None is 0, a message is printed and 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1
