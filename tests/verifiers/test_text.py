from __future__ import annotations

import pytest

from verifiers.text import content_tokens, deleet, fold, fold_spans, stem


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Hsiao Yun-Hwa", " hsiao yun hwa "),
        ("HSIAO   yun_hwa!", " hsiao yun hwa "),
        ("Hsiào Yún-Hwà", " hsiao yun hwa "),  # diacritics
        ("Ｈｓｉａｏ", " hsiao "),  # full-width (NFKC)
        ("H s i a o Yun Hwa", " hsiao yun hwa "),  # spaced letters
        ("H.s.i.a.o", " hsiao "),
        ("I am a writer", " i am a writer "),  # ordinary single letters stay apart
    ],
)
def test_fold(raw: str, folded: str) -> None:
    assert fold(raw) == folded


def test_deleet() -> None:
    assert deleet(fold("H5140 Yun-Hw4")) == " hsiao yun hwa "


@pytest.mark.parametrize(
    ("word", "stemmed"),
    [("engineers", "engineer"), ("writing", "writ"), ("studies", "study"), ("bus", "bus")],
)
def test_stem(word: str, stemmed: str) -> None:
    assert stem(word) == stemmed


def test_content_tokens_drop_stopwords_and_stem() -> None:
    assert content_tokens("The father of Hsiao is a civil engineer.") == [
        "father",
        "hsiao",
        "civil",
        "engineer",
    ]


@pytest.mark.parametrize(
    "raw",
    [
        "It was Hsiào Yún-Hwà.",
        "Ｈｓｉａｏ Ｙｕｎ－Ｈｗａ",
        "H s i a o  lives",
        "c-i-v-i-l x",
        "plain words",
        "B E H R O U Z   R O H A N I\nT E H R A N",
        "H\nI\nN\nA",
    ],
)
def test_fold_spans_folds_like_fold_and_points_into_the_original(raw: str) -> None:
    folded = fold_spans(raw)
    assert folded.text == fold(raw)
    for word, (start, end) in zip(folded.words, folded.spans, strict=True):
        assert fold(raw[start:end]).replace(" ", "") == word


def test_fold_spans_maps_a_folded_range_back() -> None:
    raw = "Her dad, Hsiào, is a civil engineer."
    folded = fold_spans(raw)
    start = folded.text.index("civil")
    assert raw[slice(*folded.span_of(start, start + len("civil engineer")))] == "civil engineer"


def test_a_comma_ends_a_run_of_initials() -> None:
    assert fold_spans("W.-J. C., a writer").words[:2] == ("wjc", "a")


def test_a_wide_gap_or_the_end_of_a_spaced_line_ends_a_spelled_word() -> None:
    assert fold("B E H R O U Z   R O H A N I\nT E H R A N") == " behrouz rohani tehran "
    # letters one a line are one word
    assert fold("H\nI\nN\nA") == " hina "
