"""shortcut_cues claims: every rule holds on a case built to hold, fails on a counterexample, and is inconclusive on
a case whose interval straddles its threshold."""

import numpy as np
import pandas as pd
import pytest

from cuelab.claims import shortcut_cues as R
from claim_checks import assert_has_interval, assert_holds_and_fails, assert_inconclusive

CUES = ["color", "shape", "scale", "orientation"]


def _final(colour=1.0, other=0.33, archs=("cnn", "mlp", "vit")):
    rows = [{"arch": a, "seed": s, "color": colour, "shape": other, "scale": other, "orientation": other}
            for a in archs for s in range(3)]
    return pd.DataFrame(rows).set_index(["arch", "seed"])


def _loo(shape=(0.45, 0.46, 0.44), orient=(0.30, 0.31, 0.29)):
    return pd.DataFrame({"shape": list(shape), "scale": [0.55, 0.56, 0.54], "orientation": list(orient)})


def _forced(uses=(True, True, True, True), follows=CUES, base=(0.03, 0.03, 0.03, 0.03), seeds=(0, 1)):
    rows = []
    for s in seeds:
        for c, u, f, b in zip(CUES, uses, follows, base):
            rows.append({"seed": s, "cue": c, "base_loss": b, "train_acc": 1.0, "heldout_own_acc": 0.99 if u else 0.4,
                         "uses_cue": u, "follows": f, "n_heldout": 300})
    return pd.DataFrame(rows)


def _sphere(means=None, noise=0.05, seeds=(0, 1), n_dir=10, radii=(2.0, 6.0, 30.0)):
    means = means or {"color": 0.1, "shape": 1.0, "scale": 1.2, "orientation": 1.5}
    rng = np.random.default_rng(0)
    rows = [{"seed": s, "cue": c, "direction": k, "r": r, "delta": (m * r / 6) * (1 + noise * rng.standard_normal())}
            for s in seeds for c, m in means.items() for k in range(n_dir) for r in radii]
    return pd.DataFrame(rows)


def _share(colour=0.03, noise=0.001, n=20):
    rng = np.random.default_rng(1)
    means = {"color": colour, "shape": 0.007, "scale": 0.02, "orientation": 0.0015}
    return pd.DataFrame([{"arch": a, "init": i, "cue": c, "share": m + noise * rng.standard_normal()}
                         for a in ("mlp", "cnn") for i in range(n) for c, m in means.items()])


def _footprint(means=None, noise=0.5, n=10):
    means = means or {"color": 25.7, "shape": 32.1, "scale": 35.5, "orientation": 31.0}
    rng = np.random.default_rng(2)
    return pd.DataFrame([{"base": b, "cue": c, "bytes": m + noise * rng.standard_normal()} for b in range(n) for c, m in means.items()])


def _bias(ratios=(1.0, 1.05, 1.1)):
    return pd.DataFrame({"radius": [3.0, 4.0, 5.0][:len(ratios)], "ratio": list(ratios)})


def _results(**over):
    base = dict(
        cues=CUES, archs=["cnn", "mlp"], final=_final(), chance=pd.Series([0.3, 0.35, 0.32, 0.3], index=CUES), n_eval=300,
        loo=_loo(), dropped="color", loo_arch="cnn", forced=_forced(), sphere=_sphere(), share=_share(),
        adopted=pd.Series([20, 0, 0, 0], index=CUES),
        compression=pd.Series([17, 35, 38, 34], index=CUES), mdl_bits=pd.Series([135, 1612, 1620, 1623], index=CUES),
        uniform_bits=1623.0, footprint=_footprint(), footprint_bias=None,
        utk=pd.Series({"race": 0.8, "gender": 0.6, "age": 0.5}), utk_n=500)
    return R.ScResults(**(base | over))


CASES = {  # holding results, a failing counterexample
    "WCST-1": (_results(), _results(final=_final(colour=0.33, other=0.33))),  # a colour-blind model
    "WCST-2": (_results(), _results(final=_final(colour=0.5))),
    "WCST-3": (_results(), _results(loo=_loo(orient=(0.30, 0.60, 0.29)))),  # one seed with orientation far above shape
    "WCST-4": (_results(), _results(sphere=_sphere({"color": 2.0, "shape": 1.0, "scale": 1.2, "orientation": 1.5}))),
    "WCST-5": (_results(), _results(adopted=pd.Series([8, 8, 0, 0], index=CUES))),
    "WCST-6": (_results(), _results(compression=pd.Series([34, 35, 38, 34], index=CUES))),
    "WCST-7": (_results(), _results(utk=pd.Series({"race": 0.5, "gender": 0.7, "age": 0.5}))),
    "WCST-8": (_results(archs=["cnn", "vit"]), _results(archs=["cnn", "vit"], final=_final(colour=0.4, other=0.6))),
    # a cue whose footprint is as small as colour's: colour is no longer the simplest
    "WCST-9": (_results(), _results(footprint=_footprint({"color": 32.0, "shape": 32.1, "scale": 35.5, "orientation": 25.0}))),
}

STRADDLING = {  # an interval across the threshold
    "WCST-1": _results(final=_final(colour=0.90)),  # 270 of 300: Wilson [0.86, 0.93] across 0.90
    "WCST-2": _results(final=_final(colour=0.75)),
    "WCST-3": _results(loo=_loo(shape=(0.34, 0.35, 0.33))),  # margins 0.04 with Wilson errors ≈ ±0.07 (the smoke case)
    "WCST-4": _results(sphere=_sphere({"color": 1.0, "shape": 1.0, "scale": 1.2, "orientation": 1.5}, noise=0.6)),
    "WCST-5": _results(adopted=pd.Series([10, 0, 0, 0], index=CUES)),  # 10 of 10: Wilson [0.72, 1] across 0.8
    "WCST-6": _results(compression=pd.DataFrame(
        [{"base": b, "cue": c, "method": "lzma", "bytes": m + 12 * np.random.default_rng(b).standard_normal()}
         for b in range(6) for c, m in {"color": 26, "shape": 35, "scale": 38, "orientation": 34}.items()])),
    "WCST-7": _results(utk=pd.Series({"race": 0.62, "gender": 0.60, "age": 0.5})),
    "WCST-8": _results(archs=["cnn", "vit"], final=_final(colour=0.90)),
    "WCST-9": _results(footprint=_footprint({"color": 31.0, "shape": 32.1, "scale": 35.5, "orientation": 31.5}, noise=4.0)),
}


def test_every_claim_id_has_a_case():
    assert set(CASES) == set(R.RULES) == set(STRADDLING)


@pytest.mark.counterexample
@pytest.mark.parametrize("claim_id", sorted(CASES))
def test_counterexample_rule_fails_and_holds(claim_id):
    assert_holds_and_fails(R.RULES[claim_id], *CASES[claim_id])


@pytest.mark.counterexample
@pytest.mark.parametrize("claim_id", sorted(STRADDLING))
def test_counterexample_straddling_interval_is_inconclusive(claim_id):
    assert_inconclusive(R.RULES[claim_id], STRADDLING[claim_id])


@pytest.mark.parametrize("claim_id", sorted(CASES))
def test_reproductions_and_extensions_carry_intervals(claim_id):
    claim = R.RULES[claim_id](CASES[claim_id][0])
    assert_has_interval(claim)


def test_kinds_say_what_each_claim_is():
    r = _results(archs=["cnn", "mlp", "vit"])
    kinds = {c.id: c.kind for c in R.all_claims(r)}
    assert kinds["WCST-5"] == "extension"  # logit-variance proxy, not the paper's measure
    assert kinds["WCST-6"] == "sanity"  # circular by construction
    assert kinds["WCST-9"] == "extension"
    assert {kinds[i] for i in ("WCST-1", "WCST-2", "WCST-3", "WCST-4", "WCST-7", "WCST-8")} == {"reproduction"}
    assert "post hoc" not in R.wcst_4(r).post_hoc and not R.wcst_4(r).post_hoc  # the paper's direction: no magnitude
    assert R.wcst_9(r).post_hoc  # the proxy was chosen after WCST-6's circularity was found


@pytest.mark.counterexample
def test_counterexample_wcst3_decides_per_seed_on_each_seeds_own_draw():
    c = R.wcst_3(_results())
    assert c.resampled and "seeds × 300 images" in c.resampled and len(c.interval) == 4


@pytest.mark.counterexample
def test_counterexample_wcst4_leaves_out_forced_models_that_do_not_use_their_cue():
    # the shape-forced model follows colour on held-out images and is as flat as colour: it must be left out
    flat_shape = _sphere({"color": 0.1, "shape": 0.05, "scale": 1.2, "orientation": 1.5})
    fake = R.wcst_4(_results(sphere=flat_shape, forced=_forced(uses=(True, False, True, True),
                                                               follows=["color", "color", "scale", "orientation"])))
    assert fake.verdict == "holds" and "left out" in fake.detail and "shape (follows color)" in fake.detail
    assert R.wcst_4(_results(sphere=flat_shape)).verdict == "fails"  # with shape counted, colour is not flatter
    no_colour = R.wcst_4(_results(forced=_forced(uses=(False, True, True, True))))
    assert no_colour.verdict == "not run" and "the colour-forced model does not use colour" in no_colour.rule
    alone = R.wcst_4(_results(forced=_forced(uses=(True, False, False, False))))
    assert alone.verdict == "not run" and "no other cue-forced model" in alone.rule


@pytest.mark.counterexample
def test_counterexample_wcst4_is_read_at_the_papers_radii_and_matched_loss():
    c = R.wcst_4(_results())
    assert "ΔL(6)" in c.rule and "ΔL(30)" in c.rule and "ΔL(2)" not in c.rule  # r ≥ 6 only
    only_small = R.wcst_4(_results(sphere=_sphere(radii=(1.0, 2.0))))
    assert only_small.verdict == "not run" and "r ≥ 6" in only_small.rule
    unmatched = R.wcst_4(_results(forced=_forced(base=(0.30, 0.03, 0.03, 0.03))))
    assert unmatched.verdict == "inconclusive" and "not at matched loss" in unmatched.detail


@pytest.mark.counterexample
def test_counterexample_wcst9_control_of_equal_area_maps():
    # a filled map that beats an equal-area ring passes the same rule: WCST-9 cannot then hold
    biased = R.wcst_9(_results(footprint_bias=_bias((0.5, 0.65, 0.83))))
    assert biased.verdict == "fails" and biased.control["verdict"] == "holds" and "PASSES TOO" in biased.control_text
    fair = R.wcst_9(_results(footprint_bias=_bias()))
    assert fair.verdict == "holds" and fair.control["verdict"] == "fails"
    assert R.wcst_9(_results(footprint=None)).verdict == "not run"


@pytest.mark.counterexample
def test_counterexample_the_label_shuffled_control_fails_wcst1_and_a_chance_level_model_cannot_pass():
    c = R.wcst_1(_results())
    assert c.control["verdict"] == "fails" and "fails as it should" in c.control_text
    assert R.wcst_1(_results(final=_final(colour=0.3, other=0.35))).verdict == "fails"


def test_missing_inputs_are_not_run_and_unverified_orders_say_so():
    assert R.wcst_7(_results(utk=None)).verdict == "not run"
    assert R.wcst_8(_results()).verdict == "not run"
    assert R.wcst_3(_results(dropped="shape")).verdict == "not run"
    assert "unverified" in R.wcst_3(_results()).source


@pytest.mark.counterexample
def test_counterexample_wcst4_with_orientation_not_forced_is_decided_on_the_rest():
    forced = _forced()
    c = R.wcst_4(_results(forced=forced[forced["cue"] != "orientation"],
                          sphere=_sphere({"color": 0.1, "shape": 1.0, "scale": 1.2})))
    assert c.verdict == "holds" and "not forced in this run: orientation" in c.detail
