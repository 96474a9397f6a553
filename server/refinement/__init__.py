"""Refinement strategies, one module each (see :mod:`server.refinement.base`).

To add one: write a module with a class implementing :class:`~server.refinement.base.Refinement`,
add it to :data:`STRATEGIES` and its name to :data:`calibration.artifact.Strategy` (the
calibration grid and the settings accept exactly those names). docs/extending.md has the
steps and the test to copy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from calibration.artifact import Strategy
from server.refinement.ban import Ban
from server.refinement.base import (
    NextRound,
    Refinement,
    RefinementSettings,
    RoundView,
    Tokenizer,
    Verify,
)
from server.refinement.redact import Redact
from server.refinement.reprompt import Reprompt
from server.refinement.resample import Resample
from server.refinement.scrub import Scrub

STRATEGIES: Mapping[Strategy, Callable[[RefinementSettings], Refinement]] = {
    "reprompt": Reprompt,
    "redact": Redact,
    "resample": Resample,
    "scrub": Scrub,
    "ban": Ban,
}

__all__ = [
    "STRATEGIES",
    "NextRound",
    "Refinement",
    "RefinementSettings",
    "RoundView",
    "Tokenizer",
    "Verify",
    "strategy",
]


def strategy(name: Strategy, settings: RefinementSettings) -> Refinement:
    return STRATEGIES[name](settings)
