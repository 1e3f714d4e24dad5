"""Parameter checks that fail early with a message naming the parameter and what it accepts."""

from __future__ import annotations

from collections.abc import Iterable
from numbers import Integral, Real
from typing import Any


class ParameterError(ValueError):
    """A study or library parameter has a value it does not accept."""

    def __init__(self, name: str, value: Any, accepts: str) -> None:
        self.name, self.value, self.accepts = name, value, accepts
        super().__init__(f"{name}={value!r} is not accepted: {name} must be {accepts}.")


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """Return value if it is one of choices, else raise ParameterError listing them."""
    choices = tuple(choices)
    if value not in choices:
        raise ParameterError(name, value, "one of " + ", ".join(repr(c) for c in choices))
    return value


def check_positive_int(name: str, value: Any) -> int:
    """Return value as int if it is an integer ≥ 1."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ParameterError(name, value, "a positive integer (1, 2, 3, …)")
    return int(value)


def check_positive(name: str, value: Any) -> float:
    """Return value as float if it is a finite real number > 0."""
    if isinstance(value, bool) or not isinstance(value, Real) or not (0 < float(value) < float("inf")):
        raise ParameterError(name, value, "a finite number > 0")
    return float(value)


def check_in_interval(name: str, value: Any, low: float, high: float, *, closed_high: bool = False) -> float:
    """Return value as float if low ≤ value < high (≤ high when closed_high)."""
    ok = isinstance(value, Real) and not isinstance(value, bool)
    ok = ok and low <= float(value) and (float(value) <= high if closed_high else float(value) < high)
    if not ok:
        bracket = "]" if closed_high else ")"
        raise ParameterError(name, value, f"a number in [{low:g}, {high:g}{bracket}")
    return float(value)


def check_noise_rate(name: str, value: Any) -> float:
    """A label-noise rate: a probability in [0, 0.5) (at 0.5 labels carry no signal)."""
    return check_in_interval(name, value, 0.0, 0.5)


def check_study(value: Any) -> str:
    """Return value if it names a study of cuelab."""
    from cuelab import STUDIES

    return check_choice("study", value, STUDIES)


def check_profile(value: Any) -> str:
    """Return value if it names a profile of cuelab."""
    from cuelab import PROFILES

    return check_choice("profile", value, PROFILES)
