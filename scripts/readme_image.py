"""Save the README's picture: one figure from a committed notebook's outputs, as a PNG under docs/img/.

    .venv/bin/python scripts/readme_image.py [NOTEBOOK CELL_ID OUT]

Defaults: Fig. 1 left of notebooks/xor_grokking.ipynb (cell xor09) → docs/img/xor_grokking.png. Nothing is run:
the image is the one the committed smoke run drew. Re-run it after `make refresh-notebooks` to keep the two in step.
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def extract(notebook: Path, cell_id: str, out: Path) -> Path:
    nb = nbformat.read(str(notebook), as_version=4)
    cell = next((c for c in nb.cells if c.get("id") == cell_id), None)
    if cell is None:
        sys.exit(f"{notebook}: no cell with id {cell_id!r}")
    images = [o["data"]["image/png"] for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
    if not images:
        sys.exit(f"{notebook}: cell {cell_id} has no PNG output (run make refresh-notebooks first)")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(base64.b64decode(images[0]))
    return out


if __name__ == "__main__":
    args = sys.argv[1:] or ["notebooks/xor_grokking.ipynb", "xor09", "docs/img/xor_grokking.png"]
    if len(args) != 3:
        sys.exit(__doc__)
    notebook, cell_id, out = args
    print(extract(ROOT / notebook, cell_id, ROOT / out))
