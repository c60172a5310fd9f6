"""Help and documentation: every command's --help has an example, shell completion works,
and the outputs pasted into docs/*.md are what the commands print today."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from backprop_cli.cli import COMMANDS, cli
from tests.conftest import ROOT


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_help_has_an_example(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    heads = [i for i, line in enumerate(lines) if line.strip() in ("Example:", "Examples:")]
    assert heads, f"`backprop {name} --help` has no Example section"
    example = lines[heads[0] + 1].strip()
    assert example.startswith(f"backprop {name}"), example


def test_group_help_lists_every_command_and_an_example() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    listed = {line.split()[0] for line in result.output.split("Commands:")[1].splitlines()
              if line.startswith("  ") and line.strip()}
    assert listed == set(COMMANDS)
    assert "Examples:" in result.output


def completions(args: list[str], incomplete: str) -> list[str]:
    from click.shell_completion import ShellComplete

    complete = ShellComplete(cli, {}, "backprop", "_BACKPROP_COMPLETE")
    return [item.value for item in complete.get_completions(args, incomplete)]


def test_shell_completion_of_commands_and_values() -> None:
    from tests.conftest import PROBLEMS

    assert completions([], "q") == ["quiz"]
    assert completions(["new", "--loss"], "b") == ["binary_cross_entropy"]
    assert completions(["new", "--activations"], "relu,si") == ["relu,sigmoid", "relu,silu"]
    seed = str(PROBLEMS / "001b_two_layer_relu_sigmoid.yaml")
    assert completions(["quiz", seed, "--keys"], "grad.v") == ["grad.v1", "grad.v2"]
    assert completions(["quiz", "missing.yaml", "--keys"], "grad") == []


# A pasted output: the command in a comment, then a console block that shows it run.
RUN_BLOCK = re.compile(r"<!-- run: (?P<command>.+?) -->\n```console\n(?P<body>.*?)```\n", re.S)
DOCS = sorted((ROOT / "docs").glob("*.md"))


def run_in_shell(command: str) -> str:
    """``command`` as a reader runs it from the repository root, without colour."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("GITHUB_")}  # no CI annotations in the docs
    env.update(NO_COLOR="1", COLUMNS="100", TERM="dumb")
    # `backprop` is this interpreter's, whether or not its scripts are on PATH
    script = f'backprop() {{ "{sys.executable}" -m backprop_cli "$@"; }}\n{command}'
    result = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300, check=False)
    return result.stdout + result.stderr


def refreshed(text: str) -> str:
    def paste(match: re.Match[str]) -> str:
        command = match.group("command")
        return f"<!-- run: {command} -->\n```console\n$ {command}\n{run_in_shell(command)}```\n"

    return RUN_BLOCK.sub(paste, text)


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_docs_show_real_output(path: Path, update_golden: bool) -> None:
    text = path.read_text(encoding="utf-8")
    fresh = refreshed(text)
    if update_golden:
        path.write_text(fresh, encoding="utf-8")
    assert fresh == text, (f"{path.name} shows outdated output: run "
                           "`pytest tests/cli/test_help.py --update-golden` and review the diff")


def test_the_tutorial_pastes_every_command_it_discusses() -> None:
    commands = RUN_BLOCK.findall((ROOT / "docs" / "tutorial.md").read_text(encoding="utf-8"))
    used = {command.split("| ")[-1].split()[1] for command, _ in commands}
    assert used == {"quiz", "solve", "check", "new"}


def test_shell_completion_of_a_layered_or_derivative_files_keys() -> None:
    # the kind's own questions (the quiz material's), not only a dense network's
    from tests.conftest import PROBLEMS

    conv = str(PROBLEMS / "030_conv_pool_dropout.yaml")
    assert completions(["quiz", conv, "--keys"], "grad.K") == [
        f"grad.K[1,1,{i},{j}]" for i in (1, 2) for j in (1, 2)]
    assert completions(["quiz", conv, "--keys"], "a.D[1,1") == ["a.D[1,1,1]", "a.D[1,1,2]"]
    rnn = str(PROBLEMS / "031_rnn_bptt.yaml")
    assert completions(["quiz", rnn, "--keys"], "grad.z.h") == [
        "grad.z.h#3", "grad.z.h#2", "grad.z.h#1"]  # BPTT's order: from the last step back
    assert completions(["quiz", rnn, "--keys"], "input") == []  # given, not asked
    partial = str(PROBLEMS / "003f_partial_derivatives.yaml")
    assert completions(["quiz", partial, "--keys"], "derivative.") == [
        "derivative.x", "derivative.y"]
