"""--plot: figures with matplotlib when it is installed, a clean error when it is not."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from backprop_cli.cli import cli
from tests.conftest import PROBLEMS

CHAIN = str(PROBLEMS / "003d_chain_trained_to_convergence.yaml")
MISSING = ("--plot needs matplotlib: from the repository root, "
           ".venv/bin/pip install -e '.[plot]'\n")


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize("command", [["train", CHAIN], ["surface", CHAIN, "w1", "w2"]])
def test_without_matplotlib_a_clean_error_before_any_work(
        command: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` fails
    target = tmp_path / "figure.png"
    result = run(*command, "--plot", str(target))
    assert result.exit_code == 1
    assert result.output == MISSING
    assert not target.exists()


def test_matplotlib_is_not_imported_without_plot() -> None:
    import subprocess

    code = ("import sys; from backprop_cli.cli import cli\n"
            f"try: cli(['train', {CHAIN!r}, '--steps', '3'])\n"
            "except SystemExit: pass\n"
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_train_plot_png_and_svg(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    png, svg = tmp_path / "loss.png", tmp_path / "loss.svg"
    result = run("train", CHAIN, "--plot", str(png))
    assert result.exit_code == 0, result.output
    assert png.read_bytes().startswith(b"\x89PNG")
    assert run("train", CHAIN, "--plot", str(svg)).exit_code == 0
    assert "<svg" in svg.read_text()


@pytest.mark.parametrize("kind", ["contour", "surface"])
def test_surface_plot(kind: str, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "surface.png"
    result = run("surface", CHAIN, "w1", "w2", "--plot", str(png), "--kind", kind)
    assert result.exit_code == 0, result.output
    assert png.read_bytes().startswith(b"\x89PNG")
    assert "end    w1 = 3.391, w2 = 2.949" in result.output


def test_unwritable_plot_is_a_clean_error(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    result = run("train", CHAIN, "--plot", str(tmp_path / "no" / "such" / "dir.png"))
    assert result.exit_code == 1
    assert "cannot write" in result.output
