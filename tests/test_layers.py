"""The package's layers: a module imports only modules of lower layers (its own layer's peers neither), so that
models, data, device policy and checkpoints never depend on training, evaluation or the book, and training and
evaluation, side by side, on neither other. Read from the source's import statements, those inside functions too."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "reproduce"
#: Lowest first; a module of one row may import the rows above it.
LAYERS = (
    ("paper", "models", "data", "device", "provenance", "metrics", "findings", "notebooks", "baselines"),
    ("costs", "receptive", "checkpoints", "attribution"),
    ("training", "evaluate"),
    ("claims", "perf"),
    ("report",),
    ("figures", "summary"),
    ("book",),
    ("plan", "rehearsal"),
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
