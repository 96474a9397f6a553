"""Recording: labels by the reference judge against the target's facts, resumable on disk."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from calibration.dataset import Query
from calibration.evaluate import read_records
from calibration.recorder import labelled, record_queries, references
from calibration.records import CandidateRecord, RoundRecord

FACTS = {
    "p-1": ["Orla Vantgrieve's mother is a marine biologist.", "Orla Vantgrieve lives in Oslo."]
}


def _query(number: int, kind: str = "forget", gold: tuple[str, ...] | None = None) -> Query:
    return Query(
        id=f"q{number}",
        messages=(("system", "notes"), ("user", "Tell me about Orla Vantgrieve.")),
        reference=None,
        group="s/p-1",
        kind=kind,  # type: ignore[arg-type]
        forget_set="s",
        targets=("p-1",),
        gold=gold,
    )


def _rounds(*texts: str) -> list[RoundRecord]:
    return [RoundRecord((CandidateRecord(t, 0.2),)) for t in texts]


def test_labels_come_from_every_fact_of_the_target_and_the_gold_answer() -> None:
    rounds = _rounds("Her mother is a marine biologist.", "She lives in Oslo.", "No idea.")
    labels = [r.candidates[0] for r in labelled(_query(1), rounds, FACTS)]
    assert [c.leaks for c in labels] == [True, True, False]
    assert all(c.correct is None for c in labels)  # no gold answer: not judged
    gold = ("Bergen has the most rain.",)
    mixed = labelled(_query(2, "mixed", gold), _rounds("Bergen has the most rain."), FACTS)
    assert mixed[0].candidates[0].correct is True


def test_a_target_missing_from_its_forget_set_is_an_error_not_an_empty_reference() -> None:
    with pytest.raises(KeyError, match="not in its forget set"):
        references(_query(1), {})
    old = Query("o", (("user", "Q?"),), ("gold",), "g", "forget")
    assert references(old, {}) == ("gold",)


async def test_records_resume_from_disk(tmp_path: Path) -> None:
    calls: list[str] = []

    async def run(query: Query) -> Sequence[RoundRecord]:
        calls.append(query.id)
        return _rounds("Her mother is a marine biologist.")

    path = tmp_path / "records.jsonl"
    first = await record_queries([_query(1), _query(2)], run, path, facts=FACTS)
    assert [r.id for r in first] == ["q1", "q2"]
    assert first[0].rounds[0].candidates[0].leaks is True
    again = await record_queries([_query(1), _query(2), _query(3)], run, path, facts=FACTS)
    assert calls == ["q1", "q2", "q3"]  # only the new query ran again
    assert [r.id for r in again] == ["q1", "q2", "q3"]
    assert len(read_records(path)) == 3
