"""Intervals and the verdicts decided on them: holds / fails only when the whole interval is on one side."""

import json
import math

import numpy as np
import pytest
from scipy import stats

from cuelab import claims as C
from cuelab import intervals as I

R = dict(kind="reproduction", paper=0.1, source="Fig. 1")


def est(value, half, n=20, unit="runs"):
    return I.Estimate(value, value - half, value + half, n, f"{n} {unit}")


@pytest.mark.parametrize("rule, holds, fails, straddles", [
    (C.at_least(0.8), est(0.9, 0.05), est(0.7, 0.05), est(0.8, 0.05)),
    (C.more_than(0.0), est(0.3, 0.1), est(-0.3, 0.1), est(0.05, 0.1)),
    (C.at_most(0.1), est(0.05, 0.02), est(0.2, 0.05), est(0.105, 0.015)),
    (C.less_than(1e-4), est(1e-5, 1e-6), est(1e-3, 1e-4), est(1e-4, 5e-5)),
    (C.between(0.4, 0.6), est(0.5, 0.05), est(0.8, 0.05), est(0.58, 0.05)),
    (C.equals(1.0, tol=0.01), est(1.0, 0.005), est(0.9, 0.02), est(0.99, 0.02)),
    (C.abs_below(0.3), est(0.0, 0.1), est(0.6, 0.1), est(0.0, 0.4)),
])
@pytest.mark.counterexample
def test_every_rule_kind_holds_fails_and_is_inconclusive(rule, holds, fails, straddles):
    v = lambda e: C.decide("A", "s", measured=e, rule=rule, **R).verdict  # noqa: E731
    assert (v(holds), v(fails), v(straddles)) == ("holds", "fails", "inconclusive")


@pytest.mark.counterexample
def test_a_noisy_zero_is_inconclusive_for_a_no_effect_claim():
    """DIST-4's shape: ρ = 0.0 with ±0.4 is not evidence of "no correlation" at a margin of 0.3 (or 0.5)."""
    for margin in (0.3, 0.35):
        c = C.decide("DIST-4", "no correlation", measured=I.Estimate(0.0, -0.4, 0.4, 17, "17 networks"),
                     rule=C.equivalent(margin, what="Spearman ρ"), **R)
        assert c.verdict == "inconclusive" and "equivalence" in c.rule
    assert C.decide("Z", "no effect", measured=est(0.0, 0.05), rule=C.abs_below(0.1), **R).verdict == "holds"


def test_an_inconclusive_claim_says_how_many_more_runs_would_decide_it():
    c = C.decide("XOR-4", "gap", measured=est(0.105, 0.02, n=20), rule=C.at_most(0.10), **R)
    assert c.verdict == "inconclusive"
    need = math.ceil(20 * (0.02 / 0.005) ** 2)
    assert f"about {need:,} runs (now 20)" in c.detail and "1/√n" in c.detail
    on = C.decide("A", "s", measured=est(0.10, 0.02), rule=C.at_most(0.10), **R)
    assert on.verdict == "inconclusive" and "sits on the threshold" in on.detail


def test_point_values_decide_as_before_and_say_they_have_no_interval():
    c = C.decide("A", "s", measured=0.105, rule=C.at_most(0.10), **R)
    assert c.verdict == "fails" and c.interval is None and c.no_interval == C.NO_INTERVAL
    s = C.decide("S", "s", measured=0.05, rule=C.at_most(0.10), kind="sanity", paper=0, source="by design")
    assert s.verdict == "holds" and s.no_interval == ""
    why = C.decide("B", "s", measured=1.0, rule=C.equals(1.0), no_interval="every run gives exactly 1.0", **R)
    assert why.no_interval == "every run gives exactly 1.0"


def test_claims_json_carries_interval_n_resampled_and_a_power_line(tmp_path):
    t = C.ClaimTable("xor_grokking", profile="smoke", seed=0)
    t.add(C.decide("A", "s", measured=I.wilson(270, 300, unit="images"), rule=C.at_least(0.8), **R),
          C.decide("B", "s", measured=[I.wilson(150, 300), est(5.0, 1.0)], rule=C.all_of(C.between(0.4, 0.6), C.at_least(3)), **R))
    data = json.loads(t.write(tmp_path).read_text())
    a, b = data["claims"]
    assert a["verdict"] == "holds" and a["n"] == 300 and a["resampled"] == "300 images" and len(a["interval"]) == 2
    assert b["verdict"] == "holds" and len(b["interval"]) == 2 and b["n"] == [300, 20]
    assert "half-width ±" in t["A"].power and "[" in t["A"].measured_text() and "(300 images)" in t["A"].measured_text()
    assert data["summary"]["reproduction"]["inconclusive"] == 0
    back = C.load_claims(tmp_path / "claims.json")["claims"]
    assert back[0]["interval"] == a["interval"]


@pytest.mark.counterexample
def test_all_of_and_each_fail_on_one_failing_part_and_are_inconclusive_on_one_straddling_part():
    both = C.all_of(C.between(0.4, 0.6), C.at_least(0.8))
    d = lambda *m: C.decide("A", "s", measured=list(m), rule=both, **R).verdict  # noqa: E731
    assert d(est(0.5, 0.02), est(0.9, 0.02)) == "holds"
    assert d(est(0.5, 0.02), est(0.5, 0.02)) == "fails"
    assert d(est(0.59, 0.05), est(0.9, 0.02)) == "inconclusive"
    every = C.each(C.more_than(0.0), what="every seed's margin")
    e = lambda *m: C.decide("W", "s", measured=list(m), rule=every, **R).verdict  # noqa: E731
    assert e(est(0.05, 0.01), est(0.08, 0.01)) == "holds"
    assert e(est(0.05, 0.01), est(-0.08, 0.01)) == "fails"
    assert e(est(0.05, 0.01), est(0.01, 0.03)) == "inconclusive"
    assert every.text == "every seed's margin: measured > 0"


@pytest.mark.counterexample
def test_an_inconclusive_control_keeps_a_holding_claim_from_holding():
    rule = C.at_least(0.3)
    c = C.decide("IG-3", "s", measured=est(0.5, 0.05), rule=rule, control=("random map", est(0.3, 0.1)), **R)
    assert c.verdict == "inconclusive" and c.control["verdict"] == "inconclusive" and "does not clearly fail" in c.detail
    c = C.decide("IG-3", "s", measured=est(0.5, 0.05), rule=rule, control=("random map", est(0.0, 0.05)), **R)
    assert c.verdict == "holds" and c.control["interval"] == [-0.05, 0.05]


def test_wilson_matches_its_closed_form_and_stays_in_0_1():
    e = I.wilson(0, 20)
    assert e.low == 0.0 and 0 < e.high < 0.2
    e = I.wilson(81, 100)
    z = stats.norm.ppf(0.975)
    p, n = 0.81, 100
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert e.low == pytest.approx(centre - half) and e.high == pytest.approx(centre + half)


def test_bootstrap_and_t_intervals_cover_the_truth_at_about_95_percent():
    rng = np.random.default_rng(0)
    cover_t = cover_b = 0
    for _ in range(200):
        x = rng.normal(1.0, 1.0, 30)
        t = I.t_over_runs(x)
        b = I.over_runs(x, stat=np.mean, n_boot=400, seed=1)
        cover_t += t.low <= 1.0 <= t.high
        cover_b += b.low <= 1.0 <= b.high
    assert 0.88 <= cover_t / 200 <= 0.99 and 0.85 <= cover_b / 200 <= 0.99


def test_intervals_are_deterministic_and_shrink_with_n():
    x = np.random.default_rng(3).normal(size=40)
    assert I.over_runs(x, seed=5) == I.over_runs(x, seed=5)
    assert I.over_runs(x[:10]).half_width > I.over_runs(x).half_width
    one = C.decide("A", "s", measured=I.over_runs([0.4]), rule=C.at_least(0.3), **R)
    assert one.verdict == "holds" and one.interval is None and "one run" in one.no_interval


def test_nested_is_wider_than_items_alone_when_runs_differ():
    rng = np.random.default_rng(0)
    groups = [rng.random(300) < p for p in (0.6, 0.7, 0.8)]
    pooled = I.wilson(sum(g.sum() for g in groups), 900)
    nest = I.nested(groups, outer="seeds", inner="images")
    assert nest.half_width > pooled.half_width and nest.resampled == "3 seeds × 300 images"


def test_spearman_and_differences():
    x = np.arange(20.0)
    assert I.spearman(x, x).value == pytest.approx(1.0)
    noise = I.spearman(x, np.random.default_rng(0).permutation(x))
    assert noise.low < 0 < noise.high
    d = I.difference(est(0.5, 0.03), est(0.2, 0.04))
    assert d.value == pytest.approx(0.3) and d.half_width == pytest.approx(0.05)
    p = I.paired_difference([1, 2, 3, 4.0], [0, 1, 2, 3.0], unit="triplets")
    assert p.value == 1.0 and p.half_width == 0 and p.resampled == "4 triplets"


def test_bootstrap_runs_resamples_whole_runs_and_allows_not_reached():
    rng = np.random.default_rng(3)
    curves = 0.5 + 0.5 * rng.random((20, 5))  # 20 runs × 5 steps
    med_gap = lambda t: float(np.max(np.abs(np.median(t, axis=0) - 0.75)))  # noqa: E731
    e = I.bootstrap_runs(curves, med_gap)
    assert e.value == pytest.approx(med_gap(curves)) and e.low <= e.value <= e.high and e.n == 20
    assert e.resampled == "20 runs" and e == I.bootstrap_runs(curves, med_gap)  # deterministic
    # a statistic over one column equals over_runs' median bootstrap in value
    assert I.bootstrap_runs(curves[:, 0], lambda t: float(np.median(t))).value == pytest.approx(np.median(curves[:, 0]))
    # "first step reaching 0.9 of the median curve", not reached in most resamples: the high end is inf
    first = lambda t: next((float(s) for s, v in enumerate(np.median(t, axis=0)) if v >= 0.99), math.inf)  # noqa: E731
    far = I.bootstrap_runs(curves, first)
    assert far.value == math.inf and far.high == math.inf
    with pytest.raises(ValueError, match="2-D"):
        I.bootstrap_runs(np.zeros((2, 2, 2)), med_gap)
