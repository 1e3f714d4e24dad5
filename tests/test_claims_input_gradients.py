"""input_gradients claims: every rule holds on a case built to hold and fails on a counterexample."""

import pandas as pd
import pytest

from cuelab.claims import input_gradients as R
from claim_checks import assert_holds_and_fails


def _loc(std_nm=0.47, std_top=0.58, rob_top=0.95, rob_nm=0.26, sg_top=0.58, rand_nm=0.5, rand_top=0.5):
    rows = [("standard", "gradient", std_nm, std_top), ("robust", "gradient", rob_nm, rob_top),
            ("standard", "smoothgrad", 0.45, sg_top), ("standard", "integrated_gradients", 0.4, 0.6),
            ("robust", "integrated_gradients", 0.3, 0.9), ("standard", "random", rand_nm, rand_top)]
    return pd.DataFrame(rows, columns=["model", "method", "null_mass", "top10"]).set_index(["model", "method"])


def _roar(rob=0.48, std=0.06, rand=0.0, guard=True):
    rows = [(name, k, d, 0.9, 0.9 - d, guard) for name, d in (("robust gradient", rob), ("standard gradient", std), ("random", rand))
            for k in (0.05, 0.1)]
    return pd.DataFrame(rows, columns=["attribution", "k", "diffroar", "acc_top", "acc_bottom", "leak_guard_ok"])


def _theory(std_top1=0.05, rob_top1=1.0, std_bottom1=0.55):
    return pd.DataFrame({"top1_signal": [std_top1, rob_top1], "bottom1_signal": [std_bottom1, 0.0], "robust_acc": [0.1, 0.9],
                         "clean_acc": [0.99, 0.95], "width": [25_000, 25_000]}, index=["standard", "robust"])


def _bench(std=-0.05, rob=0.1):
    rows = [(a, k, d) for a, d in (("standard", std), ("linf 8/255", rob), ("random", 0.0)) for k in (0.05, 0.1, 0.2, 0.5)]
    return {"cifar10": pd.DataFrame(rows, columns=["attribution", "k", "diffroar"])}


def _results(loc=None, top_nm=0.12, top_top=1.0, roar=None, theory=None, low_acc=0.83, bench=None):
    return R.IgResults(loc=_loc() if loc is None else loc,
                       loc_top=pd.DataFrame({"null_mass": [top_nm], "top10": [top_top]}, index=["standard (Top)"]),
                       roar=_roar() if roar is None else roar, theory=_theory() if theory is None else theory,
                       accuracies={"standard": 0.95, "robust": low_acc}, bench=bench or {})


CASES = {
    "IG-1": (_results(), _results(top_nm=0.45)),
    "IG-2": (_results(), _results(loc=_loc(rob_top=0.6))),
    "IG-3": (_results(), _results(roar=_roar(rob=0.1))),
    "IG-4": (_results(), _results(roar=_roar(rob=0.2, std=0.1))),
    "IG-5": (_results(), _results(roar=_roar(rand=0.2))),
    "IG-6": (_results(), _results(top_nm=0.4, top_top=0.7)),
    "IG-7": (_results(), _results(theory=_theory(std_top1=0.9))),
    "IG-11": (_results(), _results(theory=_theory(std_bottom1=0.9))),
    "IG-8": (_results(), _results(low_acc=0.5)),
    "IG-9": (_results(), _results(loc=_loc(sg_top=0.9))),
    "IG-10": (_results(bench=_bench()), _results(bench=_bench(std=0.02))),
}


def test_every_claim_id_has_a_case():
    assert set(CASES) == set(R.RULES)


@pytest.mark.parametrize("claim_id", sorted(CASES))
def test_counterexample_rule_fails_and_holds(claim_id):
    assert_holds_and_fails(R.RULES[claim_id], *CASES[claim_id])


def test_counterexample_a_random_attribution_fails_ig1_and_ig9():
    """Feed the random map's numbers as the model's own: both rules must reject it."""
    random_map = _loc(std_nm=0.5, std_top=0.5, sg_top=0.5)
    r = _results(loc=random_map, top_nm=0.5, top_top=0.5)
    assert R.ig_1(r).verdict == "fails" and R.ig_9(r).verdict == "fails"
    # and in a real-looking run the run's own random control fails as it should
    c = R.ig_1(_results())
    assert c.verdict == "holds" and c.control["verdict"] == "fails"
    assert R.ig_9(_results()).control["verdict"] == "fails"


def test_counterexample_ig10_is_not_run_without_the_benchmark():
    assert R.ig_10(_results()).verdict == "not run"


def test_counterexample_chance_level_theory_fails_ig7_and_ig11():
    """The Adam-trained width-512 result of the last round (bottom-1 0.118 ≈ chance) is not feature inversion."""
    adam = _results(theory=_theory(std_top1=0.0, std_bottom1=0.118))
    assert R.ig_7(adam).verdict == "fails" and R.ig_11(adam).verdict == "fails"
    random_ranking = _results(theory=_theory(std_top1=0.1, rob_top1=0.1, std_bottom1=0.1))
    assert R.ig_7(random_ranking).verdict == "fails" and R.ig_11(random_ranking).verdict == "fails"


def test_ig11_uses_the_spread_over_seeds():
    seeds = pd.DataFrame({"top1_signal": [0.0, 0.0, 0.0, 0.053, 0.0], "bottom1_signal": [0.742, 0.547, 0.95, 0.495, 0.842]})
    r = _results()
    r.theory_seeds = seeds
    assert R.ig_11(r).verdict == "holds" and R.ig_7(r).verdict == "holds"
    r.theory_seeds = seeds.assign(bottom1_signal=[0.95, 0.96, 0.97, 0.95, 0.96])  # tight and far from v1's 0.562
    assert R.ig_11(r).verdict == "fails"
    assert R.prediction_excess(pd.Series([0.5]), 0.56) == pytest.approx(0.01)  # one value: ± one point's share


def test_guard_reports_the_attributed_models_accuracy():
    roar = _roar()
    roar["reference_acc"] = 0.91
    assert R.ig_3(_results(roar=roar)).detail.endswith("leak guard ok (vs the attributed model's 0.910)")
