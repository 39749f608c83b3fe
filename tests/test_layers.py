"""The package's layers, one folder (or top-level module) each: a part imports only parts of lower layers (its own
layer's peers neither), so that models, data, device policy and checkpoints never depend on training, evaluation or
the book, and training and evaluation, side by side, on neither other; and no circle of imports between modules
within a part. Read from the source's import statements, those inside functions too."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "reproduce"
#: Lowest first; a module of one row may import the rows above it. The paper's parts (its numbers, the network, the
#: data, training and evaluation) at the bottom, with the policies they run under; the analysis of what they compute
#: above the network and the data; the book's machinery (reproduce/book/) above everything but the command line.
LAYERS = (
    ("paper", "models", "data", "device", "provenance", "metrics"),
    ("checkpoints", "analysis"),
    ("training", "evaluate"),
    ("perf",),
    ("book",),
    ("cli",),
    ("__main__", "__init__"),
)
RANK = {name: rank for rank, row in enumerate(LAYERS) for name in row}


def imports(path: Path, package_root: Path = PACKAGE) -> set[str]:
    """The top-level modules of ``reproduce`` (at ``package_root``) that the file at ``path`` imports, relatively or
    absolutely."""
    parts = path.relative_to(package_root).with_suffix("").parts
    package = list(parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[:len(package) - (node.level - 1)]
            target = base + (node.module.split(".") if node.module else [])
            found |= {target[0]} if target else {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("reproduce."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {alias.name.split(".")[1] for alias in node.names if alias.name.startswith("reproduce.")}
    return found - {parts[0]}


def test_every_module_has_a_layer():
    modules = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in PACKAGE.rglob("*.py")}
    assert modules == set(RANK)


def test_no_module_imports_its_own_layer_or_a_higher_one():
    wrong = sorted((str(path.relative_to(PACKAGE)), target) for path in PACKAGE.rglob("*.py")
                   for target in imports(path)
                   if RANK[target] >= RANK[path.relative_to(PACKAGE).parts[0].removesuffix(".py")])
    assert wrong == []


def test_the_check_reads_relative_absolute_and_function_level_imports(tmp_path):
    source = ("from .config import TrainConfig\nfrom ..data import real\nfrom .. import costs\n"
              "def f():\n    from ..evaluate import crops\n    import reproduce.book\n")
    path = tmp_path / "reproduce" / "training" / "loop.py"
    path.parent.mkdir(parents=True)
    path.write_text(source)
    assert imports(path, tmp_path / "reproduce") == {"data", "costs", "evaluate", "book"}


def module_graph(package_root: Path = PACKAGE) -> dict[str, set[str]]:
    """Every module of the package (dotted, a package by its name) -> the package's modules it imports: at the top
    or inside functions, under ``TYPE_CHECKING`` too, ``from .x import y`` counted as the module ``x.y`` where that
    is one, else as ``x``."""
    def name(path: Path) -> str:
        parts = list(path.relative_to(package_root.parent).with_suffix("").parts)
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    modules = {name(path): path for path in package_root.rglob("*.py")}
    graph = {}
    for module, path in modules.items():
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package[:len(package) - (node.level - 1)] if node.level else []
                source = ".".join(base + (node.module.split(".") if node.module else []))
                targets |= {f"{source}.{a.name}" if f"{source}.{a.name}" in modules else source for a in node.names}
            elif isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
        graph[module] = {t for t in targets if t in modules} - {module}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that reach one another through their imports (strongly connected, more than one)."""
    def reach(start):
        seen, todo = set(), [start]
        while todo:
            for target in graph[todo.pop()] - seen:
                seen.add(target)
                todo.append(target)
        return seen

    reached = {module: reach(module) for module in graph}
    groups = {frozenset({m} | {o for o in reached[m] if m in reached[o]}) for m in graph if m in reached[m]}
    return sorted(sorted(group) for group in groups)


def test_no_circle_of_imports_between_the_package_s_modules():
    assert circles(module_graph()) == []


def test_a_circle_through_a_function_level_import_is_found(tmp_path):
    package = tmp_path / "reproduce" / "training"
    package.mkdir(parents=True)
    (tmp_path / "reproduce" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("from .config import TrainConfig\n")
    (package / "config.py").write_text("from .schedule import GAMMA\n")
    (package / "schedule.py").write_text("GAMMA = 0.96\ndef f():\n    from .config import CHOICES\n")
    graph = module_graph(tmp_path / "reproduce")
    assert graph["reproduce.training"] == {"reproduce.training.config"}
    assert circles(graph) == [["reproduce.training.config", "reproduce.training.schedule"]]
