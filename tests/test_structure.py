"""The shape of the house: imports run one way (engine <- intents, engine <- drivers), with no cycle.

The import graph is read from the source with ``ast``: every ``import`` counts, at module level,
inside functions and under ``if TYPE_CHECKING:`` alike, and importing ``a.b.c`` also runs the
packages ``a`` and ``a.b`` (unless they are the importer's own). An import made at run time by
``importlib`` (entry points, PEP 562 package faces) is not an edge: that is how the engine finds
drivers and plugin kinds without depending on them.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "intents", "drivers")
VENDOR = ("napalm", "netmiko", "pyroute2", "paramiko")  # hier_config is pure (text in, data out): the plan uses it
# (importer package, imported package, why it must never happen)
FORBIDDEN = [
    ("engine", "drivers", "the engine finds drivers through the intent_engine.drivers entry points"),
    ("intents", "drivers", "a kind compiles data; drivers execute it"),
]


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(root: Path, packages: tuple[str, ...] = PACKAGES) -> nx.DiGraph:
    """Module -> module it imports, for every .py file under ``root/<package>``; external imports as
    nodes marked ``external=True`` (only their top-level name)."""
    files = {module_name(root, p): p for package in packages for p in sorted((root / package).rglob("*.py"))}
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(files, external=False)

    def resolve(importer: str, target: str, line: int) -> None:
        top = target.split(".")[0]
        if top not in packages:
            graph.add_node(top, external=True)
            graph.add_edge(importer, top, line=line)
            return
        while target not in files and "." in target:  # `from a.b import name`: name is an attribute of a.b
            target = target.rsplit(".", 1)[0]
        own = {".".join(importer.split(".")[:i]) for i in range(1, importer.count(".") + 2)}
        if files[importer].name == "__init__.py":
            own.add(importer)
        parts = target.split(".")
        for depth in range(1, len(parts) + 1):
            module = ".".join(parts[:depth])
            if module in files and module not in own and module != importer:
                graph.add_edge(importer, module, line=line)

    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    resolve(name, alias.name, node.lineno)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    stem = ".".join(base + ([node.module] if node.module else []))
                else:
                    stem = node.module or ""
                if stem == "__future__":
                    continue
                for alias in node.names:
                    resolve(name, f"{stem}.{alias.name}", node.lineno)
    return graph


def cycles(graph: nx.DiGraph) -> list[list[str]]:
    internal = graph.subgraph(n for n, data in graph.nodes(data=True) if not data.get("external"))
    return sorted(sorted(component) for component in nx.strongly_connected_components(internal)
                  if len(component) > 1)


def forbidden_edges(graph: nx.DiGraph) -> list[str]:
    found = []
    for importer, imported, data in graph.edges(data=True):
        for source, target, why in FORBIDDEN:
            if importer.split(".")[0] == source and imported.split(".")[0] == target:
                found.append(f"{importer} (line {data['line']}) imports {imported}: {why}")
        if importer.split(".")[0] in ("engine", "intents") and imported in VENDOR:
            found.append(f"{importer} (line {data['line']}) imports {imported}: vendor libraries live in drivers/")
    return sorted(found)


def test_no_import_cycle_anywhere() -> None:
    found = cycles(import_graph(ROOT))
    assert found == [], "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_imports_run_one_way() -> None:
    found = forbidden_edges(import_graph(ROOT))
    assert found == [], "\n".join(found)


def test_the_graph_sees_local_and_type_checking_imports(tmp_path: Path) -> None:
    """The checker itself: a cycle closed only by a function-local import, one closed only under
    TYPE_CHECKING, a package face that imports a child, and an engine -> drivers edge are all found."""
    def write(path: str, text: str) -> None:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)

    write("engine/__init__.py", "")
    write("engine/a.py", "from engine.b import thing\n")
    write("engine/b.py", "def thing():\n    from engine import a\n")
    write("engine/c.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from intents.k import K\n")
    write("intents/__init__.py", "from intents import k\n")
    write("intents/k.py", "from engine.c import x\n")
    write("intents/m.py", "import re\n")
    write("engine/d.py", "from intents.m import y\n")  # runs intents/__init__ -> k -> engine.c -> intents.k
    write("drivers/__init__.py", "")
    write("drivers/x.py", "import engine.a\n")
    write("engine/e.py", "def late():\n    from drivers.x import go\n    import pyroute2\n")
    graph = import_graph(tmp_path)
    assert cycles(graph) == [["engine.a", "engine.b"], ["engine.c", "intents", "intents.k"]]
    assert graph.has_edge("engine.d", "intents") and graph.has_edge("engine.d", "intents.m")
    assert sorted(line.split(" (")[0] + " -> " + line.split("imports ")[1].split(":")[0]
                  for line in forbidden_edges(graph)) == ["engine.e -> drivers", "engine.e -> drivers.x",
                                                          "engine.e -> pyroute2"]


@pytest.mark.parametrize("module", ["intents", "intents.base", "intents.vlan", "intents.registry", "engine",
                                    "engine.render", "engine.build", "engine.compilation"])
def test_each_module_imports_first_in_a_fresh_interpreter(module: str) -> None:
    """A third-party kind imports ``intents.base`` first; nothing may depend on who came before."""
    result = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_package_faces_import_nothing_eagerly() -> None:
    for face in ("engine/__init__.py", "intents/__init__.py"):
        tree = ast.parse((ROOT / face).read_text(encoding="utf-8"))
        imported = [node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
                    for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
        assert set(imported) <= {"__future__", "importlib", "typing"}, (face, imported)
    code = "import sys, engine; print(sorted(m for m in sys.modules if m.startswith(('engine.', 'intents'))))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == "[]"
    code = "import engine; print(engine.compile_site.__module__, engine.DriverError.__module__)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.split() == ["engine.compiler", "engine.errors"]


def test_mypy_strict_covers_the_cli() -> None:
    """CI's `make typecheck` runs mypy with pyproject's settings: strict, over engine/ (cli.py
    included) and drivers/, with no module let off its errors and no ``type: ignore`` in the CLI."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert config["strict"] is True and {"engine", "drivers", "intents"} <= set(config["files"])
    assert "exclude" not in config
    for override in config.get("overrides", []):
        modules = override["module"] if isinstance(override["module"], list) else [override["module"]]
        assert all(m.split(".")[0] not in PACKAGES for m in modules), f"an override for our own code: {override}"
    assert "type: ignore" not in (ROOT / "engine" / "cli.py").read_text(encoding="utf-8")
