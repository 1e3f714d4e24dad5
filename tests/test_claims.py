import json
import math

import pytest

from cuelab import claims as C


def make_table():
    t = C.ClaimTable("xor_grokking", profile="smoke", seed=3)
    r = dict(kind="reproduction", source="Fig. 1")
    t.add(C.decide("X-1", "fits", paper=1.0, measured=1.0, rule=C.equals(1.0), **r),
          C.decide("X-2", "near chance", paper=0.505, measured=0.71, rule=C.between(0.4, 0.6), **r),
          C.decide("X-3", "two parts", paper=None, measured=[0.9, 4.0], rule=C.all_of(C.at_least(0.8), C.at_least(3)),
                   kind="sanity", source="by construction"),
          C.not_run("X-4", "needs weights", paper=0.5, reason="full profile only", **r))
    return t


def test_rules_decide_with_real_numbers():
    assert C.at_least(0.9)(0.9) and not C.at_least(0.9)(0.8999)
    assert C.at_most(0.02)(0.02) and not C.at_most(0.02)(0.0201)
    assert C.less_than(1e-4)(9e-5) and not C.less_than(1e-4)(1e-4)
    assert C.between(0.4, 0.6)(0.505) and not C.between(0.4, 0.6)(0.61)
    assert C.equals(1.0, tol=0.01)(0.995) and not C.equals(1.0)(0.995)
    assert not C.at_least(0.0)(math.nan)
    assert not C.at_least(2)(None)  # e.g. "first step reaching 0.8" when it is never reached
    both = C.all_of(C.between(0.8, 1.25), C.at_least(3))
    assert both([1.0, 16.8]) and not both([1.0, 2.9])
    assert both.text == "0.8 ≤ measured ≤ 1.25 and measured ≥ 3"


def test_failing_claim_is_reported_as_failed_with_its_measurement():
    t = make_table()
    assert [c.verdict for c in t.claims] == ["holds", "fails", "holds", "not run"]
    assert t["X-2"].measured == 0.71
    assert t["X-2"].rule == "0.4 ≤ measured ≤ 0.6"
    assert t["X-4"].measured is None and "full profile only" in t["X-4"].rule


def test_json_keeps_the_contract(tmp_path):
    path = make_table().write(tmp_path)
    assert path == tmp_path / "claims.json"
    data = json.loads(path.read_text())
    assert data["study"] == "xor_grokking" and data["profile"] == "smoke" and data["seed"] == 3
    assert [c["id"] for c in data["claims"]] == ["X-1", "X-2", "X-3", "X-4"]
    for c in data["claims"]:
        assert {"id", "statement", "paper", "measured", "rule", "verdict"} <= c.keys()
    assert data["claims"][2]["measured"] == [0.9, 4.0]
    assert C.load_claims(path)["claims"][1]["verdict"] == "fails"


def test_load_claims_rejects_a_broken_file(tmp_path):
    bad = tmp_path / "claims.json"
    bad.write_text(json.dumps({"study": "x", "profile": "smoke", "seed": 0, "claims": [{"id": "A", "verdict": "maybe"}]}))
    with pytest.raises(ValueError, match="verdict 'maybe'"):
        C.load_claims(bad)
    bad.write_text(json.dumps({"study": "x"}))
    with pytest.raises(ValueError, match="lacks"):
        C.load_claims(bad)


def test_numpy_values_and_nan_become_plain_json(tmp_path):
    np = pytest.importorskip("numpy")
    t = C.ClaimTable("xor_grokking", profile="smoke", seed=0)
    t.check("A", "s", paper=np.float64(0.5), measured=np.float64(math.nan), rule=C.at_least(0))
    t.check("B", "s", paper=None, measured=np.int64(3), rule=C.at_least(2))
    data = json.loads(t.write(tmp_path / "c.json").read_text())
    assert data["claims"][0]["measured"] is None and data["claims"][0]["verdict"] == "fails"
    assert data["claims"][1]["measured"] == 3 and data["claims"][1]["verdict"] == "holds"


def test_small_measurements_keep_their_significant_digits(tmp_path):
    t = C.ClaimTable("xor_grokking", profile="smoke", seed=0)
    t.check("A", "loss gap", paper=None, measured=2.0912345678e-10, rule=C.less_than(1e-4))
    t.check("B", "accuracy", paper=0.505, measured=0.51412345678, rule=C.at_least(0.5))
    data = json.loads(t.write(tmp_path).read_text())
    assert data["claims"][0]["measured"] == 2.09123e-10
    assert data["claims"][1]["measured"] == 0.514123


def test_verdicts_text_and_html():
    t = make_table()
    assert t.verdicts().splitlines() == [
        "X-1  reproduction  holds", "X-2  reproduction  fails", "X-3  sanity        holds", "X-4  reproduction  not run",
        "reproductions: 1 holds, 1 fails, 0 inconclusive, 1 not run · "
        "sanity checks (not findings): 1 holds, 0 fail, 0 inconclusive, 0 not run"]
    html = t._repr_html_()
    assert "near chance" in html and "fails" in html and "<table>" in html and "Fig. 1" in html
    assert list(t.to_frame().columns[:6]) == ["id", "statement", "paper", "measured", "rule", "verdict"]


def test_counts_keep_sanity_checks_apart_from_reproductions(tmp_path):
    data = json.loads(make_table().write(tmp_path).read_text())
    assert data["summary"]["reproduction"] == {"holds": 1, "fails": 1, "inconclusive": 0, "not run": 1}
    assert data["summary"]["sanity"] == {"holds": 1, "fails": 0, "inconclusive": 0, "not run": 0}
    assert all(c["kind"] in C.KINDS and c["source"] for c in data["claims"])


@pytest.mark.counterexample
def test_counterexample_a_control_that_passes_the_rule_makes_the_claim_fail():
    rule = C.at_most(0.7, what="top10")
    ok = C.decide("L", "localises", kind="reproduction", paper="Fig. 2", source="Fig. 2", measured=0.5, rule=rule,
                  control=("random attribution", 0.9))
    assert ok.verdict == "holds" and ok.control["verdict"] == "fails"
    assert "fails as it should" in ok.control_text and "fails as it should" in ok.explain()
    bad = C.decide("L", "localises", kind="reproduction", paper="Fig. 2", source="Fig. 2", measured=0.5, rule=rule,
                   control=("random attribution", 0.5))
    assert bad.verdict == "fails" and "passes the same rule" in bad.detail and "PASSES TOO" in bad.control_text


def test_decide_requires_a_kind_and_a_source():
    with pytest.raises(ValueError, match="kind="):
        C.decide("A", "s", kind="finding", paper=1, source="Table 1", measured=1, rule=C.equals(1))
    with pytest.raises(ValueError, match="source"):
        C.decide("A", "s", kind="sanity", paper=1, source="", measured=1, rule=C.equals(1))


def test_post_hoc_thresholds_are_said_in_the_explanation():
    c = C.decide("A", "s", kind="reproduction", paper=1, source="Table 1", measured=1, rule=C.equals(1),
                 post_hoc="picked after the first smoke run")
    assert "post hoc: picked after the first smoke run" in c.explain()


def test_an_older_claims_json_reads_with_unknown_fields(tmp_path):
    old = tmp_path / "claims.json"
    old.write_text(json.dumps({"study": "xor_grokking", "profile": "smoke", "seed": 0,
                               "claims": [{"id": "A", "statement": "s", "paper": 1, "measured": 1, "rule": "r", "verdict": "holds"}]}))
    c = C.load_claims(old)["claims"][0]
    assert c["kind"] == "unknown" and c["source"] == "unknown" and c["control"] is None


def test_claims_json_records_the_environment_apart_from_the_claims(tmp_path):
    import time

    data = json.loads(make_table().write(tmp_path, started=time.time() - 5).read_text())
    env = data["environment"]
    assert {"commit", "versions", "device", "wall_s"} <= env.keys()
    assert {"torch", "torchvision", "lightning", "numpy"} <= env["versions"].keys()
    assert env["wall_s"] >= 5 and env["device"].startswith(("cpu", "cuda"))


def test_duplicate_ids_and_bad_study_are_refused():
    t = make_table()
    with pytest.raises(ValueError, match="already"):
        t.check("X-1", "again", paper=1, measured=1, rule=C.equals(1))
    with pytest.raises(ValueError, match="study="):
        C.ClaimTable("xor", profile="smoke", seed=0)


def test_a_displayed_table_carries_its_claims_for_the_dashboard():
    bundle = make_table()._repr_mimebundle_()
    assert {"text/html", "text/plain", C.CLAIMS_MIME} <= bundle.keys()
    data = bundle[C.CLAIMS_MIME]
    assert [c["id"] for c in data["claims"]] == ["X-1", "X-2", "X-3", "X-4"] and "commit" in data["environment"]
