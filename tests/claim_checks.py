"""Shared assertions for the per-study claim-rule tests (tests/test_claims_<study>.py)."""


def assert_holds_and_fails(rule, holding, failing):
    """The rule holds on the holding results and rejects the counterexample; the claim says its kind and source."""
    good, bad = rule(holding), rule(failing)
    assert good.verdict == "holds", good
    assert bad.verdict == "fails", bad
    assert good.kind in ("reproduction", "sanity", "extension") and good.source


def assert_inconclusive(rule, straddling):
    """The rule comes out inconclusive on a result whose interval straddles its threshold, and says what would decide it."""
    claim = rule(straddling)
    assert claim.verdict == "inconclusive", claim
    assert claim.detail, claim


def assert_has_interval(claim):
    """A reproduction or extension that was run carries a 95% interval, n and what was resampled, or says why not."""
    if claim.kind in ("reproduction", "extension") and claim.verdict != "not run":
        assert (claim.interval is not None and claim.n and claim.resampled) or \
            (claim.no_interval and claim.no_interval != "point value: no interval computed"), claim
