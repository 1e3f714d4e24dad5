"""Every XOR claim rule holds on a synthetic run that shows the finding and fails on a counterexample."""

import math

import pandas as pd
import pytest

from cuelab import claims as C
from cuelab.claims import xor_grokking as R

T = 30
GROKKING = {0: 0.5, 1: 0.505, 2: 0.82, 3: 0.88, 4: 0.915, 5: 0.96, 7: 0.99, 10: 1.0, T: 1.0}


def traj(n_seeds=4, test=None, **over):
    """A per-step table shaped like the experiment's: the paper's story unless a column is overridden."""
    test = GROKKING if test is None else test
    rows = []
    for seed in range(n_seeds):
        for step, acc in test.items():
            row = dict(
                seed=seed, step=step, loss=math.log(2) + 1e-10, max_abs_output=1e-9,
                train_acc=0.5 if step == 0 else 1.0, train_acc_flipped=0.4 if step == 0 else 1.0,
                test_acc=acc, linear_agreement=0.5 if step == 0 else (0.97 if step == 1 else 0.6),
                random_linear_agreement=0.5, alignment_ratio=1.0 if step <= 1 else 8.0,
            )
            for col, f in over.items():
                row[col] = f(seed, step, row[col]) if callable(f) else f
            rows.append(row)
    return pd.DataFrame(rows)


def good(**kw):
    delayed = traj(test={0: 0.5, 1: 0.5, 50: 0.51, 400: 0.6, 5000: 0.99})
    base = dict(traj=traj(), steps=T, scaling_gap=0.01, scaling_gap_same_t=0.2, scaling_steps=10,
                delayed=delayed, delayed_chance_step=50, delayed_steps=5000, delayed_step_size=1e-16, init_std=1e-15)
    return R.XorResults(**(base | kw))


COUNTEREXAMPLES = {
    # one flipped point left unfitted at t = 1 in every run
    "XOR-1": dict(traj=traj(train_acc_flipped=lambda s, t, v: 0.9 if t == 1 else v)),
    # the one-step network already generalises
    "XOR-2": dict(traj=traj(test={**GROKKING, 1: 0.8})),
    # the one-step net does not resemble the linear classifier
    "XOR-3": dict(traj=traj(linear_agreement=0.55)),
    # grokking much slower than the paper: 0.6 at t = 2 … 0.8 at t = 10
    "XOR-4": dict(traj=traj(test={0: 0.5, 1: 0.5, 2: 0.6, 4: 0.65, 5: 0.7, 7: 0.75, 10: 0.8, T: 0.95})),
    # the flipped labels are unlearned by T (the Frei et al. regime)
    "XOR-5": dict(traj=traj(train_acc_flipped=lambda s, t, v: 0.0 if t == T else v)),
    # half the runs plateau at 0.75 (median curve can still look fine with 4 seeds at 2 good, 2 bad)
    "XOR-6": dict(traj=traj(test_acc=lambda s, t, v: min(v, 0.75) if s % 2 else v)),
    # no feature learning: the ratio stays at 1
    "XOR-7": dict(traj=traj(alignment_ratio=1.0)),
    # outputs large enough to move the loss
    "XOR-8": dict(traj=traj(loss=lambda s, t, v: math.log(2) - 0.01 * t)),
    # the α/10 runs lag by 0.1
    "XOR-9": dict(scaling_gap=0.1),
    # the delayed runs generalise at once
    "XOR-10": dict(delayed=traj(test={0: 0.5, 1: 0.5, 50: 0.9, 5000: 1.0})),
}


def test_rules_cover_every_claim_id_with_a_kind_and_source():
    claims = R.decide_all(good())
    assert [c.id for c in claims] == [f"XOR-{i}" for i in range(1, 11)] == list(R.RULES)
    kinds = {c.id: c.kind for c in claims}
    assert kinds["XOR-8"] == "sanity" and kinds["XOR-9"] == "extension"
    assert all(k == "reproduction" for i, k in kinds.items() if i not in ("XOR-8", "XOR-9"))
    assert all(c.source for c in claims)
    assert "A.7" not in " ".join(c.source for c in claims)  # errata: A.7 lists only hyperparameters


@pytest.mark.parametrize("claim_id", list(R.RULES))
def test_counterexample_rule_fails_and_holds(claim_id):
    rule = R.RULES[claim_id]
    assert rule(good()).verdict == "holds", rule(good())
    bad = rule(good(**COUNTEREXAMPLES[claim_id]))
    assert bad.verdict == "fails", bad
    assert bad.id == claim_id


@pytest.mark.parametrize("claim_id", ["XOR-1", "XOR-3", "XOR-4", "XOR-6", "XOR-7"])
def test_counterexample_controls_fail_on_a_good_run(claim_id):
    claim = R.RULES[claim_id](good())
    assert claim.control and claim.control["verdict"] == "fails"


def test_counterexample_control_that_passes_turns_the_claim_into_fails():
    # a random direction agreeing with the net as well as the one-step direction: XOR-3 cannot hold
    claim = R.xor_3(good(traj=traj(random_linear_agreement=0.97)))
    assert claim.verdict == "fails" and "control" in claim.detail


def test_counterexample_missing_side_runs_are_not_run():
    r = good(scaling_gap=None, delayed=None)
    assert R.xor_9(r).verdict == "not run" and R.xor_10(r).verdict == "not run"
    assert R.xor_4(good(traj=traj(test={0: 0.5, 1: 0.5}), steps=1)).verdict == "not run"


def test_xor_4_and_xor_6_measure_different_things():
    # a median curve on the paper's points, but only half the runs grok: XOR-4 holds, XOR-6 fails
    t = traj(n_seeds=5, test_acc=lambda s, t, v: 0.7 if (s >= 3 and t >= 2) else v)
    r = good(traj=t)
    assert R.xor_4(r).verdict == "holds" and R.xor_6(r).verdict == "fails"
    # every run groks, but late (0.9 only at T): XOR-6 holds, XOR-4 fails
    late = traj(test={0: 0.5, 1: 0.5, 2: 0.55, 4: 0.6, 5: 0.62, 7: 0.65, 10: 0.7, T: 0.95})
    assert R.xor_6(good(traj=late)).verdict == "holds" and R.xor_4(good(traj=late)).verdict == "fails"


def test_claims_go_into_a_table():
    table = C.ClaimTable("xor_grokking", profile="smoke", seed=0).add(*R.decide_all(good()))
    assert "reproductions: 8 hold" in table.verdicts()
