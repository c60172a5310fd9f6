"""The Python API (backprop_cli.api, issue 20): the same documents as the command line,
errors with their positions, notebook and rich display, and a light `import backprop_cli`."""

from __future__ import annotations

import doctest
import io
import json
import os
import subprocess
import sys
import tomllib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

import pytest
import rich.console
import rich.jupyter
from click.testing import CliRunner
from rich.console import Console

import backprop_cli as bp
from backprop_cli import errors
from backprop_cli.api import _with_steps
from backprop_cli.cli import cli
from tests.conftest import PROBLEMS, ROOT

ALL_PROBLEMS = sorted(PROBLEMS.glob("*.yaml"))
DERIVATIVES = {"003e_derivative_polynomial.yaml", "003f_partial_derivatives.yaml",
               "003g_chain_rule.yaml"}
# layered networks (issue 19): every format, as a dense network
LAYERED = {"030_conv_pool_dropout.yaml", "031_rnn_bptt.yaml",
           "032_conv1d_stride_padding_avgpool.yaml"}
SEED = str(PROBLEMS / "001b_two_layer_relu_sigmoid.yaml")
LONG = str(PROBLEMS / "003d_chain_trained_to_convergence.yaml")  # many steps
PUBLIC = {"CheckReport", "FileCheck", "GradeReport", "NumericError", "ProblemError", "Solution",
          "check", "grade", "load", "loads", "solve"}
BAD = """title: bad
network:
  inputs: [x]
  layers:
    - {units: [y], activation: sigmoud, weights: [[0.5]]}
loss: half_squared_error
learning_rate: 0.1
input: [2]
target: 1
"""


def cli_out(*args: str, code: int = 0, err: bool = False) -> str:
    """What `backprop ARGS` writes on stdout (stderr with ``err``), exiting with ``code``."""
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == code, result.output
    return result.stderr if err else result.stdout


def run_python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


# ------------------------------------------------------------------ the package


def test_all_lists_exactly_the_public_names() -> None:
    assert set(bp.__all__) == PUBLIC
    assert len(bp.__all__) == len(PUBLIC)
    for name in bp.__all__:
        assert getattr(bp, name) is getattr(bp.api, name)
    assert set(dir(bp)) >= PUBLIC
    assert "grade" in bp.__all__  # grading (issue 15)
    with pytest.raises(AttributeError, match="no attribute 'gradebook'"):
        bp.gradebook  # noqa: B018
    assert bp.ProblemError is errors.ProblemError


def test_import_loads_neither_numpy_nor_rich_nor_the_api() -> None:
    out = run_python(
        "import sys, backprop_cli\n"
        "print(sorted(m for m in ('numpy', 'rich', 'click', 'yaml', 'backprop_cli.api')"
        " if m in sys.modules))\n"
        "backprop_cli.ProblemError, backprop_cli.solve\n"  # the API module itself is light
        "print('numpy' in sys.modules, 'rich' in sys.modules)\n")
    assert out == "[]\nFalse False\n"


def test_numpy_on_the_first_solve_rich_only_to_render_click_never() -> None:
    out = run_python(
        "import sys, backprop_cli as bp\n"
        f"s = bp.solve({SEED!r})\n"
        "s.values, s.to_json(), s.to_text(), s.to_markdown()\n"
        "print('numpy' in sys.modules, 'rich' in sys.modules, 'click' in sys.modules)\n"
        "s.to_html(), s.to_latex()\n"  # MathML and LaTeX pages: no rich either
        "print('rich' in sys.modules, 'click' in sys.modules)\n"
        "s.to_svg()\n"
        "print('rich' in sys.modules, 'click' in sys.modules)\n")
    assert out == "True False False\nFalse False\nTrue False\n"


def test_py_typed_ships() -> None:
    assert (ROOT / "backprop_cli" / "py.typed").is_file()
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "py.typed" in settings["tool"]["setuptools"]["package-data"]["backprop_cli"]


def test_every_public_name_has_a_docstring_with_an_example() -> None:
    for name in bp.__all__:
        doc = getattr(bp, name).__doc__ or ""
        assert ">>> import backprop_cli as bp" in doc or ">>> import json, backprop_cli as bp" \
            in doc, name


def test_the_docstring_examples_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # they name files under problems/
    failures, tried = doctest.testmod(bp.api, optionflags=doctest.ELLIPSIS)
    assert tried >= 20
    assert failures == 0
    assert doctest.testmod(errors) == (0, 5)


# ------------------------------------------------------------------ solve = the CLI


@pytest.mark.parametrize("path", ALL_PROBLEMS, ids=lambda p: p.name)
def test_values_and_json_equal_solve_format_json(path: Path) -> None:
    out = cli_out("solve", str(path), "--format", "json")
    solution = bp.solve(path)
    assert solution.to_json() == out
    values = json.loads(out)["values"]
    assert dict(solution.values) == values
    assert list(solution.values) == list(values)  # computation order
    assert bp.solve(bp.load(path)).to_json() == out  # a loaded problem, the same document


@pytest.mark.parametrize("path", ALL_PROBLEMS, ids=lambda p: p.name)
def test_each_format_equals_the_cli(path: Path) -> None:
    solution = bp.solve(str(path))
    assert solution.to_text() == cli_out("solve", str(path), "--format", "plain")
    assert solution.to_markdown() == cli_out("solve", str(path), "--format", "markdown")
    assert solution.to_html() == cli_out("solve", str(path), "--format", "html")
    if path.name in LAYERED:  # the document model, as a dense network's (issue 19)
        assert solution.to_svg() == cli_out("solve", str(path), "--format", "svg")
        assert solution.to_latex(handout=True) == cli_out("solve", str(path), "--format",
                                                          "latex", "--handout")
    if path.name in DERIVATIVES:  # lines of text: no svg (nor latex)
        message = cli_out("solve", str(path), "--format", "svg", code=2,
                          err=True).splitlines()[-1]
        with pytest.raises(ValueError) as error:
            solution.to_svg()
        assert message.endswith(str(error.value))
        assert "<pre" in (solution._repr_html_() or "")


def test_svg_equals_the_cli() -> None:
    assert bp.solve(SEED).to_svg(width=80) == cli_out("solve", SEED, "--format", "svg",
                                                      "--width", "80")


def test_options_pass_through_as_the_cli_options() -> None:
    solution = bp.solve(LONG)
    for fmt, method in (("plain", solution.to_text), ("html", solution.to_html)):
        assert method(digits=6, ascii=True, step=3, width=72) == cli_out(
            "solve", LONG, "--format", fmt, "--digits", "6", "--ascii", "--step", "3",
            "--width", "72")
    assert solution.to_markdown(digits=3, step=2) == cli_out(
        "solve", LONG, "--format", "markdown", "--digits", "3", "--step", "2")
    derivative = bp.solve(PROBLEMS / "003g_chain_rule.yaml")
    assert derivative.to_text(digits=9) == cli_out(
        "solve", str(PROBLEMS / "003g_chain_rule.yaml"), "--format", "plain", "--digits", "9")


def test_steps_and_keys_as_the_cli() -> None:
    expected = cli_out("solve", LONG, "--format", "json", "--steps", "12", "--keys", "grad.*",
                       "--keys", "final.loss")
    by_path = bp.solve(LONG, steps=12, keys=["grad.*", "final.loss"])
    assert by_path.to_json() == expected
    loaded = bp.load(LONG)
    by_problem = bp.solve(loaded, steps=12, keys=("grad.*", "final.loss"))
    assert by_problem.to_json() == expected
    assert bp.solve(loaded).to_json() == cli_out("solve", LONG, "--format", "json")  # unchanged
    assert list(bp.solve(SEED, keys="final.loss").values) == ["final.loss"]  # one glob
    assert bp.solve(loaded, steps=9).to_text(step=9) == cli_out(
        "solve", LONG, "--steps", "9", "--step", "9", "--format", "plain")
    # the file's expected names step 8: with 3 steps it is skipped (issue 17), not an error
    from backprop_cli.kinds.exercise import load_problem

    skipped = _with_steps(loaded, 3).skipped_expected  # type: ignore[union-attr]
    assert skipped and load_problem(LONG, steps=3).skipped_expected == skipped
    assert bp.solve(loaded, steps=3).to_json() == bp.solve(LONG, steps=3).to_json()
    derivative = PROBLEMS / "003g_chain_rule.yaml"
    assert bp.solve(derivative, keys=["derivative.*"]).to_json() == cli_out(
        "solve", str(derivative), "--format", "json", "--keys", "derivative.*")


def test_values_are_read_only() -> None:
    values: Any = bp.solve(SEED).values
    with pytest.raises(TypeError):
        values["loss"] = 0.0


def test_handout_options_and_bad_options_are_value_errors() -> None:
    solution = bp.solve(SEED)
    assert "published" in solution.to_text() and "published" not in solution.to_text(
        handout=True)
    assert "2. What to compute" in solution.to_markdown(statement=True)
    assert "0.50 + 1.20 + 0.10 = 1.80" in solution.to_text(decimals=2)
    assert solution.to_latex().startswith("\\documentclass")
    with pytest.raises(ValueError, match="decimals= must be an integer between 0 and 12"):
        solution.to_text(decimals=13)
    with pytest.raises(ValueError, match="--handout and --statement are two documents"):
        solution.to_html(handout=True, statement=True)
    with pytest.raises(ValueError, match="digits= must be an integer between 1 and 17"):
        solution.to_text(digits=0)
    with pytest.raises(ValueError, match="width= must be an integer at least 40"):
        solution.to_html(width=39)
    with pytest.raises(ValueError, match=r"^step=2: the problem runs 1 step; K must be at "
                                         r"most 1"):
        solution.to_text(step=2)
    with pytest.raises(ValueError, match="steps must be an integer between 0 and"):
        bp.solve(bp.load(SEED), steps=-1)
    with pytest.raises(bp.ProblemError, match="--steps must be between 0 and"):
        bp.solve(SEED, steps=-1)  # the loader's own check, as `solve --steps -1`
    with pytest.raises(TypeError, match=r"^solve\(\) takes a problem from bp.load\(\)"):
        bp.solve({"network": {}})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="keys must be strings"):
        bp.solve(SEED, keys=[3])  # type: ignore[list-item]


# ------------------------------------------------------------------ errors


def test_load_errors_carry_their_position_as_the_cli_prints_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD, encoding="utf-8")
    with pytest.raises(bp.ProblemError) as caught:
        bp.load(bad)
    error = caught.value
    assert (error.path, error.line, error.column) == (str(bad), 5, 32)
    assert error.message.startswith("unknown activation 'sigmoud' (did you mean 'sigmoid'")
    assert f"{error}\n" == cli_out("solve", str(bad), code=1, err=True)
    with pytest.raises(bp.ProblemError) as caught:
        bp.solve(bad)
    assert str(caught.value) == str(error)
    with pytest.raises(bp.ProblemError) as caught:
        bp.loads(BAD)
    assert (caught.value.path, caught.value.line, caught.value.column) == ("<input>", 5, 32)
    with pytest.raises(bp.ProblemError) as caught:
        bp.loads(BAD, path="week1.yaml")
    assert str(caught.value).startswith("week1.yaml:5:32: unknown activation")
    with pytest.raises(bp.ProblemError) as caught:
        bp.load(tmp_path / "missing.yaml")
    assert str(caught.value) == cli_out("solve", str(tmp_path / "missing.yaml"), code=1,
                                        err=True).strip()


def test_loads_titles_as_load_does(tmp_path: Path) -> None:
    text = BAD.replace("title: bad\n", "").replace("sigmoud", "sigmoid")
    (tmp_path / "week1.yaml").write_text(text, encoding="utf-8")
    assert bp.load(tmp_path / "week1.yaml").title == "week1"
    assert bp.loads(text, path="week1.yaml").title == "week1"
    assert bp.loads(text).title == "problem"


def test_loads_reads_any_kind() -> None:
    text = (PROBLEMS / "003g_chain_rule.yaml").read_text(encoding="utf-8")
    solution = bp.solve(bp.loads(text, path="chain.yaml"))
    assert json.loads(solution.to_json())["file"] == "chain.yaml"
    assert solution.values == bp.solve(PROBLEMS / "003g_chain_rule.yaml").values


# ------------------------------------------------------------------ display


class _Tags(HTMLParser):
    """Checks that every element opened is closed, in order."""

    VOID: ClassVar[set[str]] = {"br", "meta", "img", "hr", "input", "link"}

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.seen: set[str] = set()

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.seen.add(tag)
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, (tag, self.open)
        self.open.pop()


def test_notebook_reprs() -> None:
    solution = bp.solve(SEED)
    markdown = solution._repr_markdown_()
    assert markdown == solution.to_markdown()
    assert markdown.startswith("# ") and "$$" in markdown  # display math for the notebook
    assert markdown.count("$$") % 2 == 0
    fragment = solution._repr_html_()
    assert fragment is not None
    parser = _Tags()
    parser.feed(fragment)
    parser.close()
    assert parser.open == []
    assert not parser.seen & {"html", "head", "body", "style"}  # nothing leaks into the page
    assert fragment.strip() in solution.to_html()
    derivative = bp.solve(PROBLEMS / "003e_derivative_polynomial.yaml")
    assert derivative._repr_markdown_().startswith("# ")
    report = bp.check(PROBLEMS)
    assert report._repr_markdown_().startswith("## backprop check")


def test_rendering_in_a_notebook_writes_nothing_to_the_notebook(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """In Jupyter rich displays what a console prints; the documents must not be shown
    as a side effect of being made (and must still be returned)."""
    solution = bp.solve(SEED)
    html, svg = solution.to_html(), solution.to_svg()
    shown: list[object] = []
    monkeypatch.setattr(rich.console, "_is_jupyter", lambda: True)
    monkeypatch.setattr(rich.jupyter, "display", lambda *args: shown.append(args))
    again = bp.solve(SEED)
    assert (again.to_html(), again.to_svg(), again._repr_html_()) == (
        html, svg, solution._repr_html_())
    assert shown == []


def test_rich_renders_what_solve_format_rich_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    # relative paths: a check report names the file as given, and an absolute path would
    # make the wrapping depend on where the repository is cloned
    monkeypatch.chdir(PROBLEMS.parent)
    console = Console(file=io.StringIO(), force_terminal=True, width=90, highlight=False,
                      emoji=False)
    console.print(bp.solve(SEED))
    rendered = console.file.getvalue()  # type: ignore[attr-defined]
    assert rendered == cli_out("solve", SEED, "--format", "rich", "--width", "90")
    plain = Console(file=io.StringIO(), width=90)
    plain.print(bp.solve("problems/003g_chain_rule.yaml"))
    plain.print(bp.check("problems/003a_chain_x_w1_w2.yaml"))
    text = plain.file.getvalue()  # type: ignore[attr-defined]
    assert text == (bp.solve("problems/003g_chain_rule.yaml").to_text()
                    + bp.check("problems/003a_chain_x_w1_w2.yaml").to_text())


def test_plain_text_otherwise() -> None:
    class Printer:
        def __init__(self) -> None:
            self.written = ""

        def text(self, text: str) -> None:
            self.written += text

    solution = bp.solve(SEED)
    printer = Printer()
    solution._repr_pretty_(printer, False)
    assert printer.written + "\n" == str(solution) == solution.to_text()
    assert repr(solution).startswith("<Solution of 'Seed 001, exercise 2")
    report = bp.check(PROBLEMS / "003a_chain_x_w1_w2.yaml")
    assert str(report) == report.to_text()
    assert repr(report) == "<CheckReport of 1 files: 1 passed>"


# ------------------------------------------------------------------ check


def test_check_equals_the_cli_reports() -> None:
    report = bp.check(str(PROBLEMS))
    assert report.passed
    assert report.to_json() == cli_out("check", str(PROBLEMS), "--format", "json")
    assert report.to_text() == cli_out("check", str(PROBLEMS))
    assert report.to_text(verbose=True, show_errata=True) == cli_out(
        "check", str(PROBLEMS), "--verbose", "--show-errata")
    files = json.loads(report.to_json())["files"]
    assert [checked.file for checked in report.files] == [f["file"] for f in files]
    assert [checked.status for checked in report.files] == [f["status"] for f in files]
    assert [[r.key for r in checked.results] for checked in report.files] == [
        [r["key"] for r in f["results"]] for f in files]


def test_check_paths_globs_lists_and_failures(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    good = (PROBLEMS / "003a_chain_x_w1_w2.yaml").read_text(encoding="utf-8")
    (tmp_path / "a.yaml").write_text(good, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(good.replace("learning_rate:", "learning_rate: fast\n#"),
                                     encoding="utf-8")
    (tmp_path / "c.yaml").write_text(BAD, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    report = bp.check(["a.yaml", Path("b.yaml"), "c.*"])
    assert not report.passed
    assert [(c.file, c.status) for c in report.files] == [
        ("a.yaml", "passed"), ("b.yaml", "invalid"), ("c.yaml", "invalid")]
    assert report.files[2].errors[0].line == 5
    assert report.to_text() == cli_out("check", "a.yaml", "b.yaml", "c.*", code=1)
    assert [c.file for c in bp.check(".").files] == ["./a.yaml", "./b.yaml", "./c.yaml"]
    with pytest.raises(ValueError, match=r"^nothing\.yaml: no such file or folder$"):
        bp.check("nothing.yaml")
    with pytest.raises(ValueError, match="no paths"):
        bp.check([])


# ------------------------------------------------------------------ docs/examples

EXAMPLES = ROOT / "docs" / "examples"


def test_the_walkthrough_script_runs() -> None:
    result = subprocess.run([sys.executable, str(EXAMPLES / "walkthrough.py")], cwd=ROOT,
                            capture_output=True, text=True, timeout=300, check=False,
                            env={**os.environ, "NO_COLOR": "1"})
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "all checked: True" in result.stdout


def notebook_from_script(text: str) -> dict[str, Any]:
    """docs/examples/walkthrough.ipynb: the `# %%` cells of the script, unexecuted."""
    cells: list[dict[str, Any]] = [{"cell_type": "markdown", "metadata": {}, "source": [
        "<!-- The cells of docs/examples/walkthrough.py (tests/test_api.py keeps them the "
        "same). Run from the repository root. -->"]}]
    for block in text.split("# %%")[1:]:
        head, _, body = block.partition("\n")
        body = body.strip()
        if "[markdown]" in head:
            lines = [line[2:] if line.startswith("# ") else line.lstrip("#")
                     for line in body.splitlines()]
            cells.append({"cell_type": "markdown", "metadata": {},
                          "source": "\n".join(lines).splitlines(True)})
        else:
            cells.append({"cell_type": "code", "execution_count": None, "metadata": {},
                          "outputs": [], "source": body.splitlines(True)})
    for index, cell in enumerate(cells):
        cell["id"] = f"cell-{index}"
    kernel = {"display_name": "Python 3", "language": "python", "name": "python3"}
    return {"cells": cells, "metadata": {"kernelspec": kernel, "language_info": {
        "name": "python"}}, "nbformat": 4, "nbformat_minor": 5}


def test_the_notebook_is_the_script(update_golden: bool) -> None:
    path = EXAMPLES / "walkthrough.ipynb"
    fresh = json.dumps(notebook_from_script(
        (EXAMPLES / "walkthrough.py").read_text(encoding="utf-8")), indent=1,
        ensure_ascii=False) + "\n"
    if update_golden:
        path.write_text(fresh, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == fresh, (
        "walkthrough.ipynb differs from walkthrough.py: run `pytest tests/test_api.py "
        "--update-golden`")


def test_the_notebook_executes() -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(str(EXAMPLES / "walkthrough.ipynb"), as_version=4)
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("text/markdown" in o.get("data", {}) for o in outputs)


def test_the_examples_of_docs_api_md_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    failures, tried = doctest.testfile(str(ROOT / "docs" / "api.md"), module_relative=False,
                                       optionflags=doctest.ELLIPSIS)
    assert tried >= 15
    assert failures == 0
