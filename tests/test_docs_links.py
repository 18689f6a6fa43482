"""Every relative link of README.md and docs/*.md names a file of the repository, and its #anchor a heading of
that file; no doc points at files that are not in the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^()\s]+)(?:\s+\"[^\"]*\")?\)")
GONE = ("cpu-performance.md", "official-vjepa-spec.md", "anchors.md", "../shared")


def _without_code(text: str) -> str:
    """The text without fenced code blocks and inline code (links in code are not links)."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def anchors(path: Path) -> set[str]:
    """GitHub's anchors of the headings of a Markdown file (lower case, punctuation dropped, spaces to '-')."""
    found = set()
    for line in _without_code(path.read_text()).splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"\s", "-", re.sub(r"[^\w\- ]", "", title)))
    return found


def relative_links(path: Path) -> list[str]:
    return [t for t in LINK.findall(_without_code(path.read_text())) if not re.match(r"[a-z][a-z0-9+.-]*:", t)]


def broken_links(path: Path) -> list[str]:
    broken = []
    for target in relative_links(path):
        file, _, anchor = target.partition("#")
        where = (path.parent / file).resolve() if file else path
        if not where.exists() or ROOT not in (where, *where.parents):
            broken.append(f"{target} (no such file in the repository)")
        elif anchor and where.suffix == ".md" and anchor.lower() not in anchors(where):
            broken.append(f"{target} (no heading #{anchor} in {where.name})")
    return broken


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_relative_links_resolve(doc):
    assert broken_links(doc) == [], doc.name


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_no_doc_names_files_outside_the_repository(doc):
    text = doc.read_text()
    assert [name for name in GONE if name in text] == [], doc.name


def test_the_checker_catches_a_broken_link_and_a_missing_heading(tmp_path, monkeypatch):
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    (tmp_path / "b.md").write_text("# Try it: one, two\n")
    page = tmp_path / "a.md"
    page.write_text("[ok](b.md) [ok](b.md#try-it-one-two) [x](c.md) [y](b.md#nope) `[code](d.md)` "
                    "[web](https://example.org/e.md)\n")
    assert broken_links(page) == ["c.md (no such file in the repository)", "b.md#nope (no heading #nope in b.md)"]


def test_the_readme_names_every_shipped_preset():
    presets = sorted(p.stem for p in (ROOT / "vjepa" / "configs").glob("*.yaml"))
    readme = (ROOT / "README.md").read_text()
    missing = [name for name in presets if f"`{name}`" not in readme]
    assert not missing, f"README.md does not name the presets {missing}"


def test_package_and_test_files_named_in_the_docs_exist():
    texts = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    named = {m for path in texts for m in re.findall(r"(?<![\w/])(?:tests|vjepa)/[\w/]+\.(?:py|yaml)", path.read_text())}
    missing = sorted(name for name in named if not (ROOT / name).is_file())
    assert not missing, f"the docs name files that do not exist: {missing}"
