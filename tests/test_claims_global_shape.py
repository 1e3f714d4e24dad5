"""global_shape claims: every rule holds on a case built to hold, fails on a counterexample, and comes out
inconclusive on an interval that straddles its threshold."""

import numpy as np
import pandas as pd
import pytest

from claim_checks import assert_has_interval, assert_holds_and_fails, assert_inconclusive
from cuelab.claims import global_shape as R
from cuelab.intervals import Estimate

ARCHS = ["cnn", "vit", "vit-nopos"]


def E(value, half=0.02, n=3, resampled="3 seeds × 400 triplets"):
    """An estimate with a symmetric 95% interval."""
    return Estimate(value, value - half, value + half, n, resampled, "test")


def _med(shape_sr=0.9, dist_sr=0.5, nopos_dist=1 / 3, nopos_sb=0.9):
    rows = []
    for a in ARCHS:
        for regime in ("texture-correlated", "style-randomised"):
            for dis in (False, True):
                sb = (nopos_sb if a == "vit-nopos" else shape_sr) if regime == "style-randomised" else 0.05
                d = nopos_dist if a == "vit-nopos" else (dist_sr if regime == "style-randomised" else 0.6)
                rows.append({"arch": a, "regime": regime, "distinguish": dis, "shape_bias": sb, "dist": d,
                             "dist_paper_rule": 1.0, "shape_only_acc": 0.5, "seeds": 1})
    return pd.DataFrame(rows).set_index(["arch", "regime", "distinguish"])


def _controls(colour=1 / 3, sharp=1 / 3):
    rows = []
    for policy in ("fractional", "first"):
        for name, v in (("colour histogram", colour), ("|Laplacian| histogram", sharp), ("8×8 pixel layout", 0.4)):
            rows.append({"control": name, "tie_policy": policy, "accuracy": v if policy == "fractional" else 1.0})
    return pd.DataFrame(rows)


def _regime(dsb=(0.8, 0.8, 0.8), ddist=(-0.1, -0.05, 0.0), half=0.02):
    return {a: {"shape_bias": E(s, half), "dist": E(d, half)} for a, s, d in zip(ARCHS, dsb, ddist)}


def _dis(ddist=(0.3, 0.3, 0.0), half=0.02):
    return {"texture-correlated": {a: {"dist": E(d, half), "shape_bias": E(0.0)} for a, d in zip(ARCHS, ddist)}}


def _results(**over):
    base = dict(archs=ARCHS, n_seeds=3, med=_med(), regime=_regime(), dis_effects=_dis(),
                rho_zoo=E(0.05, 0.1, resampled="3 seeds (whole seeds resampled; 17 networks in all)"), n_zoo=17, controls=_controls(),
                n_triplets=400)
    return R.GsResults(**(base | over))


def _credits(p, n=2400, seed=0):
    """Per-triplet credits with exactly round(p·n) ones, in a seeded order."""
    c = np.zeros(n)
    c[: int(round(p * n))] = 1.0
    return np.random.default_rng(seed).permutation(c)


def _scored(sin=0.529, r50=0.696, vit=0.55, best_standard=0.7, cc=(0.21, 0.81, 0.4, 0.3), n=2400):
    dists = {"resnet50": r50, "resnet50_sin": sin, "vit_b": vit, "vgg19": best_standard}
    frame = pd.DataFrame({
        "dist_paper_rule": list(dists.values()), "paper_dist": [0.696, 0.529, 0.55, 0.304],
        "family": ["cnn", "cnn", "vit (supervised)", "cnn"], "training": ["standard", "stylized", "standard", "standard"],
        "label": ["ResNet-50", "SIN ResNet-50", "ViT-B", "VGG19"], "paper_shape_bias": list(cc),
    }, index=list(dists))
    frame["credits"] = [_credits(v, n, i) for i, v in enumerate(dists.values())]
    frame["dist"] = [float(c.mean()) for c in frame["credits"]]
    return frame


RELEASE = dict(release_n=2400)


def _local(tc=0.36, sr=0.35, dis=0.4, half=0.03):
    return {("texture-correlated", False): {"dist": E(tc, half), "shape_bias": 0.1},
            ("style-randomised", False): {"dist": E(sr, half), "shape_bias": 0.5},
            ("texture-correlated", True): {"dist": E(dis, half), "shape_bias": 0.1}}


def _release_controls(sharp=0.84, colour=0.7, n=2400):
    return pd.DataFrame({"control": ["colour histogram", "|Laplacian| histogram", "8×8 pixel layout"],
                         "dist": [colour, sharp, 0.25], "credits": [_credits(v, n) for v in (colour, sharp, 0.25)]})


def _vgg_as_paper(scored):
    # only ResNet-50, SIN ResNet-50 and ViT-B keep their paper numbers within 0.03; VGG19's is 0.304
    return scored.assign(paper_dist=scored["paper_dist"].where(scored.index != "vgg19", scored.loc["vgg19", "dist"]))


CASES = {
    # id: (results that must hold, counterexample that must fail, results whose interval straddles the rule)
    "DIST-1": (_results(scored=_scored(), **RELEASE), _results(scored=_scored(sin=0.8, r50=0.7), **RELEASE),
               _results(scored=_scored(sin=0.69, r50=0.70, n=300), release_n=300)),
    "DIST-2": (_results(), _results(regime=_regime(dsb=(0.8, 0.1, 0.8))), _results(regime=_regime(dsb=(0.8, 0.21, 0.8), half=0.05))),
    "DIST-3": (_results(), _results(regime=_regime(ddist=(0.30, 0.31, 0.0))),
               _results(regime=_regime(ddist=(-0.1, -0.01, 0.0), half=0.05))),
    "DIST-4": (_results(), _results(rho_zoo=E(0.8, 0.1)), _results(rho_zoo=E(0.0, 0.4))),
    "DIST-5": (_results(local_effect=E(0.0)), _results(dis_effects=_dis(ddist=(0.3, 0.05, 0.0))),
               _results(dis_effects=_dis(ddist=(0.3, 0.16, 0.0), half=0.05))),
    "DIST-6": (_results(scored=_scored(), **RELEASE), _results(scored=_scored(vit=0.8), **RELEASE),
               _results(scored=_scored(vit=0.71, n=300), release_n=300)),
    "DIST-6s": (_results(vit_vs_cnn=E(-0.1)), _results(vit_vs_cnn=E(0.2)), _results(vit_vs_cnn=E(0.02, 0.05))),
    "DIST-7": (_results(scored=_scored(), **RELEASE), _results(scored=_scored(best_standard=0.95), **RELEASE),
               _results(scored=_scored(best_standard=0.88, n=300), release_n=300)),
    "DIST-8": (_results(), _results(controls=_controls(colour=0.6)), None),  # smoke: a sanity check on exact ties
    "DIST-9": (_results(scored=_vgg_as_paper(_scored()), **RELEASE), _results(scored=_scored(), **RELEASE),
               _results(scored=_vgg_as_paper(_scored(r50=0.72, n=300)), release_n=300)),
    "DIST-10": (_results(local=_local()), _results(local=_local(sr=0.87)), _results(local=_local(sr=0.42, half=0.05))),
}


def test_every_claim_id_has_a_case():
    assert set(CASES) | {"DIST-11"} == set(R.RULES)


@pytest.mark.counterexample
@pytest.mark.parametrize("claim_id", sorted(CASES))
def test_counterexample_rule_fails_and_holds(claim_id):
    holding, failing, _ = CASES[claim_id]
    assert_holds_and_fails(R.RULES[claim_id], holding, failing)
    assert_has_interval(R.RULES[claim_id](holding))


@pytest.mark.counterexample
@pytest.mark.parametrize("claim_id", sorted(k for k, v in CASES.items() if v[2] is not None))
def test_counterexample_straddling_interval_is_inconclusive(claim_id):
    assert_inconclusive(R.RULES[claim_id], CASES[claim_id][2])


@pytest.mark.counterexample
def test_counterexample_dist4_a_noisy_zero_is_inconclusive_never_holds():
    noisy = R.dist_4(_results(rho_zoo=E(0.0, 0.4)))  # the case: ρ = 0.0 ± 0.4
    assert noisy.verdict == "inconclusive" and "equivalence" in noisy.rule
    assert R.RHO_MARGIN < 0.4 and noisy.post_hoc and "Cohen" in noisy.post_hoc
    assert R.dist_4(_results(rho_zoo=E(0.41, 0.05))).verdict == "fails"  # the old smoke value is no longer a pass
    # on the release the unit is the pretrained model
    on_release = R.dist_4(_results(scored=_scored(), **RELEASE))
    assert on_release.resampled == "4 models"


@pytest.mark.counterexample
def test_counterexample_dist5_fails_when_the_bag_model_gains_as_much():
    seams = R.dist_5(_results(local_effect=E(0.4)))
    assert seams.verdict == "fails" and "PASSES TOO" in seams.control_text
    clean = R.dist_5(_results(local_effect=E(0.0)))
    assert clean.verdict == "holds" and clean.control["verdict"] == "fails"
    assert "ImageNet-1K" in clean.source and "2,000-way" in clean.source and "IN-10" in clean.source
    assert "not trained" in R.dist_5(_results()).detail


@pytest.mark.counterexample
def test_counterexample_release_dist8_needs_the_sharpness_histogram_at_resnet50s_level():
    assert_holds_and_fails(R.dist_8, _results(release_controls=_release_controls(), **RELEASE),
                           _results(release_controls=_release_controls(sharp=0.6), **RELEASE))
    assert_inconclusive(R.dist_8, _results(release_controls=_release_controls(sharp=0.70, n=300), release_n=300))


def test_dist6_is_not_run_without_a_measured_vit_and_dist11_offline():
    lites = _scored().loc[["resnet50", "vgg19"]].assign(family="cnn")
    no_vit = R.dist_6(_results(scored=lites, **RELEASE))
    assert no_vit.verdict == "not run" and "no supervised ViT was measured" in no_vit.rule
    assert R.dist_6s(_results(vit_vs_cnn=E(-0.1))).kind == "extension"
    assert "SUBSTITUTE" in R.dist_6s(_results(vit_vs_cnn=E(-0.1))).statement
    mae = R.dist_11(_results())
    assert mae.verdict == "not run" and "internet" in mae.rule and mae.kind == "reproduction"


def test_dist9_and_dist10_say_why_they_did_not_run():
    assert R.dist_9(_results()).verdict == "not run" and "needs the release" in R.dist_9(_results()).rule
    no_paper = R.dist_9(_results(scored=_scored().iloc[:0], **RELEASE))
    assert no_paper.verdict == "not run" and "EfficientNet-Lites are not in the paper" in no_paper.rule
    assert R.dist_10(_results()).verdict == "not run"
    seam = R.dist_10(_results(local=_local(sr=0.87)))
    assert seam.kind == "extension" and seam.post_hoc and "0.870" in seam.detail
    # on the seam-free substitute the local control is blind by construction: a sanity check, not a finding
    blind = R.dist_10(_results(local=_local(tc=1 / 3, sr=1 / 3), gutter=3, local_blind=True))
    assert blind.kind == "sanity" and blind.verdict == "holds" and "by construction" in blind.source


def test_dist3_a_rise_in_dist_fails_with_the_paper_direction_named():
    rose = R.dist_3(_results(regime=_regime(ddist=(0.30, 0.29, 0.0))))
    assert rose.verdict == "fails" and "DiST rose" in rose.detail and "paper reports a fall" in rose.detail
    assert R.dist_3(_results(n_seeds=2)).verdict == "not run"


def test_kinds_sources_and_paper_values():
    r = _results()
    assert R.dist_6(r).verdict == "not run" and R.dist_7(r).verdict == "not run"
    assert R.dist_1(r).kind == "sanity" and R.dist_2(r).kind == "sanity" and R.dist_8(r).kind == "sanity"
    assert R.dist_1(_results(scored=_scored(), **RELEASE)).kind == "reproduction"
    assert "84.2" in R.dist_7(r).paper and "Top-K sparse" in R.dist_7(r).paper
    for claim in R.all_claims(_results(scored=_scored(), release_controls=_release_controls(), local=_local(),
                                       local_effect=E(0.0), vit_vs_cnn=E(-0.1), **RELEASE)):
        assert "paper card" not in claim.source and "../shared" not in claim.source, claim.id
        assert_has_interval(claim)
    assert R.dist_4(r).post_hoc and R.dist_5(r).post_hoc
