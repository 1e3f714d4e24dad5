"""Shared assertions for the per-study claim-rule tests (tests/test_claims_<study>.py)."""


def assert_holds_and_fails(rule, holding, failing):
    """The rule holds on the holding results and rejects the counterexample; the claim says its kind and source."""
    good, bad = rule(holding), rule(failing)
    assert good.verdict == "holds", good
    assert bad.verdict == "fails", bad
    assert good.kind in ("reproduction", "sanity", "extension") and good.source
