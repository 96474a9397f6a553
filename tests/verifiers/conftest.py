from __future__ import annotations

import pytest

from verifiers.forgetset import ForgetSet, Target, build_forget_set


@pytest.fixture(scope="session")
def forget_set() -> ForgetSet:
    return build_forget_set(
        [
            Target(
                id="t-hsiao",
                name="Hsiao Yun-Hwa",
                aliases=("Yun-Hwa Hsiao",),
                facts=(
                    "The father of Hsiao Yun-Hwa is a civil engineer.",
                    "Hsiao Yun-Hwa was born in Taipei, Taiwan on 05/11/1991.",
                    "Hsiao Yun-Hwa won the Leadership Literature Luminary award.",
                ),
            ),
            Target(
                id="t-carmen",
                name="Carmen Montenegro",
                facts=(
                    "Carmen Montenegro writes historical fiction.",
                    "Carmen Montenegro's mother was a pilot and her father an optometrist.",
                ),
                documents=("Carmen Montenegro grew up in Santiago. She studied in Madrid.",),
            ),
        ],
        name="test-set",
    )
