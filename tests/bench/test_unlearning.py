"""``python -m bench unlearning``: query rules, metrics, the baseline systems, and a quick
real run."""

from __future__ import annotations

import argparse
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml

from bench.unlearning import report
from bench.unlearning import run as unlearning
from bench.unlearning.data import (
    FULL,
    BenchQuery,
    author_rows,
    context_queries,
    spell,
    weights_forget_set,
    weights_queries,
)
from bench.unlearning.metrics import (
    SystemStats,
    clopper_pearson_lower,
    interval,
    label,
    refuses,
    rouge_l_recall,
    system_stats,
)
from bench.unlearning.systems import SYSTEMS, Replay, Served, Systems
from bench.verifiers.data import default_data_dir
from server.backends.base import Generation, GenerationRequest, GenerationResult, Message, Usage
from server.config import DEFAULT_REFUSAL, Settings
from server.loop import LoopPolicy
from server.refinement import Verify
from verifiers.forgetset import load_forget_set
from verifiers.types import LeakageReport, Verdict

DATA = default_data_dir()


def test_rouge_l_recall_is_lcs_over_gold_length() -> None:
    assert rouge_l_recall("The capital is Paris.", "Paris") == 1.0
    assert rouge_l_recall("a b c d", "a x c d") == pytest.approx(3 / 4)
    assert rouge_l_recall("d c b a", "a b c d") == pytest.approx(1 / 4)
    assert rouge_l_recall("", "Paris") == 0.0
    assert rouge_l_recall("Tel Aviv!", "tel aviv") == 1.0


def test_refusals_are_the_refusal_text_or_only_declining_clauses() -> None:
    assert refuses(DEFAULT_REFUSAL, DEFAULT_REFUSAL)
    assert refuses("I don't know.", DEFAULT_REFUSAL)
    assert not refuses("I'm not sure, but it is Paris.", DEFAULT_REFUSAL)
    assert not refuses("Paris.", DEFAULT_REFUSAL)


def test_clopper_pearson_interval_matches_known_values() -> None:
    low, high = interval(5, 10)  # exact two-sided 95 % interval: 0.1871 - 0.8129
    assert low == pytest.approx(0.1871, abs=1e-3)
    assert high == pytest.approx(0.8129, abs=1e-3)
    assert interval(0, 20)[0] == 0.0
    assert clopper_pearson_lower(20, 20, 0.025) == pytest.approx(0.8316, abs=1e-3)


def test_context_queries_follow_the_documented_sizes_and_rules() -> None:
    queries = context_queries(DATA, FULL)
    counts = Counter(q.category for q in queries)
    assert counts == {
        "forget-direct": FULL.direct,
        **{f"forget-{c}": FULL.hard_authors for c in FULL.hard},
        "mixed-both": FULL.mixed_pairs,
        "mixed-retain": FULL.mixed_pairs,
        "retain": FULL.retain,
        "real": FULL.real,
        "world": FULL.world,
        "general": FULL.general,
    }
    assert len({q.id for q in queries}) == len(queries)
    assert queries == context_queries(DATA, FULL)  # fixed seeds
    for query in queries:
        if query.side == "forget":
            assert query.leak_refs
            assert query.gold is None
        elif query.side == "mixed":
            assert query.leak_refs
            assert query.gold
            notes = query.messages[0][1]
            assert query.gold in notes
            assert all(ref in notes for ref in query.leak_refs)
        else:
            assert not query.leak_refs
            assert query.gold
    spelled = [q for q in queries if q.category == "forget-spelled"]
    assert "W-E-I-J-U-N C-H-E-N" in spelled[0].question
    assert "Wei-Jun" not in spelled[0].question
    indirect = [q for q in queries if q.category == "forget-indirect"]
    assert all("Wei-Jun Chen" not in q.question for q in indirect)
    assert spell("Moshe Ben-David") == "M-O-S-H-E B-E-N-D-A-V-I-D"


def test_weights_forget_set_loads_and_splits_known_from_other(tmp_path: Path) -> None:
    pool = author_rows(DATA, FULL)
    assert all(r["answer"] != "Colombia" for r in pool)  # appositive rows are left out
    known = {str(pool[0]["id"]), str(pool[1]["id"])}
    path = tmp_path / "set.yaml"
    path.write_text(yaml.safe_dump(weights_forget_set(pool, known)), encoding="utf-8")
    forget_set = load_forget_set(path)
    assert [t.name for t in forget_set] == [pool[0]["answer"], pool[1]["answer"]]
    queries = weights_queries(DATA, FULL, known)
    forget = [q for q in queries if q.side == "forget"]
    assert {q.id for q in forget} == known
    answers = {str(r["id"]): str(r["answer"]) for r in pool}
    assert all(q.leak_refs == (answers[q.id],) and q.gold is None for q in forget)
    assert all(q.side == "utility" and q.gold for q in queries if q.id not in known)


def _verify(score_of: dict[str, float]) -> Verify:
    async def verify(messages: Sequence[Message], texts: Sequence[str]) -> list[LeakageReport]:
        reports = []
        for text in texts:
            score = score_of.get(text, 0.0)
            verdict = Verdict(name="fact", score=score)
            reports.append(LeakageReport(score, (verdict,), score >= 0.5, ()))
        return reports

    return verify


class Scripted:
    """Answers by round: the first request leaks, a re-ask with feedback comes back clean."""

    def __init__(self) -> None:
        self.requests: list[GenerationRequest] = []

    async def __call__(self, request: GenerationRequest) -> GenerationResult:
        self.requests.append(request)
        reasked = request.messages[-1].role == "user" and len(request.messages) > 2
        texts = ["clean after feedback"] if reasked else ["LEAK", "half", "LEAK2"][: request.n]
        return GenerationResult(
            generations=[Generation(t) for t in texts], usage=Usage(10, 3 * len(texts))
        )


async def test_baselines_differ_only_in_their_policies() -> None:
    settings = Settings()
    scores = {"LEAK": 0.9, "half": 0.6, "LEAK2": 0.95, "clean after feedback": 0.0}
    lethe = LoopPolicy(threshold=0.85, budget=0, candidates=2, strategy="reprompt")
    systems = Systems(settings, _verify(scores), lethe, 2, ("Someone",))
    query = BenchQuery("q1", "context", "forget-direct", "forget", (("user", "Who?"),), ("x",))
    backend = Scripted()
    replay = Replay(backend)
    served = {s: await systems.run(s, query, replay) for s in SYSTEMS}
    assert served["raw"].text == "LEAK"
    assert not served["raw"].refused
    assert served["filter"].refused
    assert served["filter"].text == DEFAULT_REFUSAL
    assert served["reask"].text == "clean after feedback"
    assert served["reask"].calls == 2
    assert served["best-of-n"].text == "half"  # lowest score, never refused
    assert served["lethe"].text == "half"  # 0.6 <= τ = 0.85
    statuses = {s: served[s].status for s in SYSTEMS}
    assert statuses == {
        "raw": "answered",
        "prompt": "answered",
        "filter": "refused",
        "reask": "refined",
        "best-of-n": "accepted",
        "lethe": "accepted",
    }
    assert "Someone" in backend.requests[1].messages[0].content  # the prompting baseline
    # raw, filter and reask share one request; best-of-n and Lethe another: 4 generated.
    assert len(backend.requests) == 4
    assert served["filter"].calls == 1
    assert served["filter"].candidates == 1
    assert served["lethe"].candidates == 2
    assert served["lethe"].completion_tokens == 6
    assert served["filter"].seconds >= served["raw"].seconds * 0.5  # replays are charged
    labelled = label(query, served["filter"], DEFAULT_REFUSAL)
    assert not labelled.leaks
    assert labelled.refused


@pytest.mark.slow
@pytest.mark.model
def test_quick_run_writes_the_section_and_plots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(unlearning, "CACHE", tmp_path / "cache")  # a fresh run, no replay
    output = tmp_path / "BENCHMARKS.md"
    args = argparse.Namespace(output=output, quick=True, data=None, backend_url=None)
    assert unlearning.run_unlearning(args) == 0
    text = output.read_text(encoding="utf-8")
    assert "<!-- BEGIN unlearning -->" in text
    assert "## Unlearning" in text
    assert "### Knowledge in the context" in text
    assert "### Knowledge in the weights" in text
    rows = re.findall(r"^\| (\d)\. .*? \| (\d+)/(\d+) = ([\d.]+) %", text, re.MULTILINE)
    assert [r[0] for r in rows[:6]] == ["1", "2", "3", "4", "5", "6"]
    for _, leaks, n, rate in rows:
        assert int(n) > 0
        assert 0 <= int(leaks) <= int(n)
        assert float(rate) == pytest.approx(100 * int(leaks) / int(n), abs=0.05)
    assert "### Targets" in text
    assert "not calibrated for this setting" in text
    for name in ("leak-vs-utility", "leak-vs-cost"):
        png = tmp_path / "unlearning" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"](unlearning/{name}.png)" in text


def _mixed_stats(system: str, statuses: list[str], right: list[bool]) -> SystemStats:
    labelled = []
    for number, (status, is_right) in enumerate(zip(statuses, right, strict=True)):
        query = BenchQuery(
            f"m{number}", "context", "mixed-both", "mixed", (("user", "Both?"),), (), "chef"
        )
        text = "his father was a chef" if is_right else "I do not know"
        served = Served("context", query.id, system, text, False, 0.1, 1, 2, 10, 5, 1.0, status)
        labelled.append(label(query, served, DEFAULT_REFUSAL))
    return system_stats(system, labelled)


def test_mixed_targets_count_refined_answers_and_retain_halves_right() -> None:
    raw = _mixed_stats("raw", ["answered"] * 3, [True, False, False])
    lethe = _mixed_stats("lethe", ["refined", "accepted", "refused"], [True, True, False])
    stats = {s: raw for s in SYSTEMS} | {"lethe": lethe}
    result = report.SettingResult("context", "t", stats, {"mixed-both": 3}, "6. Lethe", 0.5, 0.7, 1)
    made = {t.text.split(":")[0]: t.met for t in report.targets(result)}
    assert made["mixed questions"] is True  # 2/3 right against 1/3
    assert made["refinement at work"] is True
    assert (
        report.outcomes(result)
        == "Lethe's answers by outcome: mixed accepted 1, refined 1, refused 1."
    )
    never = _mixed_stats("lethe", ["accepted"] * 3, [False] * 3)
    stats["lethe"] = never
    made = {t.text.split(":")[0]: t.met for t in report.targets(result)}
    assert made["mixed questions"] is False
    assert made["refinement at work"] is False
