"""Nothing in the clone depends on a path outside it, and no claim cites the specs' paper cards as its source.

A reader of the clone can open every source a claim names: a figure, table or section of the paper, or a file of
the authors' repository. The workbook's specification folder beside the checkout is not part of the clone, so no
file under lib/, notebooks/ or tests/ names it, and no claim's source says "paper card".
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from cuelab.paths import repo_root

ROOT = repo_root()
# Built from parts so this file does not match itself.
OUTSIDE = re.compile("|".join(re.escape(p) for p in ("..".join(["", "/shared"]), "shared" + "/papers",
                                                      "/work" + "/shared")))
CARD = re.compile("paper" + r"[ _-]?" + "card", re.IGNORECASE)
TEXT = {".py", ".ipynb", ".yaml", ".yml", ".md", ".toml", ".cfg", ".txt", ".json"}
CLAIMS_MIME = "application/vnd.cuelab.claims+json"


def _files(*folders: str) -> list[Path]:
    out = []
    for folder in folders:
        base = ROOT / folder
        if base.is_dir():
            out += [p for p in sorted(base.rglob("*")) if p.is_file() and p.suffix in TEXT
                    and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts]
    return out


def _outside_paths() -> list[str]:
    hits = []
    for path in _files("lib", "notebooks", "tests"):
        for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if OUTSIDE.search(line) and " not in " not in line:  # a guard that asserts its absence is no dependency
                hits.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()[:120]}")
    return hits


def test_nothing_in_lib_notebooks_or_tests_names_a_path_outside_the_repository() -> None:
    hits = _outside_paths()
    assert not hits, "\n".join(hits)


def _module_sources(path: Path) -> list[tuple[int, str]]:
    """The literal text of every source=… keyword in a claims module (f-strings: their literal parts)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.keyword) and node.arg == "source":
            text = " ".join(c.value for c in ast.walk(node.value) if isinstance(c, ast.Constant) and isinstance(c.value, str))
            out.append((node.value.lineno, text))
        if isinstance(node, (ast.Assign, ast.AnnAssign)):  # SOURCE_X = "..." constants passed on as source=
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            if any("SOURCE" in n.upper() for n in names) and node.value is not None:
                text = " ".join(c.value for c in ast.walk(node.value) if isinstance(c, ast.Constant) and isinstance(c.value, str))
                out.append((node.lineno, text))
    return out


def _claim_sources() -> list[str]:
    hits = []
    for path in sorted((ROOT / "lib" / "cuelab" / "claims").glob("*.py")):
        for line, text in _module_sources(path):
            if CARD.search(text) or OUTSIDE.search(text):
                hits.append(f"{path.relative_to(ROOT)}:{line}: source {text[:120]!r}")
    records = []
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(nb.read_text(encoding="utf-8")).get("cells", []):
            for out in cell.get("outputs", []):
                if CLAIMS_MIME in out.get("data", {}):
                    records.append((nb.relative_to(ROOT), out["data"][CLAIMS_MIME]))
    for ref in sorted((ROOT / "results").glob("*/*.json")) if (ROOT / "results").is_dir() else []:
        records.append((ref.relative_to(ROOT), json.loads(ref.read_text(encoding="utf-8"))))
    for where, record in records:
        for claim in record.get("claims", []):
            text = str(claim.get("source") or "")
            if CARD.search(text) or OUTSIDE.search(text):
                hits.append(f"{where}: {claim.get('id')} source {text[:120]!r}")
    return hits


def test_no_claim_cites_a_paper_card_or_an_outside_path_as_its_source() -> None:
    hits = _claim_sources()
    assert not hits, "\n".join(hits)


@pytest.mark.counterexample
def test_the_checks_catch_an_outside_path_and_a_card_source(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("decide('X-1', 's', kind='reproduction', paper=1, source='the " + "paper card, p. 2', measured=1)\n"
                   "p = '../" + "shared" + "/papers/x.md'\n")
    assert [t for _, t in _module_sources(bad)] == ["the " + "paper card, p. 2"]
    assert CARD.search(_module_sources(bad)[0][1]) and OUTSIDE.search(bad.read_text())
    assert not CARD.search("Fig. 3 (secondary, unverified)") and not OUTSIDE.search("reports/shared_cache/x")
