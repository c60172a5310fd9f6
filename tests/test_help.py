"""Every command's --help shows at least one example, and the group lists every command."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from backprop_cli.cli import COMMANDS, cli


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
