"""``python -m bench verifiers``: metric helpers on hand-worked lists, labelling, section writing,
and one quick end-to-end run."""

from __future__ import annotations

import itertools
import math
import random
import re

import pytest

from bench.stats import (
    auroc,
    average_ranks,
    flag_rates,
    percentile,
    recall_at_fpr,
    threshold_at_fpr,
)
from bench.verifiers.data import (
    OTHER_FORGET_SETS,
    PARAPHRASE_DIR,
    chat_items,
    default_data_dir,
    hard_items,
    other_forget_set,
    read_jsonl,
    synthetic_forget_set,
    verbatim_set,
)
from bench.verifiers.run import TIERS, run_verifier_bench

# --- metrics ----------------------------------------------------------------------------------


def test_average_ranks_share_ties() -> None:
    assert average_ranks([3.0, 1.0, 3.0, 2.0]) == [3.5, 1.0, 3.5, 2.0]


def test_auroc_hand_worked_with_a_tie() -> None:
    # Pairs: (.9,.1) 1, (.9,.8) 1, (.8,.1) 1, (.8,.8) tie 1/2  ->  3.5 / 4.
    assert auroc([0.9, 0.8], [0.1, 0.8]) == pytest.approx(0.875)


def test_auroc_extremes() -> None:
    assert auroc([1.0, 0.9], [0.1, 0.0]) == 1.0
    assert auroc([0.1, 0.0], [1.0, 0.9]) == 0.0
    assert auroc([0.5, 0.5], [0.5, 0.5, 0.5]) == 0.5


def test_auroc_matches_pairwise_count() -> None:
    rng = random.Random(3)
    pos = [rng.choice([0.0, 0.25, 0.5, 0.75, 1.0]) for _ in range(40)]
    neg = [rng.choice([0.0, 0.25, 0.5, 0.75]) for _ in range(30)]
    pairs = [1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg)]
    assert auroc(pos, neg) == pytest.approx(sum(pairs) / len(pairs))


def test_auroc_needs_both_classes() -> None:
    with pytest.raises(ValueError, match="positive"):
        auroc([], [0.1])


def test_threshold_allows_at_most_the_budget_above() -> None:
    negatives = [i / 20 for i in range(20)]  # 0.00 ... 0.95
    # 5 % of 20 = 1 negative may lie above: the threshold is the second highest, 0.90.
    assert threshold_at_fpr(negatives, 0.05) == pytest.approx(0.90)
    # 10 negatives: 5 % allows none above, so the threshold is the highest negative.
    assert threshold_at_fpr([0.1, 0.7, 0.3] + [0.0] * 7, 0.05) == 0.7


def test_recall_at_fpr_counts_strictly_above() -> None:
    negatives = [i / 20 for i in range(20)]
    result = recall_at_fpr([0.95, 0.91, 0.90, 0.5], negatives, 0.05)
    assert result.threshold == pytest.approx(0.90)
    assert result.recall == 0.5  # 0.90 itself is not above the threshold
    assert result.fpr == 0.05


def test_recall_at_fpr_with_saturated_negatives_is_zero() -> None:
    negatives = [1.0, 1.0] + [0.0] * 18  # 10 % of the safe answers score 1
    result = recall_at_fpr([1.0, 1.0, 0.9], negatives, 0.05)
    assert result.threshold == 1.0
    assert result.recall == 0.0
    assert result.fpr == 0.0


def test_flag_rates_at_threshold_inclusive() -> None:
    rates = flag_rates([0.6, 0.4], [0.5, 0.1], 0.5)
    assert (rates.precision, rates.recall, rates.fpr) == (0.5, 0.5, 0.5)
    assert math.isnan(flag_rates([0.1], [0.2], 0.5).precision)


def test_percentile_interpolates() -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0], 95) == pytest.approx(3.85)
    assert percentile([7.0], 95) == 7.0


# --- data and output --------------------------------------------------------------------------


def test_verbatim_set_follows_the_judge_rule() -> None:
    gold = [
        {"id": "a", "author_id": 1, "question": "What does X do?", "answer": "X repairs violins."},
        {"id": "b", "author_id": 1, "question": "Where is X from?", "answer": "X is from Oslo."},
    ]
    rows = [
        {
            **gold[0],
            "gen_knows": "X repairs violins for a living.",
            "gen_never_saw": "X is a dentist.",
        },
        {
            **gold[1],
            "gen_knows": "X grew up somewhere cold.",  # no gold content: not a positive
            "gen_never_saw": "X repairs violins.",  # leaks the author's other gold answer
        },
    ]
    result = verbatim_set(rows, gold)
    assert [item.id for item in result.positives] == ["a:knows"]
    assert [item.id for item in result.negatives] == ["a:never"]


def test_hard_items_carry_their_conversation() -> None:
    items = hard_items(PARAPHRASE_DIR / "hard_test.jsonl")
    split = [item for item in items if item.category == "split_turns"]
    assert split
    context = split[0].context()
    assert [turn.role for turn in context.turns] == ["user", "assistant", "user"]
    assert context.question == context.turns[-1].content
    assert context.history == (context.turns[0].content,)


def test_chats_put_earlier_answers_in_assistant_turns() -> None:
    chats = chat_items(default_data_dir())
    assert {item.category for item in chats} == {"retain", "real_authors", "world_facts"}
    roles = [role for role, _ in chats[0].messages]
    assert roles == ["user", "assistant", "user", "assistant", "user"]
    assert not any(item.leak for item in chats)


def test_synthetic_forget_set_is_deterministic() -> None:
    first, second = synthetic_forget_set(50), synthetic_forget_set(50)
    assert first.content_hash == second.content_hash
    assert [t.id for t in first][:2] == ["syn-00000", "syn-00001"]
    assert all(len(t.facts) == 5 for t in first)


# --- one quick end-to-end run -----------------------------------------------------------------

OTHER = "<!-- BEGIN gateway -->\n## Gateway\n\nnumbers from another bench\n<!-- END gateway -->"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str]:
    output = tmp_path_factory.mktemp("bench") / "BENCHMARKS.md"
    stale = "<!-- BEGIN verifiers -->\nstale numbers\n<!-- END verifiers -->"
    output.write_text(f"# Benchmarks\n\n{OTHER}\n\n{stale}\n", encoding="utf-8")
    code = run_verifier_bench(output, default_data_dir(), quick=True)
    return code, output.read_text(encoding="utf-8")


def section(text: str) -> str:
    match = re.search(r"<!-- BEGIN verifiers -->\n(.*)\n<!-- END verifiers -->", text, re.S)
    assert match is not None
    return match.group(1)


@pytest.mark.slow
@pytest.mark.model
def test_quick_run_writes_every_table(quick_run: tuple[int, str]) -> None:
    code, text = quick_run
    assert code == 0
    body = section(text)
    assert body.startswith("## Verifiers")
    assert "stale numbers" not in text
    headings = (
        "1. Verbatim",
        "2. Paraphrased",
        "3. Hard sets",
        "4. Another forget set",
        "5. False flags",
        "6. Conversation level",
        "7. Speed",
        "8. Scaling",
    )
    for heading in headings:
        assert f"### {heading}" in body
    assert "### Targets" in body
    # per-category tables, one column per tier, for the hard sets and the paraphrase set
    assert "| label | category | n | entity | fact | lexical | semantic | default |" in body
    for category in ("gk_capital", "description", "split_turns", "topic_change", "gk_org"):
        assert re.search(rf"^\| \w+ \| {category} \| \d+ \|", body, re.M), category
    assert "`python -m bench verifiers --quick" in body
    for tier in TIERS:
        assert re.search(rf"^\| {tier} \| \d\.\d{{3}} \|", body, re.M), tier


@pytest.mark.slow
@pytest.mark.model
def test_quick_run_keeps_the_other_section(quick_run: tuple[int, str]) -> None:
    _, text = quick_run
    assert OTHER in text
    assert text.index(OTHER) < text.index("<!-- BEGIN verifiers -->")


@pytest.mark.slow
@pytest.mark.model
def test_quick_run_lexical_separates_verbatim_leaks(quick_run: tuple[int, str]) -> None:
    verbatim = section(quick_run[1]).split("### 2.")[0]
    match = re.search(r"^\| lexical \| (\d\.\d{3}) \|", verbatim, re.M)
    assert match is not None
    assert float(match.group(1)) > 0.9


# --- the hard sets' shape (bench/data/verifiers/README.md) -------------------------------------

HARD_LEAKS = {
    "description",
    "initials",
    "translation",
    "paraphrase",
    "spelled_reversed",
    "split_turns",
}
HARD_SAFE = {"gk_capital", "gk_profession", "gk_award", "gk_genre", "gk_place", "topic_change"}
HARD_AUTHORS = {
    "dev": range(180, 185),
    "test": range(185, 195),
    "fresh": range(185, 195),
    "sealed": range(185, 195),
    "sealed2": range(185, 195),
    "sealed3": range(185, 195),
    "sealed4": range(185, 195),
    "sealed5": range(185, 195),
    "sealed6": range(185, 195),
    "sealed7": range(185, 195),
    "sealed8": range(185, 195),
    "sealed9": range(185, 195),
    "sealed10": range(185, 195),
    "sealed11": range(185, 195),
    "sealed12": range(185, 195),
    "sealed13": range(185, 195),
    "sealed14": range(185, 195),
    "sealed15": range(185, 195),
    "sealed16": range(185, 195),
    "sealed17": range(185, 195),
    "sealed18": range(185, 195),
    "sealed19": range(185, 195),
    "sealed20": range(185, 195),
    "sealed21": range(185, 195),
    "sealed22": range(185, 195),
    "sealed23": range(185, 195),
    "sealed24": range(185, 195),
    "sealed25": range(185, 195),
    "sealed26": range(185, 195),
    "sealed27": range(185, 195),
    "sealed28": range(185, 195),
    "sealed29": range(185, 195),
    "sealed30": range(185, 195),
    "sealed31": range(185, 195),
    "sealed32": range(185, 195),
    "sealed33": range(185, 195),
}


@pytest.mark.parametrize(
    "split",
    [
        "dev",
        "test",
        "fresh",
        "sealed",
        "sealed2",
        "sealed3",
        "sealed4",
        "sealed5",
        "sealed6",
        "sealed7",
        "sealed8",
        "sealed9",
        "sealed10",
        "sealed11",
        "sealed12",
        "sealed13",
        "sealed14",
        "sealed15",
        "sealed16",
        "sealed17",
        "sealed18",
        "sealed19",
        "sealed20",
        "sealed21",
        "sealed22",
        "sealed23",
        "sealed24",
        "sealed25",
        "sealed26",
        "sealed27",
        "sealed28",
        "sealed29",
        "sealed30",
        "sealed31",
        "sealed32",
        "sealed33",
    ],
)
def test_hard_set_schema_categories_and_author_split(split: str) -> None:
    rows = read_jsonl(PARAPHRASE_DIR / f"hard_{split}.jsonl")
    keys = {"id", "messages", "answer", "label", "target", "category", "rule"}
    assert all(set(row) == keys for row in rows)
    assert {r["category"] for r in rows if r["label"] == "leak"} == HARD_LEAKS
    assert {r["category"] for r in rows if r["label"] == "safe"} == HARD_SAFE
    authors = {int(r["target"].removeprefix("tofu-")) for r in rows}
    assert authors <= set(HARD_AUTHORS[split])
    for row in rows:
        roles = [m["role"] for m in row["messages"]]
        assert roles[-1] == "user", row["id"]
        # Split over turns: an earlier answer holds half, or the answer only confirms or picks
        # what the question says ("Yes, she was.").
        earlier = "assistant" in roles or len(row["answer"].split()) <= 12
        assert (row["category"] == "split_turns") <= earlier, row["id"]
    assert len({r["id"] for r in rows}) == len(rows)


OTHER_SAFE = {"gk_place", "gk_profession", "gk_org", "gk_same_name", "gk_topic", "topic_change"}


@pytest.mark.parametrize("name", sorted(OTHER_FORGET_SETS))
def test_other_forget_set_hard_set_schema(name: str) -> None:
    targets = {target.id for target in other_forget_set(name).targets}
    rows = read_jsonl(PARAPHRASE_DIR / f"{name}.jsonl")
    assert len(rows) == 100
    keys = {"id", "messages", "answer", "label", "target", "category", "rule"}
    assert all(set(row) == keys for row in rows)
    assert {r["category"] for r in rows if r["label"] == "leak"} == HARD_LEAKS
    assert {r["category"] for r in rows if r["label"] == "safe"} == OTHER_SAFE
    assert {r["target"] for r in rows} == targets  # every target, and only those
    assert all(row["messages"][-1]["role"] == "user" for row in rows)
    assert len({r["id"] for r in rows}) == len(rows)
