"""The house's shape, held by tests: no import cycle, and every import inside a function
is a deliberate lazy one that says why (docs/architecture.md).

The layer contracts (stage order, click only in cli, rich only in render, no numpy in
render) are import-linter contracts in pyproject.toml, run by `make test` (lint-imports).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "backprop_cli"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _imports(path: Path, modules: dict[str, Path]) -> list[tuple[ast.stmt, str, bool]]:
    """(statement, imported project module, inside a function) for every import of a file,
    TYPE_CHECKING blocks included."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[ast.stmt, str, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            targets: list[str] = []
            if isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*anchor, *([child.module] if child.module else [])])
                targets = [base, *(f"{base}.{alias.name}" for alias in child.names)]
            elif isinstance(child, ast.Import):
                targets = [alias.name for alias in child.names]
            for target in targets:
                if target in modules and target != name:
                    found.append((child, target, inside))
            visit(child, inside)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


def test_the_import_graph_has_no_cycle() -> None:
    modules = _modules()
    graph = {name: sorted({target for _, target, _ in _imports(path, modules)})
             for name, path in modules.items()}
    # a package's __init__ importing its own modules is how a package shows its face,
    # not a cycle: edges from a module to a package that contains it are left out
    graph = {name: [t for t in targets if not name.startswith(t + ".")]
             for name, targets in graph.items()}
    cycles = _cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, []):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_imports_inside_functions_are_deliberate() -> None:
    """Outside cli/ (whose commands load their modules lazily, so that `backprop --help`
    stays fast), an import inside a function is allowed only as a deliberate lazy import:
    a `# lazy: why` comment in the comment block above it (or above the run of imports it
    starts),
    or at the end of its line (start-up time, an optional extra, the error path)."""
    undeclared = []
    for name, path in sorted(_modules().items()):
        if name.startswith("backprop_cli.cli"):
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        for group in _function_import_runs(ast.parse("\n".join(lines))):
            first = group[0].lineno
            comment = []  # the comment block right above the run
            row = first - 2
            while row >= 0 and lines[row].strip().startswith("#"):
                comment.append(lines[row].strip())
                row -= 1
            if not (any(c.startswith("# lazy:") for c in comment)
                    or "# lazy:" in lines[first - 1]):
                undeclared += [f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: "
                               f"{lines[node.lineno - 1].strip()}" for node in group]
    assert not undeclared, "imports inside functions without a '# lazy:' reason:\n" + "\n".join(
        undeclared)


def _function_import_runs(tree: ast.Module) -> list[list[ast.stmt]]:
    """Runs of consecutive import statements inside functions."""
    runs: list[list[ast.stmt]] = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            for body in (getattr(node, field, None) for field in ("body", "orelse",
                                                                  "finalbody", "handlers")):
                if not isinstance(body, list):
                    continue
                run: list[ast.stmt] = []
                for statement in body:
                    if isinstance(statement, ast.Import | ast.ImportFrom):
                        run.append(statement)
                    elif run:
                        runs.append(run)
                        run = []
                if run:
                    runs.append(run)
    # a nested function is walked from its parent too: each run once
    unique = {id(run[0]): run for run in runs}
    return list(unique.values())


def test_check_and_solve_load_no_dataclasses() -> None:
    """Records, not dataclasses, on the path of `check` and `solve` (the rule in
    docs/architecture.md: a dataclass costs start-up time per class and per instance)."""
    code = ("import sys\n"
            "import backprop_cli.app.batch_check, backprop_cli.kinds.network\n"
            "import backprop_cli.render.check_reports, backprop_cli.render.document\n"
            "print('dataclasses' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"
