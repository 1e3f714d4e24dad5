"""Save the README's and the notebooks' lead pictures: one figure from a committed notebook's outputs, as a PNG
under docs/img/.

    .venv/bin/python scripts/readme_image.py [NOTEBOOK CELL_ID OUT]
    .venv/bin/python scripts/readme_image.py --all [--attach]

Defaults: Fig. 1 left of notebooks/xor_grokking.ipynb (cell xor09) → docs/img/xor_grokking.png. `--all` saves
every study's lead picture (LEAD below: the figure and, where given, the rows of pixels kept) as
docs/img/<study>.png; with `--attach` it also refreshes the copy each notebook's first cell carries as a cell
attachment (`![...](attachment:<study>.png)`: the notebook stays self-contained), touching nothing else. Nothing is
run: the image is the one the committed smoke run drew. Re-run it after `make refresh-notebooks` to keep the two
in step.
"""

from __future__ import annotations

import base64
import io
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]

# study → (cell id of the figure, (top, bottom) pixel rows kept or None for the whole figure)
LEAD: dict[str, tuple[str, tuple[int, int] | None]] = {
    "xor_grokking": ("xor09", None),  # Fig. 1 left: train and test accuracy over GD steps
    "input_gradients": ("b892b279", (0, 482)),  # |attribution| maps, standard vs robust: the first two images
    "shortcut_cues": ("0e834b8f", None),  # WCST-ML: the diagonal set and each cue's off-diagonal set
    "global_shape": ("97807a9f", None),  # trained zoo: cue-conflict shape bias vs DiST
}


def png_of(notebook: Path, cell_id: str, crop: tuple[int, int] | None = None) -> bytes:
    """The first PNG output of the cell, optionally cut to the pixel rows crop = (top, bottom)."""
    nb = nbformat.read(str(notebook), as_version=4)
    cell = next((c for c in nb.cells if c.get("id") == cell_id), None)
    if cell is None:
        raise LookupError(f"{notebook}: no cell with id {cell_id!r}")
    images = [o["data"]["image/png"] for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
    if not images:
        raise LookupError(f"{notebook}: cell {cell_id} has no PNG output (run make refresh-notebooks first)")
    data = base64.b64decode(images[0])
    if crop is None:
        return data
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    buffer = io.BytesIO()
    image.crop((0, crop[0], image.width, min(crop[1], image.height))).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def extract(notebook: Path, cell_id: str, out: Path, crop: tuple[int, int] | None = None) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(png_of(notebook, cell_id, crop))
    return out


def attach(notebook: Path, png: Path) -> bool:
    """Put png into the first cell's attachments under its file name, if that cell refers to attachment:<name>;
    return whether the notebook changed. Only that attachment is written; the file keeps the form
    scripts/normalize_notebooks.py gives it (JSON with indent=1, one trailing newline)."""
    nb = nbformat.read(str(notebook), as_version=nbformat.NO_CONVERT)
    cell = nb.cells[0]
    if cell.cell_type != "markdown" or f"attachment:{png.name}" not in cell.source:
        return False
    encoded = base64.b64encode(png.read_bytes()).decode("ascii")
    attachments = cell.setdefault("attachments", {})
    if attachments.get(png.name, {}).get("image/png") == encoded:
        return False
    attachments[png.name] = {"image/png": encoded}
    notebook.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")  # nbformat.writes: indent=1, sorted keys
    return True


def main(argv: list[str]) -> None:
    if argv and argv[0] == "--all":
        for study, (cell_id, crop) in LEAD.items():
            notebook = ROOT / "notebooks" / f"{study}.ipynb"
            out = ROOT / "docs" / "img" / f"{study}.png"
            try:
                extract(notebook, cell_id, out, crop)
            except LookupError as error:  # a notebook without outputs keeps the picture it had
                print(f"{error}: kept {out.relative_to(ROOT)}" if out.exists() else error)
                if not out.exists():
                    continue
            changed = "--attach" in argv[1:] and attach(notebook, out)
            print(out, f"(attached to {notebook.name}, cell 0)" if changed else "")
        return
    args = argv or ["notebooks/xor_grokking.ipynb", "xor09", "docs/img/xor_grokking.png"]
    if len(args) != 3:
        sys.exit(__doc__)
    notebook, cell_id, out = args
    try:
        print(extract(ROOT / notebook, cell_id, ROOT / out))
    except LookupError as error:
        sys.exit(str(error))


if __name__ == "__main__":
    main(sys.argv[1:])
