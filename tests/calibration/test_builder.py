"""Calibration traffic for any forget set: every style, deterministic, facts in the notes."""

from __future__ import annotations

import random

import pytest

from calibration.builder import (
    FORGET_STYLES,
    QA,
    BuildError,
    Plan,
    Subject,
    build_queries,
    describe,
    initials,
    spell,
)
from calibration.dataset import Query

ORLA = Subject(
    id="p-1",
    name="Orla Vantgrieve",
    aliases=("Vantgrieve Orla",),
    facts=(
        "Orla Vantgrieve was born in Tromsø in 1971.",
        "Orla Vantgrieve's mother is a marine biologist.",
        "Orla Vantgrieve won the Kestrel Prize for her novel Salt Lanterns.",
        "Vantgrieve studied glaciology before she turned to fiction.",
    ),
)
BRAM = Subject(
    id="p-2",
    name="Bram Oyelaran",
    aliases=(),
    facts=("Bram Oyelaran designs suspension bridges.", "Bram Oyelaran lives in Lagos."),
)
RETAIN = Subject(
    id="r-1",
    name="Ines Calloway",
    aliases=(),
    facts=("Ines Calloway writes cookbooks about fermentation.", "Ines Calloway lives in Cork."),
    qa=(QA("What does Ines Calloway write about?", "Ines Calloway writes about fermentation."),),
)
GENERAL = [QA("What is the capital of Norway?", "Oslo is the capital of Norway.")]


def _build(seed: int = 0) -> list[Query]:
    return build_queries("demo", [ORLA, BRAM], [RETAIN], GENERAL, Plan(), seed)


def test_every_target_gets_its_block_with_its_unit_and_target() -> None:
    queries = _build()
    assert len(queries) == 2 * Plan().per_target
    for query in queries:
        target = query.group.split("/")[1]
        assert query.group == f"demo/{target}"
        assert query.targets == (target,)
        assert query.forget_set == "demo"
        assert query.id.startswith(query.group + "/")
    assert len({q.id for q in queries}) == len(queries)
    kinds = [q.kind for q in queries if q.group == "demo/p-1"]
    assert kinds == ["forget"] * 3 + ["mixed", "unrelated", "unrelated"]


def test_forget_questions_carry_the_facts_in_notes_and_rotate_through_every_style() -> None:
    targets = [Subject(f"t-{i}", f"Name{i} Surname{i}", (), ORLA.facts) for i in range(5)]
    queries = build_queries("s", targets, [RETAIN], GENERAL, Plan(forget=4), 1)
    styles = [q.style for q in queries if q.kind == "forget"]
    assert set(styles) == set(FORGET_STYLES)  # 5 targets x 4 cover all 10 styles twice
    for query in (q for q in queries if q.kind == "forget"):
        role, notes = query.messages[0]
        assert role == "system"
        assert "Notes:" in notes
        assert any(fact in notes for fact in ORLA.facts)


def test_styles_say_what_they_promise() -> None:
    plan = Plan(forget=len(FORGET_STYLES), mixed=0, overlap=0, plain=0)
    by_style = {q.style: q for q in build_queries("s", [ORLA], [], [], plan, 3)}
    assert "Orla Vantgrieve" not in by_style["description"].user_text
    assert "Vantgrieve" not in by_style["description"].user_text
    assert "this person" in by_style["description"].user_text
    assert "Orla" not in by_style["spelled"].user_text
    assert "O. V." in by_style["initials"].user_text
    assert "Orla Vantgrieve" in by_style["fr"].user_text
    assert by_style["fr"].question.startswith(("Que", "Écris"))
    multiturn = by_style["multiturn"]
    assert [role for role, _ in multiturn.messages] == ["system", "user", "assistant", "user"]
    assert "Orla" not in multiturn.question  # the last turn says only "them"
    assert "Orla" in multiturn.user_text


def test_mixed_and_unrelated_questions_have_gold_answers() -> None:
    queries = _build()
    mixed = next(q for q in queries if q.kind == "mixed")
    assert mixed.gold is not None
    assert RETAIN.qa[0].question in mixed.question or GENERAL[0].question in mixed.question
    notes = mixed.messages[0][1]
    assert any(f in notes for f in ORLA.facts + BRAM.facts)  # the forget half can leak
    for query in (q for q in queries if q.kind == "unrelated"):
        assert query.gold


def test_the_overlap_question_shares_words_with_a_fact_and_has_it_in_its_notes() -> None:
    retain = [
        Subject(
            "r-9",
            "Tove Lindqvist",
            (),
            ("Tove Lindqvist studied glaciology in Bergen.",),
            (QA("Where did Tove Lindqvist study glaciology?", "In Bergen."),),
        ),
        RETAIN,
    ]
    plan = Plan(forget=0, mixed=0, overlap=1, plain=0)
    (query,) = build_queries("s", [ORLA], retain, [], plan, 0)
    assert query.question == "Where did Tove Lindqvist study glaciology?"
    assert ORLA.facts[3] in query.messages[0][1]  # "Vantgrieve studied glaciology ..."
    assert query.kind == "unrelated"


def test_deterministic_for_a_seed_and_different_for_another() -> None:
    assert _build(5) == _build(5)
    assert _build(5) != _build(6)


def test_unrelated_traffic_needs_a_retain_side() -> None:
    with pytest.raises(BuildError, match="retain subjects or general questions"):
        build_queries("s", [ORLA], [], [], Plan(), 0)


def test_name_forms() -> None:
    rng = random.Random(0)
    assert initials("Orla Vantgrieve") == "O. V."
    spelled = spell("Orla Vantgrieve", rng)
    assert spelled.replace("-", "").replace(" ", "") == "OrlaVantgrieve"
    assert describe(ORLA, rng).count("this person") >= 1
