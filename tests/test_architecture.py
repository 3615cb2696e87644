"""The layout rules of docs/architecture.md, checked on the source.

- No import circle between modules at import time (imports at module level).
- No module imports another module's underscore name, except from the shared-helper
  modules: modules whose own name starts with ``_`` (``behavior._pose``,
  ``behavior._registry``, ``behavior._json``, ``behavior.syllables._common`` ...).
- No module reaches into another module's private attribute (``kinematics._foo``).
- Every room named in docs/architecture.md exists, and every module is named there.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "behavior"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def _is_shared_helper(module: str) -> bool:
    return module.rpartition(".")[2].startswith("_") and not module.endswith("__init__")


def _imports(module: str, path: Path, *, top_level_only: bool):
    """(line, imported module, imported name or None) for each import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    if top_level_only:  # imports inside `if TYPE_CHECKING:` do not run
        nodes = [n for n in nodes if not isinstance(n, ast.If)] + [
            child
            for n in nodes
            if isinstance(n, ast.If) and "TYPE_CHECKING" not in ast.unparse(n.test)
            for child in n.body
        ]
    known = _modules()
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("behavior"):
                    yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, path, node)
            if not base.startswith("behavior"):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in known:  # `from behavior import events` imports a module
                    yield node.lineno, sub, None
                else:
                    yield node.lineno, base, alias.name


def test_no_underscore_name_crosses_modules() -> None:
    found = []
    for module, path in _modules().items():
        for line, source, name in _imports(module, path, top_level_only=False):
            if source == module or name is None or _is_shared_helper(source):
                continue
            if name.startswith("_") and not name.startswith("__"):
                found.append(f"{path.relative_to(ROOT)}:{line}: {source}.{name}")
    assert not found, "underscore names imported across modules:\n" + "\n".join(found)


_ATTRIBUTE = re.compile(r"\b([a-z][a-z0-9_]*)\._([a-z][A-Za-z0-9_]*)\b")


def test_no_private_attribute_of_another_module() -> None:
    modules = _modules()
    found = []
    for module, path in modules.items():
        for _line, source, name in _imports(module, path, top_level_only=False):
            if name is not None:
                continue
            alias = source.rpartition(".")[2]
            if source == module or _is_shared_helper(source):
                continue
            pattern = re.compile(rf"(?<![\w.]){re.escape(alias)}\._[a-z]\w*")
            for k, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = text.lstrip()
                if code.startswith(("#", "from ", "import ")):
                    continue
                if pattern.search(code):
                    found.append(f"{path.relative_to(ROOT)}:{k}: {text.strip()}")
    assert not found, "private attributes of other modules used:\n" + "\n".join(found)


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        for _, source, _name in _imports(module, path, top_level_only=True):
            target = source
            while target and target not in modules:
                target = target.rpartition(".")[0]
            # a package's __init__ importing its own submodules, or a submodule its
            # package, is how re-exporting works: not a circle between rooms
            if not target or target == module:
                continue
            if target.startswith(module + ".") or module.startswith(target + "."):
                continue
            graph[module].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
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
                out.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_circle() -> None:
    cycles = _cycles(_graph())
    assert not cycles, f"modules that import each other at import time: {cycles}"


def test_cycle_finder_finds_a_circle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_architecture_doc_names_every_module() -> None:
    doc = ROOT / "docs" / "architecture.md"
    if not doc.is_file():
        pytest.fail("docs/architecture.md is missing")
    text = doc.read_text(encoding="utf-8")
    missing = []
    for path in _modules().values():
        relative = path.relative_to(ROOT).as_posix()
        short = relative.removeprefix("behavior/")
        if path.name == "__init__.py":
            short = short.removesuffix("__init__.py")
        if short and short not in text:
            missing.append(relative)
    assert not missing, f"modules that docs/architecture.md does not mention: {missing}"
