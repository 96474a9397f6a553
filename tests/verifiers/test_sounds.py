"""Names written in another script (``verifiers.sounds``)."""

from __future__ import annotations

import pytest

from verifiers.sounds import SoundIndex, skeleton

NAMES = SoundIndex(
    [
        ("t-behrouz", ["behrouz", "rohani"]),
        ("t-xin", ["xin", "lee", "williams"]),
        ("t-elvin", ["elvin", "mammadov"]),
    ]
)


@pytest.mark.parametrize(
    "written", ["Бехруз", "ベフルーズ", "بهروز", "बेहरूज़", "Μπεχρούζ", "Behrouz"]
)
def test_transliterations_share_a_skeleton(written: str) -> None:
    assert skeleton(written) == skeleton("behrouz")


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("Отец Бехруза Рохани был барменом.", "t-behrouz"),  # a vowel ending: same skeleton
        ("Отец Бехруз Рохани был барменом.", "t-behrouz"),
        ("ベフルーズ・ロハニの父親はバーテンダーでした。", "t-behrouz"),
        ("Μπεχρούζ Ροχανί", "t-behrouz"),
        ("Синь Ли Уильямс родилась в Пекине.", "t-xin"),
        ("신 리 윌리엄스의 아버지", "t-xin"),
        ("Отец Эльвина Мамедова", "t-elvin"),
    ],
)
def test_a_name_in_another_script_is_a_full_mention(text: str, target: str | None) -> None:
    full = {hit.target_id for hit in NAMES.find(text) if hit.full}
    assert full == ({target} if target else set())


def test_spans_are_offsets_into_the_text() -> None:
    text = "Я читал Бехруз Рохани вчера."
    (hit,) = [h for h in NAMES.find(text) if h.full]
    assert text[hit.start : hit.end] == "Бехруз Рохани"


@pytest.mark.parametrize(
    "text",
    [
        "Москва — столица России.",
        "Ли Мин и Иран.",  # a short part alone proves nothing
        "Behrouz Rohani",  # Latin script is matched as written elsewhere, not by sound
        "辛李威廉姆斯",  # Chinese characters are not read
    ],
)
def test_no_mention(text: str) -> None:
    assert not [h for h in NAMES.find(text) if h.full]
