"""The static workbook site: `make site` (python -m cuelab.site) builds HTML from the committed notebooks.

Nothing is executed and nothing is fetched: Sphinx with myst-nb (nb_execution_mode = "off") renders each
notebook with the outputs it was committed with, sphinx-book-theme supplies the layout from its own installed
files, and MathJax (which Sphinx would load from a CDN) is replaced by a renderer that shows formulas as their
TeX source.
The claims dashboard sets every committed profile side by side: smoke from the claims each notebook carries in its
output (cuelab.claims.CLAIMS_MIME), so it always matches the notebooks' own runs, and every committed reference
result results/<study>/<profile>.json (cuelab.results), each column with its provenance (source file, commit, run
date, device, wall time). Every claim shows the paper's value beside ours with its 95% interval and what was
resampled, its kind, each column's verdict (holds, fails, inconclusive, not run; each its own colour) and source;
filters by study, kind, verdict and column run in the page itself (a few lines of inline JavaScript, no library).

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

from cuelab.claims import CLAIMS_MIME, KINDS, UNKNOWN, VERDICT_COLOURS, VERDICTS, format_measured, summary_line
from cuelab.claims import format_value as _fmt
from cuelab.paths import repo_root

from cuelab.studies import PAPERS as STUDIES  # name → citation, from the study registry (cuelab.studies)


# ---------------------------------------------------------------------------------------------------------------
# Claims from the committed notebooks and the committed reference results


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


def _row(study: str, column: str, profile: str, source: str, prov: dict[str, Any], claim: dict[str, Any]) -> dict[str, Any]:
    return {"study": study, "column": column, "profile": profile, "source_file": source,
            "finished": str(prov.get("finished") or "?"), "commit": str(prov.get("commit") or "?"),
            "device": str(prov.get("device") or "?"), "wall_s": prov.get("wall_s"),
            "parameters": prov.get("parameters"),
            **{"interval": None, "n": None, "resampled": "", **claim}}


def collect_claims(notebooks: list[Path]) -> list[dict[str, Any]]:
    """One row per claim of every notebook (its committed run: the smoke profile), with the run's provenance."""
    rows = []
    for path in notebooks:
        record = notebook_claims(path)
        if record is None:
            raise ValueError(f"{path} carries no claims table in its outputs: run it (make refresh-notebooks) first")
        env = record.get("environment") or {}
        profile = record.get("profile", "?")
        study = record.get("study", path.stem)
        for c in record.get("claims", []):
            rows.append(_row(study, profile, profile, f"notebooks/{path.name}", env, c))
    return rows


def collect_results(root: str | Path) -> list[dict[str, Any]]:
    """One row per claim of every committed reference result, results/<study>/<profile>.json."""
    from cuelab.results import load_reference, references

    root = Path(root)
    rows = []
    for path in references(root):
        data = load_reference(path)
        profile = str(data.get("profile", path.stem))
        for c in data["claims"]:
            rows.append(_row(data["study"], f"{profile} (results)" if profile == "smoke" else profile, profile,
                             str(path.relative_to(root)), data.get("provenance") or {}, c))
    return rows


def columns_of(rows: list[dict[str, Any]]) -> list[str]:
    """The profile columns, smoke (the committed notebooks) first, then cuelab.PROFILES' order, then by name."""
    import cuelab

    order = {p: i for i, p in enumerate(cuelab.PROFILES)}
    cols = {r["column"]: r["profile"] for r in rows}
    return sorted(cols, key=lambda c: (order.get(cols[c], len(order)), c.endswith("(results)"), c))


def _verdict_class(verdict: str) -> str:
    return "verdict-" + str(verdict).replace(" ", "-")


def provenance_table(rows: list[dict[str, Any]]) -> str:
    """A markdown table: per study and column, where the claims come from and what made them."""
    seen = {}
    for r in rows:
        seen.setdefault((r["study"], r["column"]), r)
    cols = columns_of(rows)
    lines = ["| study | column | from | commit | run finished (UTC) | device | wall time |", "|---|---|---|---|---|---|---|"]
    for (study, column), r in sorted(seen.items(), key=lambda kv: (list(STUDIES).index(kv[0][0]) if kv[0][0] in STUDIES
                                                                   else 99, cols.index(kv[0][1]))):
        wall = f"{r['wall_s']:.0f} s" if isinstance(r.get("wall_s"), (int, float)) else "—"
        commit = r["commit"][:12] + (" +dirty" if r["commit"].endswith("+dirty") else "")  # a dirty tree says so
        lines.append(f"| {study} | {column} | `{r['source_file']}` | `{commit}` | {r['finished']} | "
                     f"{r['device']} | {wall} |")
    return "\n".join(lines)


def dashboard_html(rows: list[dict[str, Any]]) -> str:
    """The claims dashboard: one table row per claim, one column pair (ours, verdict) per profile side by side,
    and filters by study, kind, verdict and column (data-study / data-kind / data-verdict / data-v-<i>)."""
    cols = columns_of(rows)
    studies = [s for s in STUDIES if any(r["study"] == s for r in rows)] + sorted(
        {r["study"] for r in rows} - set(STUDIES))
    claims: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for r in rows:
        claims.setdefault((r["study"], r["id"]), {})[r["column"]] = r
    options = lambda values, labels=None: "".join(  # noqa: E731
        f'<option value="{html.escape(v)}">{html.escape(lab)}</option>' for v, lab in zip(values, labels or values))
    head = ["study", "id", "kind", "claim", "paper", "rule"]
    for c in cols:
        head += [f"ours ({c})", f"verdict ({c})"]
    head += ["control", "source", "post hoc"]
    body = []
    for (study, cid), by_col in claims.items():
        first = by_col[next(c for c in cols if c in by_col)]
        cells = [html.escape(str(x)) for x in (study, cid, first.get("kind", "?"), first.get("statement", ""),
                                               _fmt(first.get("paper")), first.get("rule", ""))]
        attrs = []
        controls = []
        for i, c in enumerate(cols):
            r = by_col.get(c)
            if r is None:
                cells += ["—", '<span class="verdict">—</span>']
                continue
            ours = format_measured(r.get("measured"), r.get("interval"), r.get("resampled") or "")
            power = r.get("no_interval") or ""
            cells.append(html.escape(ours) + (f'<br><small>{html.escape(power)}</small>' if power else ""))
            v = r.get("verdict", "?")
            cells.append(f'<span class="verdict {_verdict_class(v)}">{html.escape(v)}</span>')
            attrs.append(f'data-v-{i}="{html.escape(v)}"')
            control = r.get("control") or {}
            if control:
                controls.append(f"{c}: {control.get('name')}: {control.get('verdict')}")
        cells += [html.escape("; ".join(controls) or "—"), html.escape(first.get("source", "")),
                  html.escape(first.get("post_hoc") or "—")]
        tds = "".join(f"<td>{c}</td>" for c in cells)
        body.append(f'<tr class="claim {_verdict_class(first.get("verdict", "?"))}" id="claim-{html.escape(study)}-'
                    f'{html.escape(cid)}" data-id="{html.escape(cid)}" data-study="{html.escape(study)}" '
                    f'data-kind="{html.escape(first.get("kind", "?"))}" data-verdict="{html.escape(first.get("verdict", "?"))}" '
                    f'{" ".join(attrs)}>{tds}</tr>')
    summaries = []
    for c in cols:
        for study in studies:
            mine = [r for r in rows if r["column"] == c and r["study"] == study]
            if not mine:
                continue
            kinds = [k for k in (*KINDS, UNKNOWN) if any(r.get("kind") == k for r in mine)]
            counts = {k: {v: sum(r.get("kind") == k and r.get("verdict") == v for r in mine) for v in VERDICTS} for k in kinds}
            summaries.append(f"<li><b>{html.escape(study)}</b>, {html.escape(c)}: {html.escape(summary_line(counts))}</li>")
    colour_css = "\n".join(
        f".verdict.{_verdict_class(v)} {{ background: {bg}; color: {VERDICT_COLOURS[v]}; font-weight: bold; }}"
        for v, bg in (("holds", "#e3f4e3"), ("fails", "#f9dede"), ("inconclusive", "#fdebd0"), ("not run", "#eeeeee")))
    return f"""<div class="cuelab-dashboard">
<p><label>study <select id="f-study"><option value="">all</option>{options(studies)}</select></label>
<label>kind <select id="f-kind"><option value="">all</option>{options(list(KINDS))}</select></label>
<label>verdict <select id="f-verdict"><option value="">all</option>{options(list(VERDICTS))}</select></label>
<label>in <select id="f-column"><option value="">any column</option>{options([str(i) for i in range(len(cols))], cols)}</select></label>
<span id="f-count">{len(claims)} claims</span></p>
<ul class="summary">{"".join(summaries)}</ul>
<table class="claims-table" id="claims-table">
<thead><tr>{"".join(f"<th>{html.escape(h)}</th>" for h in head)}</tr></thead>
<tbody>
{chr(10).join(body)}
</tbody>
</table>
</div>
<style>
.claims-table {{ font-size: 0.78em; border-collapse: collapse; }}
.claims-table td, .claims-table th {{ border: 1px solid #ccc; padding: 2px 4px; vertical-align: top; }}
.verdict {{ padding: 0 3px; border-radius: 2px; }}
{colour_css}
.cuelab-dashboard label {{ margin-right: 1em; }}
</style>
<script>
(function () {{
  var ncols = {len(cols)};
  function apply() {{
    var s = document.getElementById("f-study").value, k = document.getElementById("f-kind").value,
        v = document.getElementById("f-verdict").value, c = document.getElementById("f-column").value, shown = 0;
    document.querySelectorAll("#claims-table tr.claim").forEach(function (tr) {{
      var verdictOk = !v;
      if (v) {{
        for (var i = 0; i < ncols; i++) {{
          if ((c === "" || c === String(i)) && tr.getAttribute("data-v-" + i) === v) {{ verdictOk = true; }}
        }}
      }}
      var ok = (!s || tr.dataset.study === s) && (!k || tr.dataset.kind === k) && verdictOk;
      tr.style.display = ok ? "" : "none";
      if (ok) shown += 1;
    }});
    document.getElementById("f-count").textContent = shown + " of {len(claims)} claims";
  }}
  ["f-study", "f-kind", "f-verdict", "f-column"].forEach(function (id) {{
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
measure
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
    cols = columns_of(rows)
    return f"""# Claims dashboard

Every claim of every study, side by side for each committed profile: *smoke* from the claims table each notebook
carries in its committed output, and every committed reference result `results/<study>/<profile>.json` (recorded
from a clean commit by `make record`). *ours* is what that run measured, with its 95% interval and what was
resampled; *rule* is how the verdict was decided, on the interval: **holds** when the whole interval satisfies the
rule, **fails** when none of it does, **inconclusive** when it straddles the threshold. The filters narrow the table
by study, kind, verdict and column. A sanity check is never counted as a reproduced finding.

Columns: {", ".join(cols) or "none"}.

{provenance_table(rows)}

```{{raw}} html
{dashboard_html(rows)}
```
"""


def stage_notebook(notebook: Path, folder: Path) -> Path:
    """Copy a notebook into folder; myst-nb does not render markdown-cell attachments (`![..](attachment:x.png)`,
    e.g. each study's lead picture in cell 0), so each one is written out as a file under
    folder/_attachments/<notebook>/ and the staged copy links to that file instead."""
    import base64
    import mimetypes

    target = folder / notebook.name
    nb = nbformat.read(str(notebook), as_version=nbformat.NO_CONVERT)
    written = False
    for i, cell in enumerate(nb.cells):
        for name, bundle in (cell.get("attachments") or {}).items() if cell.cell_type == "markdown" else ():
            mime = next((m for m in bundle if m.startswith("image/")), None)
            if mime is None or f"attachment:{name}" not in cell.source:
                continue
            stem = Path(name).stem if Path(name).suffix else name
            file = Path("_attachments") / notebook.stem / f"{i}-{stem}{mimetypes.guess_extension(mime) or ''}"
            (folder / file).parent.mkdir(parents=True, exist_ok=True)
            data = bundle[mime]
            (folder / file).write_bytes(data.encode() if mime == "image/svg+xml" else base64.b64decode(data))
            cell.source = cell.source.replace(f"attachment:{name}", file.as_posix())
            written = True
    if written:
        nbformat.write(nb, str(target))
    else:
        shutil.copy2(notebook, target)
    return target


def stage(src: Path, notebooks: list[Path], root: Path | None = None) -> list[dict[str, Any]]:
    """Write conf.py and the pages under src and copy the notebooks into src/studies; return the claims rows
    (the committed notebooks' and, with root, every results/<study>/<profile>.json)."""
    if src.exists():
        shutil.rmtree(src)
    (src / "studies").mkdir(parents=True)
    rows = collect_claims(notebooks) + (collect_results(root) if root is not None else [])
    for nb in notebooks:
        stage_notebook(nb, src / "studies")
    table = "\n".join(f"| [{nb.stem}](studies/{nb.stem}.ipynb) | {STUDIES.get(nb.stem, '')} |" for nb in notebooks)
    toc = "\n".join(f"studies/{nb.stem}" for nb in notebooks)
    (src / "conf.py").write_text(CONF)
    (src / "index.md").write_text(INDEX.format(rows=table, toc=toc))
    (src / "teaching.md").write_text(TEACHING)
    (src / "claims.md").write_text(dashboard_page(rows))
    from cuelab.measure.examples import stage_page  # "Measure your own model" (docs/measure.md, cuelab.measure)

    stage_page(src, root)
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
    stage(src, study_notebooks(root), root)
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
