"""The dependency rule of docs/architecture.md holds for the package, and the checker catches each kind of
violation (a fixture package breaks the rule on purpose)."""

from __future__ import annotations

from pathlib import Path

from support.layering import check_tree

import vjepa

PACKAGE = Path(vjepa.__file__).parent
VIOLATIONS = Path(__file__).parent / "fixtures" / "layering_violations" / "vjepa"


def test_the_package_follows_the_dependency_rule():
    violations = check_tree(PACKAGE)
    assert not violations, "\n" + "\n".join(map(str, violations))


def test_the_checker_finds_every_planted_violation():
    found = sorted((v.path.split("vjepa/", 1)[1], v.line, v.message) for v in check_tree(VIOLATIONS))
    lines = [(path, line) for path, line, _ in found]
    assert lines == [("cli/main.py", 3), ("core/runtime.py", 1), ("data/loader.py", 5), ("eval/run.py", 2),
                     ("tools/embed.py", 1), ("tools/embed.py", 3)], found
    messages = dict(((p, n), m) for p, n, m in found)
    assert "higher layer 'pipeline'" in messages[("data/loader.py", 5)]
    assert "higher layer 'cli'" in messages[("core/runtime.py", 1)]
    assert messages[("eval/run.py", 2)] == "imports private _resolve from vjepa.tools.embed"
    assert messages[("tools/embed.py", 1)].startswith("argparse outside vjepa/cli")
    assert messages[("tools/embed.py", 3)] == "imports private _helper from vjepa.eval.run"
    assert messages[("cli/main.py", 3)] == "imports private _resolve from vjepa.tools.embed"


def test_an_unknown_package_is_reported(tmp_path):
    (tmp_path / "vjepa" / "newpkg").mkdir(parents=True)
    (tmp_path / "vjepa" / "newpkg" / "thing.py").write_text("X = 1\n")
    [violation] = check_tree(tmp_path / "vjepa")
    assert "unknown package 'newpkg'" in violation.message
