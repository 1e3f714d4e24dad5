"""The static workbook site: `make site` (python -m cuelab.site) builds HTML from the committed notebooks.

Nothing is executed and nothing is fetched: Sphinx with myst-nb (nb_execution_mode = "off") renders each
notebook with the outputs it was committed with, sphinx-book-theme supplies the layout from its own installed
files, and MathJax (which Sphinx would load from a CDN) is replaced by a renderer that shows formulas as their
TeX source.
The claims dashboard is made from the claims each notebook carries in its output (cuelab.claims.CLAIMS_MIME),
so it always matches the notebooks' own runs: every claim with the paper's value beside ours, its kind,
verdict, source, profile, and the date and commit of the run; filters by study, kind and verdict run in the
page itself (a few lines of inline JavaScript, no library).

Layout: the sources are staged under build/site-src/ (conf.py, pages, notebooks copied into studies/) and the
HTML goes to build/site/ (open build/site/index.html).
"""

from __future__ import annotations

import argparse
import html
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import nbformat

from cuelab.claims import CLAIMS_MIME
from cuelab.claims import format_value as _fmt
from cuelab.paths import repo_root

STUDIES = {
    "xor_grokking": "Xu et al., *Benign Overfitting and Grokking in ReLU Networks for XOR Cluster Data*, ICLR 2024",
    "input_gradients": "Shah, Jain, Netrapalli, *Do Input Gradients Highlight Discriminative Features?*, NeurIPS 2021",
    "shortcut_cues": "Scimeca et al., *Which Shortcut Cues Will DNNs Choose? A Study from the Parameter-Space "
                     "Perspective*, ICLR 2022",
    "global_shape": "Wen, Li, Jing, Lee, *Does resistance to style-transfer equal Global Shape Bias?* (DiST), 2023",
}


# ---------------------------------------------------------------------------------------------------------------
# Claims from the committed notebooks


def notebook_claims(path: str | Path) -> dict[str, Any] | None:
    """The claims record (study, profile, claims, environment) a notebook's output carries, or None."""
    nb = nbformat.read(str(path), as_version=4)
    found = None
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = out.get("data", {})
            if CLAIMS_MIME in data:
                found = data[CLAIMS_MIME]  # the last one wins: the table at the end of the notebook
    return found


def collect_claims(notebooks: list[Path]) -> list[dict[str, Any]]:
    """One row per claim of every notebook, with its study's run information."""
    rows = []
    for path in notebooks:
        record = notebook_claims(path)
        if record is None:
            raise ValueError(f"{path} carries no claims table in its outputs: run it (make refresh-notebooks) first")
        env = record.get("environment") or {}
        for c in record.get("claims", []):
            rows.append({"study": record.get("study", path.stem), "profile": record.get("profile", "?"),
                         "finished": env.get("finished", "?"), "commit": str(env.get("commit", "?")), **c})
    return rows


def dashboard_html(rows: list[dict[str, Any]]) -> str:
    """The claims dashboard: filters and one table row per claim (data-study / data-kind / data-verdict)."""
    studies = sorted({r["study"] for r in rows})
    options = lambda values: "".join(f'<option value="{html.escape(v)}">{html.escape(v)}</option>' for v in values)  # noqa: E731
    head = ["study", "id", "kind", "claim", "paper", "ours", "rule", "verdict", "control", "source", "post hoc",
            "profile", "run (UTC)", "commit"]
    body = []
    for r in rows:
        control = r.get("control") or {}
        cells = [r["study"], r["id"], r.get("kind", "?"), r.get("statement", ""), _fmt(r.get("paper")),
                 _fmt(r.get("measured")), r.get("rule", ""), r.get("verdict", "?"),
                 f"{control.get('name')}: {control.get('verdict')}" if control else "—", r.get("source", ""),
                 r.get("post_hoc") or "—", r["profile"], r["finished"], r["commit"][:12]]
        verdict_class = "verdict-" + r.get("verdict", "?").replace(" ", "-")
        tds = "".join(f"<td>{html.escape(str(c))}</td>" for c in cells)
        body.append(f'<tr class="claim {verdict_class}" id="claim-{html.escape(r["id"])}" data-id="{html.escape(r["id"])}" '
                    f'data-study="{html.escape(r["study"])}" data-kind="{html.escape(r.get("kind", "?"))}" '
                    f'data-verdict="{html.escape(r.get("verdict", "?"))}">{tds}</tr>')
    counts = {}
    for r in rows:
        key = (r.get("kind", "?"), r.get("verdict", "?"))
        counts[key] = counts.get(key, 0) + 1
    summary = "; ".join(f"{k} {v}: {n}" for (k, v), n in sorted(counts.items()))
    return f"""<div class="cuelab-dashboard">
<p><label>study <select id="f-study"><option value="">all</option>{options(studies)}</select></label>
<label>kind <select id="f-kind"><option value="">all</option>{options(["reproduction", "sanity", "extension"])}</select></label>
<label>verdict <select id="f-verdict"><option value="">all</option>{options(["holds", "fails", "not run"])}</select></label>
<span id="f-count">{len(rows)} claims</span></p>
<p class="summary">{html.escape(summary)}</p>
<table class="claims-table" id="claims-table">
<thead><tr>{"".join(f"<th>{h}</th>" for h in head)}</tr></thead>
<tbody>
{chr(10).join(body)}
</tbody>
</table>
</div>
<style>
.claims-table {{ font-size: 0.78em; border-collapse: collapse; }}
.claims-table td, .claims-table th {{ border: 1px solid #ccc; padding: 2px 4px; vertical-align: top; }}
tr.verdict-holds td:nth-child(8) {{ background: #e3f4e3; }}
tr.verdict-fails td:nth-child(8) {{ background: #f9dede; }}
tr.verdict-not-run td:nth-child(8) {{ background: #eeeeee; }}
.cuelab-dashboard label {{ margin-right: 1em; }}
</style>
<script>
(function () {{
  function apply() {{
    var s = document.getElementById("f-study").value, k = document.getElementById("f-kind").value,
        v = document.getElementById("f-verdict").value, shown = 0;
    document.querySelectorAll("#claims-table tr.claim").forEach(function (tr) {{
      var ok = (!s || tr.dataset.study === s) && (!k || tr.dataset.kind === k) && (!v || tr.dataset.verdict === v);
      tr.style.display = ok ? "" : "none";
      if (ok) shown += 1;
    }});
    document.getElementById("f-count").textContent = shown + " of {len(rows)} claims";
  }}
  ["f-study", "f-kind", "f-verdict"].forEach(function (id) {{
    document.getElementById(id).addEventListener("change", apply);
  }});
}})();
</script>
"""


# ---------------------------------------------------------------------------------------------------------------
# Pages


CONF = '''# Sphinx configuration written by cuelab.site: edit cuelab/site.py, not this file.
project = "cuelab"
author = "the cuelab developers"
extensions = ["myst_nb"]
nb_execution_mode = "off"          # render the committed outputs; never execute
nb_ipywidgets_js = {}              # no widget JavaScript from a CDN (the explorers are still figures here)
myst_enable_extensions = ["colon_fence"]
html_theme = "sphinx_book_theme"
html_title = "cuelab: which features do networks learn?"
html_theme_options = {"home_page_in_toc": True, "use_download_button": False, "use_fullscreen_button": False,
                      "show_toc_level": 2}
html_static_path = []
html_context = {"default_mode": "light"}  # the theme logs a console error when no mode is set
html_show_sourcelink = False
html_math_renderer = "tex_source"  # no MathJax from a CDN: formulas stay as their TeX source (below)
exclude_patterns = ["_build"]
suppress_warnings = ["myst.header", "mystnb.unknown_mime_type", "misc.highlighting_failure"]


def _inline(self, node):
    from docutils import nodes
    self.body.append('<span class="math tex-source">' + self.encode(node.astext()) + "</span>")
    raise nodes.SkipNode


def _block(self, node):
    from docutils import nodes
    self.body.append('<pre class="math tex-source">' + self.encode(node.astext()) + "</pre>")
    raise nodes.SkipNode


def setup(app):
    app.add_html_math_renderer("tex_source", inline_renderers=(_inline, None), block_renderers=(_block, None))
'''

INDEX = """# cuelab — a workbook of four papers on which features networks learn

cuelab reruns the experiments behind four papers about which features and cues neural networks pick up, one
notebook per paper, and ends every notebook with a table that sets each claim of the paper beside what the run
measured. Every page here is a notebook as it was committed, with the outputs of a smoke run (real offline data,
a few minutes on 2 CPU cores); the [claims dashboard](claims.md) gathers every verdict.

| study | paper |
|---|---|
{rows}

**Run it yourself.** `make setup` (a virtual environment with PyTorch and cuelab), then `make lab` to open the
notebooks in JupyterLab, `make reproduce STUDY=<study>` to rerun one study headless into `reports/`, or
`make reproduce-all`. Every notebook starts with a parameters cell: change a value there (or pass
`PARAMS="name=value"` to make) and rerun. `PROFILE=full` runs the paper-scale profile (a GPU and the internet).

**Reading a verdict.** A claim is a *reproduction* (the paper's finding; it could have come out otherwise), a
*sanity* check (true by construction) or an *extension* (ours). Every rule is tested on a counterexample that must
fail, thresholds chosen after seeing a run are marked *post hoc*, and a claim that does not reproduce is shown as
failed with its number.

For teachers: [how to use the workbook in a course](teaching.md).

```{{toctree}}
:maxdepth: 1
:caption: Studies

{toc}
```

```{{toctree}}
:maxdepth: 1
:caption: Across studies

claims
teaching
```
"""

TEACHING = """# Teaching with cuelab

Each study notebook tells one paper's story: which experiment, what it shows, what the paper says beside it.
Most main sections end with **exercises** in a "predict, then run" form: the student writes down a prediction,
changes one value in the notebook's parameters cell (or the cell named in the exercise) and reruns. Solutions
are folded away under *Solution*; on this site click to open them.

**Interactive explorers.** In JupyterLab (`make lab`) the explorer cells show controls (sliders, drop-downs) over
results the notebook has already computed, so nothing is retrained while a student looks around. Here, on the
static site, each explorer shows one still figure.

**A session plan.** (1) Read the notebook here, with the outputs as they were committed. (2) Open it in
JupyterLab and run it top to bottom (a few minutes on a laptop). (3) Work through two or three exercises; each
names the parameter to change. (4) Look at the [claims dashboard](claims.md): which findings held at this scale,
which did not, and why a sanity check is not a finding.

**Building this site.** `make site` renders the committed notebooks without running them and fetches nothing;
open `build/site/index.html`. After changing a notebook, `make refresh-notebooks` reruns it so the site shows
the new outputs.
"""


def dashboard_page(rows: list[dict[str, Any]]) -> str:
    """The claims page (MyST markdown with the dashboard as raw HTML)."""
    runs = sorted({(r["study"], r["profile"], r["finished"], r["commit"][:12]) for r in rows})
    run_lines = "\n".join(f"| {s} | {p} | {f} | `{c}` |" for s, p, f, c in runs)
    return f"""# Claims dashboard

Every claim of every study, from the claims table each notebook carries in its committed output. *ours* is what
that run measured; *rule* is how the verdict was decided; the filters narrow the table by study, kind and
verdict. A sanity check is never counted as a reproduced finding.

| study | profile | run finished (UTC) | commit |
|---|---|---|---|
{run_lines}

```{{raw}} html
{dashboard_html(rows)}
```
"""


def stage(src: Path, notebooks: list[Path]) -> list[dict[str, Any]]:
    """Write conf.py and the pages under src and copy the notebooks into src/studies; return the claims rows."""
    if src.exists():
        shutil.rmtree(src)
    (src / "studies").mkdir(parents=True)
    rows = collect_claims(notebooks)
    for nb in notebooks:
        shutil.copy2(nb, src / "studies" / nb.name)
    table = "\n".join(f"| [{nb.stem}](studies/{nb.stem}.ipynb) | {STUDIES.get(nb.stem, '')} |" for nb in notebooks)
    toc = "\n".join(f"studies/{nb.stem}" for nb in notebooks)
    (src / "conf.py").write_text(CONF)
    (src / "index.md").write_text(INDEX.format(rows=table, toc=toc))
    (src / "teaching.md").write_text(TEACHING)
    (src / "claims.md").write_text(dashboard_page(rows))
    return rows


def study_notebooks(root: Path) -> list[Path]:
    """The four study notebooks, in the README's order."""
    paths = [root / "notebooks" / f"{s}.ipynb" for s in STUDIES]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(f"missing notebooks: {', '.join(missing)}")
    return paths


def build(out: str | Path | None = None, *, root: str | Path | None = None, quiet: bool = True) -> Path:
    """Build the site into out (default build/site); return the path of its index.html."""
    from sphinx.cmd.build import build_main

    root = Path(root) if root else repo_root()
    out = Path(out) if out else root / "build" / "site"
    src = out.parent / "site-src"
    stage(src, study_notebooks(root))
    if out.exists():
        shutil.rmtree(out)
    args = ["-b", "html", "-E", "-d", str(src / "_doctrees")] + (["-q"] if quiet else []) + [str(src), str(out)]
    code = build_main(args)
    if code != 0:
        raise RuntimeError(f"sphinx-build failed with exit code {code} (sources in {src})")
    return out / "index.html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cuelab.site", description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="output folder (default build/site)")
    parser.add_argument("--verbose", action="store_true", help="show Sphinx's progress")
    args = parser.parse_args(argv)
    index = build(args.out, quiet=not args.verbose)
    print(f"site built: open {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
