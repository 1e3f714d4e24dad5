"""The static site: built offline from the committed notebooks, then opened in headless Chromium.

Checks: every page loads without a console error and loads nothing from outside the site, every figure is
present (loaded by the browser) and not blank, the dashboard lists every claim id found in the notebooks and
its filters work, and every internal link resolves (file and anchor). Screenshots of the landing page and the
dashboard go to reports/site/. Without chromium and chromedriver (Debian: apt install chromium chromium-driver)
the browser test is skipped, unless CUELAB_REQUIRE_BROWSER=1 (set by .ci/run), which turns the skip into a failure.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pytest
from browser import chromium_driver
from PIL import Image

import cuelab
from cuelab import site
from cuelab.claims import VERDICTS
from cuelab.paths import repo_root

ROOT = repo_root()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "html"
    index = site.build(out, root=ROOT)
    return index.parent


def _claim_ids():
    ids = set()
    for nb in site.study_notebooks(ROOT):
        ids |= {c["id"] for c in site.notebook_claims(nb)["claims"]}
    return ids


def test_every_notebook_carries_its_claims_and_the_dashboard_lists_them(built):
    ids = _claim_ids()
    assert len(ids) >= 30
    page = (built / "claims.html").read_text()
    for cid in ids:
        assert f'data-id="{cid}"' in page, cid
    assert (built / "studies" / "input_gradients.html").exists() and (built / "teaching.html").exists()


def test_no_page_references_an_external_resource(built):
    import re

    for page in built.rglob("*.html"):
        if any(part.startswith("_") for part in page.relative_to(built).parts):
            continue
        text = page.read_text()
        hits = re.findall(r'<(?:script|link|img|iframe)[^>]+(?:src|href)="(https?:)?//[^"]*"', text)
        assert not hits, (page.name, hits[:3])


def test_dashboard_rows_carry_run_information():
    rows = site.collect_claims(site.study_notebooks(ROOT))
    for r in rows:
        assert r["profile"] in cuelab.PROFILES and r["verdict"] in VERDICTS, r["id"]
        assert r["finished"] != "?" and r["commit"] != "?", r["id"]


def _reference(root, study, profile, claims, commit="c0ffee" * 6 + "abcd"):
    path = root / "results" / study / f"{profile}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"format": 1, "study": study, "profile": profile, "seed": 0, "claims": claims,
                                "provenance": {"commit": commit, "finished": "2026-12-04T18:00:00Z",
                                               "device": "cpu: test", "wall_s": 3000.0}}))
    return path


def test_every_committed_profile_side_by_side_with_provenance_and_inconclusive_apart(tmp_path):
    claim = dict(statement="s", kind="reproduction", paper=0.1, source="Fig. 1", rule="measured ≤ 0.1")
    smoke = [site._row("xor_grokking", "smoke", "smoke", "notebooks/xor_grokking.ipynb",
                       {"commit": "aaa", "finished": "f"}, {**claim, "id": "XOR-4", "measured": 0.105,
                                                            "interval": [0.09, 0.12], "resampled": "20 runs",
                                                            "verdict": "inconclusive"})]
    _reference(tmp_path, "xor_grokking", "full", [{**claim, "id": "XOR-4", "measured": 0.08, "interval": [0.07, 0.09],
                                                   "resampled": "100 runs", "verdict": "holds"}])
    _reference(tmp_path, "global_shape", "release", [{**claim, "id": "DIST-1", "measured": 0.9, "verdict": "fails"}])
    rows = smoke + site.collect_results(tmp_path)
    assert site.columns_of(rows) == ["smoke", "full", "release"]
    page = site.dashboard_page(rows)
    # one row per claim, a column pair per profile; the interval and resampled unit beside the value
    assert page.count('data-id="XOR-4"') == 1
    assert "ours (smoke)" in page and "verdict (full)" in page and "verdict (release)" in page
    assert "0.105 [0.09, 0.12] (20 runs)" in page and "0.08 [0.07, 0.09] (100 runs)" in page
    assert 'data-v-0="inconclusive"' in page and 'data-v-1="holds"' in page and 'data-v-2="fails"' in page
    assert 'class="verdict verdict-inconclusive"' in page and ".verdict.verdict-inconclusive" in page  # its colour
    assert '<option value="inconclusive">inconclusive</option>' in page  # the verdict filter
    # provenance per column, and counts per kind with inconclusive apart
    assert "| xor_grokking | full | `results/xor_grokking/full.json` | `c0ffeec0ffee` | 2026-12-04T18:00:00Z | cpu: test | 3000 s |" in page
    assert "reproductions: 0 hold, 0 fail, 1 inconclusive, 0 not run" in page
    assert "reproductions: 1 holds, 0 fail, 0 inconclusive, 0 not run" in page


def test_a_notebook_without_claims_is_refused(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    path = tmp_path / "empty.ipynb"
    nbformat.write(nb, str(path))
    with pytest.raises(ValueError, match="no claims table"):
        site.collect_claims([path])


def test_a_markdown_cell_attachment_is_staged_as_a_file_the_page_links(tmp_path):
    import base64

    import nbformat

    png = (ROOT / "docs" / "img" / "xor_grokking.png").read_bytes()
    cell = nbformat.v4.new_markdown_cell("# T\n\n![lead](attachment:lead.png)\n\ntext")
    cell["attachments"] = {"lead.png": {"image/png": base64.b64encode(png).decode("ascii")},
                           "unused.png": {"image/png": base64.b64encode(png).decode("ascii")}}
    path = tmp_path / "study.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[cell, nbformat.v4.new_code_cell("1 + 1")]), str(path))
    staged = site.stage_notebook(path, tmp_path / "staged")
    source = nbformat.read(str(staged), as_version=4).cells[0].source
    assert "attachment:" not in source and "](_attachments/study/0-lead.png)" in source
    assert (tmp_path / "staged" / "_attachments" / "study" / "0-lead.png").read_bytes() == png
    assert not (tmp_path / "staged" / "_attachments" / "study" / "0-unused.png").exists()
    plain = tmp_path / "plain.ipynb"  # a notebook without attachments is copied as it is
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# P")]), str(plain))
    assert site.stage_notebook(plain, tmp_path / "staged").read_bytes() == plain.read_bytes()


def test_each_study_page_shows_its_lead_picture(built):
    import nbformat

    for path in site.study_notebooks(ROOT):
        page = (built / "studies" / f"{path.stem}.html").read_text()
        assert "attachment:" not in page, path.stem
        for name in nbformat.read(str(path), as_version=4).cells[0].get("attachments") or {}:
            image = built / "_images" / f"0-{Path(name).stem}.png"
            assert image.read_bytes() and f'src="../_images/{image.name}"' in page, (path.stem, name)


def _driver():
    return chromium_driver("--allow-file-access-from-files")


def _non_blank(path: Path) -> bool:
    img = np.asarray(Image.open(path).convert("L"), dtype=float)
    return img.size > 0 and float(img.std()) > 1.0


def test_site_in_a_real_browser(built):
    driver = _driver()
    shots = ROOT / "reports" / "site"
    shots.mkdir(parents=True, exist_ok=True)
    # the site's own pages (the theme's _static/ holds template fragments that are not pages)
    pages = sorted(p for p in built.rglob("*.html") if not any(part.startswith("_") for part in p.relative_to(built).parts))
    assert {p.name for p in pages} >= {"index.html", "claims.html", "teaching.html", "input_gradients.html"}
    try:
        anchors: dict[Path, set[str]] = {}
        links: list[tuple[Path, str]] = []
        for page in pages:
            driver.get(page.as_uri())
            errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
            assert not errors, (page.name, errors[:3])
            images = driver.execute_script(
                "return Array.from(document.images).map(i => [i.currentSrc || i.src, i.complete, i.naturalWidth])")
            for src, complete, width in images:
                assert complete and width > 0, (page.name, src)
                local = Path(unquote(urlparse(src).path))
                if local.suffix.lower() in (".png", ".jpg", ".jpeg"):
                    assert _non_blank(local), (page.name, src)
            anchors[page] = set(driver.execute_script("return Array.from(document.querySelectorAll('[id]')).map(e => e.id)"))
            for href in driver.execute_script("return Array.from(document.links).map(a => a.getAttribute('href'))"):
                if href and not href.startswith(("http:", "https:", "mailto:", "javascript:")):
                    links.append((page, href))
            if page.name in ("index.html", "claims.html") and page.parent == built:
                driver.save_screenshot(str(shots / page.name.replace(".html", ".png")))
        # every internal link resolves: the file exists, and so does the anchor it names
        for page, href in links:
            path, _, frag = href.partition("#")
            target = (page.parent / unquote(path)).resolve() if path else page
            assert target.exists(), (page.name, href)
            if frag and target.suffix == ".html" and target in anchors:
                assert unquote(frag) in anchors[target], (page.name, href)
        # the dashboard's filters work in the page
        from selenium.webdriver.support.ui import Select

        driver.get((built / "claims.html").as_uri())
        total = len(driver.find_elements("css selector", "#claims-table tr.claim"))
        Select(driver.find_element("id", "f-study")).select_by_value("input_gradients")
        shown = [tr for tr in driver.find_elements("css selector", "#claims-table tr.claim") if tr.is_displayed()]
        assert 0 < len(shown) < total and all(tr.get_attribute("data-study") == "input_gradients" for tr in shown)
        ncols = len(driver.find_elements("css selector", "#f-column option")) - 1
        for verdict in ("fails", "inconclusive"):
            Select(driver.find_element("id", "f-verdict")).select_by_value(verdict)
            for tr in driver.find_elements("css selector", "#claims-table tr.claim"):
                if tr.is_displayed():
                    assert verdict in {tr.get_attribute(f"data-v-{i}") for i in range(ncols)}, tr.get_attribute("data-id")
        # the verdict of one column only
        Select(driver.find_element("id", "f-study")).select_by_value("")
        Select(driver.find_element("id", "f-column")).select_by_value("0")
        Select(driver.find_element("id", "f-verdict")).select_by_value("holds")
        assert all(tr.get_attribute("data-v-0") == "holds"
                   for tr in driver.find_elements("css selector", "#claims-table tr.claim") if tr.is_displayed())
    finally:
        driver.quit()
    assert (shots / "index.png").stat().st_size > 10_000 and (shots / "claims.png").stat().st_size > 10_000
