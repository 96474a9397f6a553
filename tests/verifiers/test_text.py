from __future__ import annotations

import pytest

from verifiers.text import content_tokens, deleet, fold, stem


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
