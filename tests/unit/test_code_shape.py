"""The code keeps the shape CONTRIBUTING.md and docs/architecture.md promise: no import circles,
no module over 600 lines, and no module using another module's private (``_x``) names, in the
package, the tests and the benchmarks.

The import graph is read from the source (``ast``), not by importing it: an edge for every
``import`` and ``from ... import``, at the top of a module or inside a function (a lazy import
is still a dependency), except those under ``if TYPE_CHECKING:``, which never run. ``from a import
b`` is an edge to the module ``a.b`` when there is one, else to ``a``. The tests import their
helpers by bare name (pytest puts their folders on ``sys.path``): such a name is looked up in
the importing module's folder, then in each folder above it, passing over folders that are
packages (pytest puts only the first folder above a package on ``sys.path``).
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = (ROOT / "src" / "openroster", ROOT / "tests", ROOT / "bench")
MAX_LINES = 600


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[0] == "src":
        parts = parts[1:]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES: dict[str, Path] = {
    _name(p): p for folder in FOLDERS for p in sorted(folder.rglob("*.py")) if "__pycache__" not in p.parts
}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


@dataclass(frozen=True)
class _Parsed:
    """What the checks read of one module, found in one walk over its tree: the imports that run
    (those under ``if TYPE_CHECKING:`` never do), every import, and every ``name.attribute``."""

    running_imports: list[ast.Import | ast.ImportFrom]
    imports: list[ast.Import | ast.ImportFrom]
    attributes: list[ast.Attribute]


@functools.cache
def _parsed(path: Path) -> _Parsed:
    parsed = _Parsed([], [], [])
    todo: list[tuple[ast.AST, bool]] = [(ast.parse(path.read_text(encoding="utf-8"), str(path)), True)]
    while todo:
        node, runs = todo.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            parsed.imports.append(node)
            if runs:
                parsed.running_imports.append(node)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            parsed.attributes.append(node)
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            todo += [(child, False) for child in node.body]
            todo += [(child, runs) for child in node.orelse]
            continue
        todo += [(child, runs) for child in ast.iter_child_nodes(node)]
    return parsed


def _imported(path: Path, package: str) -> Iterator[tuple[str, ...]]:
    """Each import that runs, as the names it may mean, most specific first (``package``: the
    module's own)."""
    for node in _parsed(path).running_imports:
        if isinstance(node, ast.Import):
            yield from ((alias.name,) for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*anchor, base] if base else anchor)
        yield from ((f"{base}.{alias.name}", base) for alias in node.names)


@functools.cache
def _search_folders(folder: Path) -> tuple[Path, ...]:
    """``folder`` and the folders above it, inside the project, that pytest may put on ``sys.path``."""
    return tuple(
        f
        for f in (folder, *folder.parents)
        if f.is_relative_to(ROOT) and f != ROOT and not (f / "__init__.py").exists()
    )


def _resolve(names: tuple[str, ...], importer: Path) -> str | None:
    # pytest puts on sys.path the folders that are no package (no __init__.py): a bare name in a
    # package's module is found in the first folder above it that is none.
    folders = _search_folders(importer.parent)
    for name in names:
        if name in MODULES:
            return name
        for folder in folders:  # a bare name, from a folder pytest puts on sys.path
            candidate = f"{_name(folder / '__init__.py')}.{name}"
            if candidate in MODULES:
                return candidate
    return None


@functools.cache
def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = (_resolve(names, path) for names in _imported(path, package))
        graph[name] = {t for t in targets if t is not None and t != name}
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_scan_sees_the_package_the_tests_and_the_benchmarks() -> None:
    graph = _graph()
    assert {"openroster.server.app", "tests.conftest", "bench.soak"} <= graph.keys()
    assert "openroster.control" in graph["openroster.server.app"]  # from openroster import control
    assert "openroster.control.api" in graph["openroster.control"]  # a lazy import, in install()
    assert "tests.conftest" in graph["tests.e2e.test_tls"]  # from conftest import ServerProcess
    assert "tests.e2e.dingtalk_support" in graph["tests.e2e.test_tls"]


def test_the_search_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _circles(graph) == [["a", "b", "c"]]


def test_there_are_no_import_circles() -> None:
    assert _circles(_graph()) == []


def test_no_module_is_over_600_lines() -> None:
    long = {
        name: n for name, path in MODULES.items() if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def _private_uses(path: Path, package: str) -> Iterator[str]:
    """``from m import _x``, and ``m._x`` where ``m`` names a module of ours: another module's
    private name (dunder names are not private)."""
    parsed = _parsed(path)
    modules: set[str] = set()  # local names bound to one of our modules
    for node in parsed.imports:
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    yield f"from {node.module} import {alias.name}"
                base = "." * node.level + (node.module or "")
                if _resolve((f"{base}.{alias.name}".lstrip("."),), path) is not None or (
                    node.level and _resolve((f"{package}.{alias.name}",), path) is not None
                ):
                    modules.add(alias.asname or alias.name)
        else:
            for alias in node.names:
                if alias.asname and _resolve((alias.name,), path) is not None:
                    modules.add(alias.asname)
    for attr in parsed.attributes:
        name = attr.value.id if isinstance(attr.value, ast.Name) else ""
        if name in modules and attr.attr.startswith("_") and not attr.attr.startswith("__"):
            yield f"{name}.{attr.attr}"


def test_the_private_name_check_finds_both_forms(tmp_path: Path) -> None:
    source = "from store_state import _hidden\nimport openroster.config as config\nconfig._secret\n"
    probe = tmp_path / "probe.py"
    probe.write_text(source)
    assert list(_private_uses(probe, "tests.unit")) == ["from store_state import _hidden", "config._secret"]


def test_no_module_uses_another_modules_private_names() -> None:
    found = {
        name: uses
        for name, path in MODULES.items()
        if (uses := sorted(set(_private_uses(path, name.rpartition(".")[0]))))
    }
    assert found == {}
