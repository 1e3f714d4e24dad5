"""input_gradients claims: every rule holds on a case built to hold, fails on a counterexample, and is inconclusive
on a case whose interval straddles its threshold (a noisy null for the equivalence claims)."""

import numpy as np
import pandas as pd
import pytest

from cuelab.claims import input_gradients as R
from claim_checks import assert_has_interval, assert_holds_and_fails, assert_inconclusive

REPS, IMAGES = 3, 200


def _scores(std_nm=0.47, std_top=0.58, rob_top=0.95, rob_nm=0.26, sg_top=0.62, top_nm=0.12, top_top=0.99,
            rand_nm=0.5, rand_top=0.5, noise=0.02, rep_noise=0.0, seed=0):
    """Per-image scores around the given means; rep_noise shifts each replicate's mean (seed-to-seed spread)."""
    g = np.random.default_rng(seed)
    rows = []
    cells = [("standard", "gradient", std_nm, std_top), ("robust", "gradient", rob_nm, rob_top),
             ("standard", "smoothgrad", 0.45, sg_top), ("standard", "integrated_gradients", 0.4, 0.6),
             ("robust", "integrated_gradients", 0.3, 0.9), ("standard", "random", rand_nm, rand_top),
             ("standard (Top)", "gradient", top_nm, top_top)]
    for rep in range(REPS):
        shift = g.normal(0, rep_noise) if rep_noise else 0.0
        for model, method, nm, top in cells:
            rows.append(pd.DataFrame({"replicate": rep, "model": model, "method": method, "image": np.arange(IMAGES),
                                      "null_mass": nm + shift + g.normal(0, noise, IMAGES),
                                      "top10": top + shift + g.normal(0, noise, IMAGES)}))
    return pd.concat(rows, ignore_index=True)


def _roar(rob=(0.48, 0.50, 0.46), std=(0.06, 0.05, 0.07), rand=(0.0, 0.01, -0.01)):
    rows = [(rep, name, 0.05, 0.9, 0.9 - d, d, 0.9, 0.9, True, True)
            for name, ds in (("robust gradient", rob), ("standard gradient", std), ("random", rand))
            for rep, d in enumerate(ds)]
    return pd.DataFrame(rows, columns=["replicate", "attribution", "k", "acc_top", "acc_bottom", "diffroar",
                                       "reference_acc", "recipe_acc", "leak_guard_ok", "recipe_guard_ok"])


def _theory(top1=(0.0, 0.0, 0.05, 0.0, 0.0), bottom1=(0.55, 0.56, 0.57, 0.56, 0.55), mass=0.05, n=400, seed=0):
    g = np.random.default_rng(seed)
    rows = [pd.DataFrame({"seed": s, "top1": (g.random(n) < t).astype(float), "bottom1": (g.random(n) < b).astype(float),
                          "signal_mass": np.clip(mass + g.normal(0, 0.01, n), 0, 1)})
            for s, (t, b) in enumerate(zip(top1, bottom1))]
    return pd.concat(rows, ignore_index=True)


def _accuracies(low=0.85):
    return pd.DataFrame([{"replicate": r, "model": m, "n_test": 1000, "clean_acc": a}
                         for r in range(REPS) for m, a in (("standard", 0.9), ("robust", low), ("standard (Top)", 0.92))])


def _bench(std=(-0.05, -0.06, -0.04), rob=(0.10, 0.12, 0.11)):
    rows = [(a, k, i, d) for a, ds in (("standard", std), ("linf 8/255", rob), ("random", (0.0, 0.01, -0.01)))
            for k in (0.05, 0.1, 0.2, 0.5) for i, d in enumerate(ds)]
    return pd.DataFrame(rows, columns=["attribution", "k", "retrain", "diffroar"])


def _results(scores=None, roar=None, theory=None, robust_top1=1.0, robust_acc=0.95, low_acc=0.85, bench=None):
    robust = pd.DataFrame({"top1": np.r_[np.ones(int(round(400 * robust_top1))), np.zeros(400 - int(round(400 * robust_top1)))]})
    return R.IgResults(scores=_scores() if scores is None else scores, roar=_roar() if roar is None else roar,
                       accuracies=_accuracies(low_acc), theory_points=_theory() if theory is None else theory,
                       theory_robust=robust, theory_robust_acc=robust_acc,
                       theory_accuracies={"theory standard": (1.0, 1000)}, bench=bench or {})


BENCH = {"cifar10": _bench()}
CASES = {  # claim id: (holding, failing counterexample, straddling → inconclusive)
    "IG-1": (_results(), _results(scores=_scores(top_nm=0.45)), _results(scores=_scores(top_nm=0.27, rep_noise=0.05, seed=3))),
    "IG-2": (_results(), _results(scores=_scores(rob_top=0.6)), _results(scores=_scores(rob_top=0.81, rep_noise=0.04, seed=1))),
    "IG-3": (_results(), _results(roar=_roar(rob=(0.10, 0.12, 0.08))), _results(roar=_roar(rob=(0.2, 0.4, 0.3)))),
    "IG-4": (_results(), _results(roar=_roar(rob=(0.2, 0.21, 0.19), std=(0.1, 0.1, 0.1))),
             _results(roar=_roar(rob=(0.2, 0.45, 0.3), std=(0.05, 0.05, 0.05)))),
    "IG-5": (_results(), _results(roar=_roar(rand=(0.2, 0.21, 0.19))), _results(roar=_roar(rand=(0.06, -0.06, 0.0)))),
    "IG-6": (_results(), _results(scores=_scores(top_nm=0.4, top_top=0.6)),
             _results(scores=_scores(top_nm=0.22, rep_noise=0.05, seed=2))),
    "IG-7": (_results(), _results(theory=_theory(top1=(0.9,) * 5)),
             _results(theory=_theory(bottom1=(0.2, 0.5, 0.1, 0.6, 0.3)))),
    "IG-7R": (_results(), _results(robust_top1=0.5), _results(robust_top1=0.955)),
    "IG-8": (_results(), _results(low_acc=0.5), _results(low_acc=0.80)),
    "IG-9": (_results(), _results(scores=_scores(sg_top=0.9)), _results(scores=_scores(sg_top=0.69, rep_noise=0.03, seed=4))),
    "IG-10": (_results(bench=BENCH), _results(bench={"cifar10": _bench(std=(0.02, 0.03, 0.025))}),
              _results(bench={"cifar10": _bench(std=(-0.05, 0.04, 0.0))})),
    "IG-11": (_results(theory=_theory(n=4000)), _results(theory=_theory(bottom1=(0.95,) * 5)),
              _results(theory=_theory(bottom1=(0.5, 0.95, 0.55, 0.74, 0.84)))),
    "IG-12": (_results(roar=_roar(std=(-0.05, -0.06, -0.04))), _results(), _results(roar=_roar(std=(0.06, -0.05, 0.0)))),
    "IG-13": (_results(bench={"svhn": _bench()}), _results(bench={"svhn": _bench(rob=(-0.1, -0.12, -0.11))}),
              _results(bench={"svhn": _bench(rob=(0.1, -0.05, 0.0))})),
    "IG-14": (_results(bench={"fashion_mnist": _bench()}), _results(bench={"fashion_mnist": _bench(std=(0.1, 0.12, 0.11))}),
              _results(bench={"fashion_mnist": _bench(std=(0.05, -0.05, 0.0))})),
}
NOT_RUN_ONLY = {"IG-15"}  # ImageNet-10: never run (no threshold is decided)


def test_every_claim_id_has_a_case():
    assert set(CASES) | NOT_RUN_ONLY == set(R.RULES)


@pytest.mark.counterexample
@pytest.mark.parametrize("claim_id", sorted(CASES))
def test_counterexample_rule_fails_and_holds(claim_id):
    assert_holds_and_fails(R.RULES[claim_id], *CASES[claim_id][:2])


@pytest.mark.counterexample
@pytest.mark.parametrize("claim_id", sorted(CASES))
def test_counterexample_straddling_interval_is_inconclusive(claim_id):
    assert_inconclusive(R.RULES[claim_id], CASES[claim_id][2])


@pytest.mark.parametrize("claim_id", sorted(CASES))
def test_every_run_claim_has_an_interval(claim_id):
    assert_has_interval(R.RULES[claim_id](CASES[claim_id][0]))


@pytest.mark.counterexample
def test_counterexample_a_random_attribution_fails_ig1_and_ig9():
    """Feed the random map's numbers as the model's own: both rules must reject it."""
    r = _results(scores=_scores(std_nm=0.5, std_top=0.5, sg_top=0.5, top_nm=0.5, top_top=0.5))
    assert R.ig_1(r).verdict == "fails" and R.ig_9(r).verdict == "fails"
    c = R.ig_1(_results())
    assert c.verdict == "holds" and c.control["verdict"] == "fails"
    assert R.ig_9(_results()).control["verdict"] == "fails"


@pytest.mark.counterexample
def test_counterexample_equivalence_claims_do_not_hold_on_a_noisy_null():
    """A zero with a wide interval is inconclusive for IG-5 and IG-6, never holds."""
    assert R.ig_5(_results(roar=_roar(rand=(0.08, -0.08, 0.0)))).verdict == "inconclusive"
    noisy_top = _results(scores=_scores(top_nm=0.18, top_top=0.95, rep_noise=0.1, seed=3))  # mean 0.18 < 0.25, spread wide
    assert R.ig_6(noisy_top).verdict in ("inconclusive", "fails")
    assert R.random_diffroar_margin(1000) == pytest.approx(0.0671, abs=1e-4)


def test_benchmarks_and_imagenet_are_not_run_offline():
    r = _results()
    for cid in ("IG-10", "IG-13", "IG-14", "IG-15"):
        c = R.RULES[cid](r)
        assert c.verdict == "not run" and "not run" in c.rule and c.source


def test_robust_half_is_not_run_on_a_network_that_is_not_robust():
    c = R.ig_7r(_results(robust_acc=0.152))
    assert c.verdict == "not run" and "0.152" in c.rule and "0.9" in c.rule


@pytest.mark.counterexample
def test_counterexample_chance_level_theory_fails_ig7_and_ig11():
    """The Adam-trained width-512 result of an earlier round (bottom-1 0.118 ≈ chance) is not feature inversion."""
    adam = _results(theory=_theory(top1=(0.0,) * 5, bottom1=(0.118,) * 5, mass=0.1, n=2000))
    assert R.ig_7(adam).verdict == "fails" and R.ig_11(adam).verdict == "fails"


def test_ig11_gets_harder_not_easier_when_the_seeds_vary():
    """The equivalence test: a wider spread over seeds cannot turn a fail into a hold."""
    tight = _results(theory=_theory(bottom1=(0.56,) * 5, n=4000))
    spread = _results(theory=_theory(bottom1=(0.2, 0.9, 0.56, 0.3, 0.8), n=4000))
    assert R.ig_11(tight).verdict == "holds" and R.ig_11(spread).verdict == "inconclusive"


def test_guard_reports_the_attributed_models_accuracy_and_the_post_hoc_ceiling():
    detail = R.ig_3(_results()).detail
    assert "leak guard ok on 3/3 retrains (vs the attributed models' 0.900/0.900/0.900)" in detail
    assert "post hoc" in detail


def test_standard_diffroar_claim_has_the_papers_sign():
    c = R.ig_12(_results())  # the smoke run's sign: positive
    assert c.verdict == "fails" and "≤ 0" in c.rule and c.interval is not None
