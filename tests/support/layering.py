"""The package's dependency rule, checked from the source text (no imports run).

Layers, lowest first; a module may import its own layer and the ones below it, never one above:

    core  <  models, weights, data, masks, config  <  pretrain, eval, finetune, experiment, surprise, world,
    tools, api  <  cli

Across top-level packages only public names are imported (no ``_name``, no ``_module``), and only ``vjepa/cli``
imports argparse. ``vjepa/__init__.py`` is the package's front door: it may name the public API of any layer
below the CLI (it imports ``vjepa.api`` lazily).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

LAYERS: dict[str, int] = {
    "core": 0,
    "models": 1, "weights": 1, "data": 1, "masks": 1, "config": 1, "configs": 1,
    "pretrain": 2, "eval": 2, "finetune": 2, "experiment": 2, "surprise": 2, "world": 2, "tools": 2, "api": 2,
    "cli": 3, "__main__": 3,
}
LAYER_NAMES = {0: "core", 1: "building block", 2: "pipeline", 3: "cli"}
FRONT_DOOR_LAYER = 2  # vjepa/__init__.py


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def _package_of(parts: tuple[str, ...]) -> str | None:
    """Top-level package of a module path inside ``vjepa`` (``('vjepa', 'eval', 'run')`` -> ``'eval'``)."""
    if len(parts) < 2 or parts[0] != "vjepa":
        return None
    return parts[1]


def _imports(tree: ast.AST) -> list[tuple[int, str, list[str]]]:
    """(line, module, imported names) of every import, at any depth (function-level imports included)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module, [alias.name for alias in node.names]))
    return found


def check_tree(root: Path) -> list[Violation]:
    """Every violation of the rule in the package folder ``root`` (a folder named ``vjepa``)."""
    violations = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent)
        parts = rel.with_suffix("").parts
        own = "__init__" if parts == ("vjepa", "__init__") else _package_of(parts)
        if own not in LAYERS and own != "__init__":
            violations.append(Violation(str(rel), 1, f"module in an unknown package {own!r}: add it to LAYERS"))
            continue
        own_layer = FRONT_DOOR_LAYER if own == "__init__" else LAYERS[own]
        for line, module, names in _imports(ast.parse(path.read_text(), str(path))):
            if module == "argparse" and own not in ("cli", "__main__"):
                violations.append(Violation(str(rel), line, "argparse outside vjepa/cli: flags belong to the CLI"))
            target = _package_of(tuple(module.split(".")))
            if target is None:
                continue
            if target not in LAYERS:
                violations.append(Violation(str(rel), line, f"imports {module}, in no known package"))
                continue
            if LAYERS[target] > own_layer:
                violations.append(Violation(
                    str(rel), line, f"{LAYER_NAMES[own_layer]} {own!r} imports {module} from the higher layer "
                                    f"{LAYER_NAMES[LAYERS[target]]!r}"))
            if target != own:
                private = [n for n in names if n.startswith("_")]
                private += [p for p in module.split(".")[2:] if p.startswith("_") and p != "__init__"]
                if private:
                    violations.append(Violation(str(rel), line, f"imports private {', '.join(private)} from {module}"))
    return violations
