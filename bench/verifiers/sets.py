"""The hand-written hard sets of ``python -m bench verifiers``: which are scored, and how each
is introduced in docs/BENCHMARKS.md (their story is in ``bench/data/verifiers/README.md``).

A set written blind is scored only once it is listed here, after the verifier change it is
meant to judge: listing it is scoring it.
"""

from __future__ import annotations

HARD_SETS = {
    "hard_sealed32": (
        "Thirty-second sealed held-out test set (written blind during the tenth session; "
        "scored once, after its third round of changes)"
    ),
    "hard_sealed31": (
        "Thirty-first sealed test set (scored once after the tenth session's second round, "
        "then its misses named the third)"
    ),
    "hard_sealed30": (
        "Thirtieth sealed test set (scored once after the tenth session's first round, then "
        "its misses named the second)"
    ),
    "hard_sealed29": (
        "Twenty-ninth sealed test set (scored once after the ninth session's fourth and last "
        "round, then consulted)"
    ),
    "hard_sealed28": (
        "Twenty-eighth sealed test set (scored once after the ninth session's third round, "
        "then its misses named the fourth)"
    ),
    "hard_sealed27": (
        "Twenty-seventh sealed test set (scored once after the ninth session's second round, "
        "then its misses named the third)"
    ),
    "hard_sealed26": (
        "Twenty-sixth sealed test set (scored once after the ninth session's first round, then "
        "its misses named the second)"
    ),
    "hard_sealed25": (
        "Twenty-fifth sealed test set (scored once after the eighth session's third and last "
        "round, then consulted)"
    ),
    "hard_sealed24": (
        "Twenty-fourth sealed test set (scored once after the eighth session's second round, "
        "then its misses named the third)"
    ),
    "hard_sealed23": (
        "Twenty-third sealed test set (scored once after the eighth session's first round, then "
        "its misses named the second)"
    ),
    "hard_sealed22": (
        "Twenty-second sealed test set (scored once after the seventh session's last round, then "
        "its misses named the eighth session's first)"
    ),
    "hard_sealed21": (
        "Twenty-first sealed test set (scored once after this session's third round, then its "
        "misses named the fourth)"
    ),
    "hard_sealed20": (
        "Twentieth sealed test set (scored once after this session's second round, then its "
        "misses named the third)"
    ),
    "hard_sealed19": (
        "Nineteenth sealed test set (scored once after this session's first round, then its "
        "misses named the second)"
    ),
    "hard_sealed18": (
        "Eighteenth sealed test set (scored once at the end of the last session, then its misses "
        "named this session's first round)"
    ),
    "hard_sealed17": (
        "Seventeenth sealed test set (scored once after the seventh round of this session, then "
        "its misses named the eighth)"
    ),
    "hard_sealed16": (
        "Sixteenth sealed test set (scored once after the sixth round of this session, then "
        "its misses named the seventh)"
    ),
    "hard_sealed15": (
        "Fifteenth sealed test set (scored once after the fifth round of this session, then "
        "its misses named the sixth)"
    ),
    "hard_sealed14": (
        "Fourteenth sealed test set (scored once after the fourth round of this session, then "
        "its misses named the fifth)"
    ),
    "hard_sealed13": (
        "Thirteenth sealed test set (scored once after the third round of this session, then "
        "its misses named the fourth)"
    ),
    "hard_sealed12": (
        "Twelfth sealed test set (scored once after the second round of this session, then its "
        "misses named the third)"
    ),
    "hard_sealed11": (
        "Eleventh sealed test set (scored once after the first round of this session, then its "
        "four misses named the second round)"
    ),
    "hard_sealed10": (
        "Tenth sealed test set (scored once, then its misses named this session's first round)"
    ),
    "hard_sealed9": ("Ninth sealed test set (scored once, then its misses named the last changes)"),
    "hard_sealed8": (
        "Eighth sealed test set (scored once, then its four misses named the last changes)"
    ),
    "hard_sealed7": (
        "Seventh sealed test set (scored once; its two split-turn misses read after the next "
        "round of changes)"
    ),
    "hard_sealed6": (
        "Sixth sealed test set (scored once, then three bugs it showed were fixed and titles "
        "changed)"
    ),
    "hard_sealed5": "Fifth sealed test set (scored once, then its misses named kinds to fix)",
    "hard_sealed4": "Fourth sealed test set (scored once, then its misses named kinds to fix)",
    "hard_sealed3": "Third sealed test set (scored once, then its misses named kinds to fix)",
    "hard_sealed2": "Second sealed test set (its misses named kinds to fix)",
    "hard_sealed": "Sealed test set (scored once mid-session, then used to diagnose misses)",
    "hard_fresh": "Fresh test set (its misses were read once, by kind, a session before)",
    "hard_test": "First test set (consulted while fixing its misses: no longer held out)",
    "hard_dev": "Dev set",
}
# Hard sets written for another forget set (bench.verifiers.data.OTHER_FORGET_SETS) that are
# scored: each written blind, never tuned on, first scored after the last verifier change.
SCORED_OTHER_SETS = (
    "hard_other7",
    "hard_other6",
    "hard_other5",
    "hard_other4",
    "hard_other3",
    "hard_other2",
    "hard_other1",
)
OTHER_SETS = {
    "hard_other7": (
        "Seventh set on another forget set (`other_forget7.yaml`: ten invented targets of the "
        "same kinds, written blind during the tenth session; held out: scored once, after its "
        "third round of changes)"
    ),
    "hard_other6": (
        "Sixth set on another forget set (`other_forget6.yaml`: ten invented targets of the "
        "same kinds; scored once after the tenth session's second round, then its misses "
        "named the third)"
    ),
    "hard_other5": (
        "Fifth set on another forget set (`other_forget5.yaml`: ten invented targets of the "
        "same kinds; scored once after the tenth session's first round, then its misses named "
        "the second)"
    ),
    "hard_other4": (
        "Fourth set on another forget set (`other_forget4.yaml`: ten invented targets of the "
        "same kinds; scored once after the ninth session's fourth and last round, then "
        "consulted)"
    ),
    "hard_other3": (
        "Third set on another forget set (`other_forget3.yaml`: ten invented targets of the "
        "same kinds; scored once after the ninth session's third round, then its misses named "
        "the fourth)"
    ),
    "hard_other2": (
        "Second set on another forget set (`other_forget2.yaml`: ten invented targets of the "
        "same kinds; scored once after the ninth session's second round, then its misses named "
        "the third)"
    ),
    "hard_other1": (
        "First set on another forget set (`other_forget1.yaml`: ten invented targets, four "
        "private people with deletion requests, two confidential corporate matters, an "
        "unreleased product, a minor public figure, a leaked memo, a charity; scored once "
        "after the ninth session's first round, then its misses named the second)"
    ),
}
# Where the hard-set targets are judged: the first (newest) set, written blind and first
# scored after the last verifier change; the sets seen before are reported beside it.
HELD_OUT_HARD_SETS = (
    "hard_sealed32",
    "hard_sealed31",
    "hard_sealed30",
    "hard_sealed29",
    "hard_sealed28",
    "hard_sealed27",
    "hard_sealed26",
    "hard_sealed25",
    "hard_sealed24",
    "hard_sealed23",
    "hard_sealed22",
    "hard_sealed21",
    "hard_sealed20",
    "hard_sealed19",
    "hard_sealed18",
    "hard_sealed17",
    "hard_sealed16",
    "hard_sealed15",
    "hard_sealed14",
    "hard_sealed13",
    "hard_sealed12",
    "hard_sealed11",
    "hard_sealed10",
    "hard_sealed9",
    "hard_sealed8",
    "hard_sealed7",
    "hard_sealed6",
    "hard_sealed5",
    "hard_sealed4",
    "hard_sealed3",
    "hard_sealed2",
    "hard_sealed",
    "hard_fresh",
    "hard_test",
)


__all__ = ["HARD_SETS", "HELD_OUT_HARD_SETS", "OTHER_SETS", "SCORED_OTHER_SETS"]
