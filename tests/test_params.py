import math

import pytest

from cuelab import ParameterError
from cuelab.data.xor import XorSpec
from cuelab.experiments.xor_grokking import XorRunConfig
from cuelab.params import check_noise_rate, check_positive_int, check_profile, check_study
from cuelab.training import Classifier


def test_unknown_study_names_parameter_and_choices():
    with pytest.raises(ParameterError) as err:
        check_study("xor")
    msg = str(err.value)
    assert msg.startswith("study='xor' is not accepted")
    for name in ("xor_grokking", "input_gradients", "shortcut_cues", "global_shape"):
        assert repr(name) in msg


def test_unknown_profile():
    with pytest.raises(ParameterError, match=r"profile='paper'.*'smoke', 'full'"):
        check_profile("paper")
    assert check_profile("full") == "full"


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "10"])
def test_non_positive_or_non_integer_size(bad):
    with pytest.raises(ParameterError, match="n_train=.*positive integer"):
        check_positive_int("n_train", bad)


@pytest.mark.parametrize("bad", [-0.01, 0.5, 0.7, math.nan])
def test_noise_rate_outside_range(bad):
    with pytest.raises(ParameterError, match=r"noise_rate=.*\[0, 0\.5\)"):
        check_noise_rate("noise_rate", bad)


def test_noise_rate_accepts_zero_and_just_below_half():
    assert check_noise_rate("noise_rate", 0.0) == 0.0
    assert check_noise_rate("noise_rate", 0.49) == 0.49


def test_specs_check_their_fields():
    with pytest.raises(ParameterError, match="noise_rate=0.5"):
        XorSpec(dim=100, mu_norm=3.0, noise_rate=0.5)
    with pytest.raises(ParameterError, match="dim=0"):
        XorSpec(dim=0, mu_norm=3.0, noise_rate=0.1)
    with pytest.raises(ParameterError, match="snr=-1"):
        XorSpec.from_snr(dim=100, n_train=10, snr=-1, noise_rate=0.1)
    with pytest.raises(ParameterError, match="width=0"):
        XorRunConfig(width=0)
    with pytest.raises(ParameterError, match="step_size=0"):
        XorRunConfig(step_size=0)


def test_classifier_rejects_unknown_loss():
    import torch

    with pytest.raises(ParameterError, match="loss='hinge'.*'cross_entropy', 'logistic'"):
        Classifier(torch.nn.Linear(2, 2), loss="hinge")
