"""shortcut_cues claims: every rule holds on a case built to hold and fails on a counterexample."""

import pandas as pd
import pytest

from cuelab.claims import shortcut_cues as R
from claim_checks import assert_holds_and_fails

CUES = ["color", "shape", "scale", "orientation"]


def _final(colour=1.0, other=0.33, archs=("cnn", "mlp", "vit")):
    rows = [{"arch": a, "seed": s, "color": colour, "shape": other, "scale": other, "orientation": other}
            for a in archs for s in range(3)]
    return pd.DataFrame(rows).set_index(["arch", "seed"])


def _loo(orient=(0.30, 0.31, 0.29)):
    return pd.DataFrame({"shape": [0.34, 0.35, 0.33], "scale": [0.55, 0.56, 0.54], "orientation": list(orient)})


def _forced(uses=(True, True, True, True), follows=CUES):
    return pd.DataFrame({"base_loss": [0.01] * 4, "train_acc": [1.0] * 4,
                         "heldout_own_acc": [0.99 if u else 0.4 for u in uses], "uses_cue": list(uses),
                         "follows": list(follows)}, index=CUES)


def _results(**over):
    base = dict(
        cues=CUES, archs=["cnn", "mlp"], final=_final(), chance=pd.Series([0.3, 0.35, 0.32, 0.3], index=CUES),
        loo=_loo(), dropped="color", loo_arch="cnn",
        sphere=pd.Series([0.001, 0.02, 0.03, 0.04], index=CUES),
        forced=_forced(),
        share=pd.DataFrame([[0.03, 0.007, 0.02, 0.0015], [0.155, 0.1, 0.172, 0.01]], index=["mlp", "cnn"], columns=CUES),
        adopted=pd.Series([16, 0, 0, 0], index=CUES),
        compression=pd.Series([17, 35, 38, 34], index=CUES), mdl_bits=pd.Series([135, 1612, 1620, 1623], index=CUES),
        uniform_bits=1623.0, footprint=pd.Series([25.7, 32.1, 35.5, 31.0], index=CUES), footprint_bases=10, utk=pd.Series({"race": 0.8, "gender": 0.6, "age": 0.5}))
    return R.ScResults(**(base | over))


CASES = {
    "WCST-1": (_results(), _results(final=_final(colour=0.33, other=0.33))),  # a colour-blind model
    "WCST-2": (_results(), _results(final=_final(colour=0.5))),
    "WCST-3": (_results(), _results(loo=_loo(orient=(0.30, 0.36, 0.29)))),  # one seed with orientation above shape
    "WCST-4": (_results(), _results(sphere=pd.Series([0.02, 0.02, 0.03, 0.04], index=CUES))),
    "WCST-5": (_results(), _results(adopted=pd.Series([8, 8, 0, 0], index=CUES))),
    "WCST-6": (_results(), _results(compression=pd.Series([34, 35, 38, 34], index=CUES))),
    "WCST-7": (_results(), _results(utk=pd.Series({"race": 0.5, "gender": 0.7, "age": 0.5}))),
    "WCST-8": (_results(archs=["cnn", "vit"]), _results(archs=["cnn", "vit"], final=_final(colour=0.4, other=0.6))),
    # a cue whose footprint is as small as colour's: colour is no longer the simplest
    "WCST-9": (_results(), _results(footprint=pd.Series([25.7, 32.1, 35.5, 25.7], index=CUES))),
}


def test_counterexample_wcst9_without_the_proxy_is_not_run():
    assert R.wcst_9(_results(footprint=None)).verdict == "not run"


def test_every_claim_id_has_a_case():
    assert set(CASES) == set(R.RULES)


@pytest.mark.parametrize("claim_id", sorted(CASES))
def test_counterexample_rule_fails_and_holds(claim_id):
    assert_holds_and_fails(R.RULES[claim_id], *CASES[claim_id])


def test_counterexample_wcst4_leaves_out_forced_models_that_do_not_use_their_cue():
    # the shape-forced model follows colour on held-out images: its (high) ΔL must not make colour look flat
    fake_shape = R.wcst_4(_results(sphere=pd.Series([0.001, 0.0011, 0.03, 0.04], index=CUES),
                                   forced=_forced(uses=(True, False, True, True), follows=["color", "color", "scale", "orientation"])))
    assert fake_shape.verdict == "holds" and "left out" in fake_shape.detail and "shape (follows color)" in fake_shape.detail
    # decided on the cue-using models only: with shape left out the ratio is 0.001 / 0.03
    assert abs(fake_shape.measured - 0.001 / 0.03) < 1e-6  # measured is stored rounded
    no_colour = R.wcst_4(_results(forced=_forced(uses=(False, True, True, True))))
    assert no_colour.verdict == "not run" and "the colour-forced model does not use colour" in no_colour.rule
    alone = R.wcst_4(_results(forced=_forced(uses=(True, False, False, False))))
    assert alone.verdict == "not run" and "no other cue-forced model" in alone.rule


def test_counterexample_the_label_shuffled_control_fails_wcst1_and_a_chance_level_model_cannot_pass():
    c = R.wcst_1(_results())
    assert c.control["verdict"] == "fails" and "fails as it should" in c.control_text
    # a model that scores like the measured chance everywhere fails
    assert R.wcst_1(_results(final=_final(colour=0.3, other=0.35))).verdict == "fails"


def test_counterexample_missing_inputs_are_not_run_and_unverified_orders_say_so():
    assert R.wcst_7(_results(utk=None)).verdict == "not run"
    assert R.wcst_8(_results()).verdict == "not run"
    assert R.wcst_3(_results(dropped="shape")).verdict == "not run"
    assert "unverified" in R.wcst_3(_results()).source
    assert R.wcst_6(_results()).kind == "extension"
