"""The README stays a short entry point, its links resolve, and `make help` lists every target."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README_MAX_CHARS = 10_000


def _make_targets() -> set[str]:
    """Every target the Makefile declares phony (the ones a person runs)."""
    phony_lines = re.findall(r"^\.PHONY:(.*)$", (ROOT / "Makefile").read_text(), flags=re.MULTILINE)
    return {name for line in phony_lines for name in line.split()}


def _local_links(markdown_path: Path) -> list[str]:
    """Relative link targets of a Markdown file, without their #anchor."""
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", markdown_path.read_text())
    return [t for t in targets if not re.match(r"[a-z]+://", t)]


def test_readme_stays_within_its_size():
    size = len((ROOT / "README.md").read_text())
    assert size <= README_MAX_CHARS, f"README.md has {size} characters (limit {README_MAX_CHARS})"


def test_readme_and_docs_links_resolve():
    # docs/overview.md is a page of the docs site, whose links are relative to target/.
    docs_pages = [
        page for page in sorted((ROOT / "docs").glob("*.md")) if page.name != "overview.md"
    ]
    documents = [ROOT / "README.md", ROOT / "bench" / "README.md", *docs_pages]
    broken = [
        f"{doc.relative_to(ROOT)} -> {target}"
        for doc in documents
        for target in _local_links(doc)
        if not (doc.parent / target).exists()
    ]
    assert broken == []


def test_make_help_lists_every_target():
    listed = subprocess.run(
        ["make", "--no-print-directory", "help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    listed_targets = set(re.findall(r"^\s*make (\S+)", listed.stdout, flags=re.MULTILINE))
    assert _make_targets() - listed_targets == set()
    assert listed_targets - _make_targets() == set()


def _macros_defined(folder: Path) -> set[str]:
    return {
        name
        for path in folder.glob("*.sql")
        for name in re.findall(r"\{%-?\s*macro\s+(\w+)\(", path.read_text())
    }


def test_every_macro_is_documented_in_its_folders_properties():
    import yaml

    folders = sorted({path.parent for path in (ROOT / "macros").rglob("*.sql")})
    for folder in folders:
        properties = folder / "_macros.yml"
        assert properties.exists(), f"{folder.relative_to(ROOT)} has no _macros.yml"
        documented = {
            entry["name"]: entry for entry in yaml.safe_load(properties.read_text())["macros"]
        }
        assert set(documented) == _macros_defined(folder), folder.relative_to(ROOT)
        undescribed = [name for name, entry in documented.items() if not entry.get("description")]
        assert undescribed == [], folder.relative_to(ROOT)
