"""Every file the package writes goes through vjepa.core.io (or core.plots): a write call may appear only in a
lambda or callback handed to the atomic writer, or in a place listed here with the reason it is not a direct
file write. A new direct write makes this test fail."""

from __future__ import annotations

import ast
from pathlib import Path

import vjepa

PACKAGE = Path(vjepa.__file__).parent
WRITE_CALLS = {"write_text", "write_bytes", "savefig", "save", "dump"}
NOT_DIRECT = {  # (module, enclosing function): why the call is not a direct, non-atomic file write
    ("config/loader.py", "save_resolved"): "yaml.dump into a string, then write_text_atomic",
    ("core/plots.py", "save_figure"): "savefig into memory, then atomic_write",
    ("data/physics_files.py", "encode"): "encodes into the temporary path atomic_write hands it",
    ("data/trajectories.py", "_save_npy"): "callback of atomic_write",
    ("tools/extract.py", "_save_npy"): "callback of atomic_write",
    ("eval/features.py", "load_or_extract"): "FeatureSet.save, itself atomic",
    ("world/evaluate.py", "write_episode_gif"): "PIL saves into memory, then atomic_write",
    ("tools/bench.py", "reset_peak_memory"): "writes /proc/self/clear_refs, not a file of ours",
    ("tools/bench_video.py", "make_video"): "the benchmark's own input video in a temporary folder",
}


def _write_calls(path: Path) -> list[tuple[int, str, list[str]]]:
    tree = ast.parse(path.read_text())
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
        mode = node.args[1] if name == "open" and len(node.args) > 1 else None
        opens_for_writing = isinstance(mode, ast.Constant) and any(c in str(mode.value) for c in "wax")
        if name in WRITE_CALLS or opens_for_writing:
            enclosing, p = [], node
            while p in parents:
                p = parents[p]
                if isinstance(p, ast.Lambda):
                    enclosing.append("<lambda>")
                elif isinstance(p, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    enclosing.append(p.name)
            found.append((node.lineno, name, enclosing))
    return found


def test_every_file_write_goes_through_the_atomic_writer():
    direct = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE).as_posix()
        if module == "core/io.py":
            continue
        for line, name, enclosing in _write_calls(path):
            if "<lambda>" in enclosing or any((module, fn) in NOT_DIRECT for fn in enclosing):
                continue
            direct.append(f"{module}:{line}: {name} in {enclosing[:1] or ['<module>']}")
    assert not direct, "direct file writes (use vjepa.core.io):\n" + "\n".join(direct)


def test_the_check_catches_a_direct_write(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f(p):\n    p.write_text('x')\n\n\ndef g(p):\n    atomic_write(p, lambda t: t.write_text('x'))\n")
    calls = _write_calls(bad)
    assert [(line, enclosing) for line, _, enclosing in calls] == [(2, ["f"]), (6, ["<lambda>", "g"])]
