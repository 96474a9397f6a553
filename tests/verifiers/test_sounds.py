"""Names written in another script (``verifiers.sounds``)."""

from __future__ import annotations

import pytest

from verifiers.sounds import MAX_VAV_RUNS, SoundIndex, skeleton, skeletons

NAMES = SoundIndex(
    [
        ("t-behrouz", ["behrouz", "rohani"]),
        ("t-xin", ["xin", "lee", "williams"]),
        ("t-elvin", ["elvin", "mammadov"]),
        ("t-carmen", ["carmen", "montenegro"]),
        ("t-moshe", ["moshe", "ben", "david"]),
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
        ("אביו של אלווין ממדוב היה פרמדיק.", "t-elvin"),
        ("כרמן מונטנגרו נולדה בסנטיאגו.", "t-carmen"),
        ("משה בן־דוד נולד ב-1940.", "t-moshe"),
        ("אביו של בהרוז רוחאני", "t-behrouz"),
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


def test_each_vav_is_read_as_a_vowel_and_as_v() -> None:
    # דוד is "David" (vav as v), מונטנגרו "Montenegro" (vav as o, twice)
    assert skeleton("david") in skeletons("דוד")
    assert skeleton("montenegro") in skeletons("מונטנגרו")
    assert len(skeletons("מונטנגרו")) == 4


def test_a_word_with_too_many_vavs_has_one_reading() -> None:
    word = "ו".join("אבגדה"[: MAX_VAV_RUNS + 2])
    assert len(skeletons(word)) == 1


SHORT = SoundIndex([("t-hina", ["hina", "ameen"])])


@pytest.mark.parametrize(
    "text", ["Хина Амин", "हिना अमीन के पिता", "ヒナ・アミーンの父", "히나 아민"]
)
def test_a_short_name_spelled_with_its_vowels_is_a_full_mention(text: str) -> None:
    assert [(h.target_id, h.full) for h in SHORT.find(text)] == [("t-hina", True)]


@pytest.mark.parametrize("text", ["она мне сказала", "Хина сказала", "هينا أمين"])
def test_a_short_name_needs_every_part_and_its_vowels(text: str) -> None:
    # "она мне" has the skeleton of "Hina Ameen"; Arabic writes no short vowels to compare
    assert not [h for h in SHORT.find(text) if h.full]


def test_a_korean_particle_on_a_name_is_read_off() -> None:
    index = SoundIndex([("t-kal", ["kalkidan", "abera"])])
    assert [(h.target_id, h.full) for h in index.find("칼키단 아베라는 작가입니다")] == [
        ("t-kal", True)
    ]


@pytest.mark.parametrize(
    ("text", "name"), [("ทาคาชิ นากามูระ", "takashi"), ("โมเช เบน-เดวิด", "moshe")]
)
def test_thai_is_read_with_its_vowels_in_spoken_order(text: str, name: str) -> None:
    index = SoundIndex([("takashi", ["takashi", "nakamura"]), ("moshe", ["moshe", "ben", "david"])])
    assert {h.target_id for h in index.find(text) if h.full} == {name}


def test_a_korean_name_matches_in_any_customary_spelling_and_vowels() -> None:
    # Russian writes "Park" as "Пак" and the vowel of "Tae" as "э"
    min_seo = SoundIndex([("t-min", ["park", "min", "seo"])])
    assert [(h.target_id, h.full) for h in min_seo.find("Пак Мин Со пишет романы")] == [
        ("t-min", True)
    ]
    tae_ho = SoundIndex([("t-tae", ["park", "tae", "ho"])])
    assert [h.full for h in tae_ho.find("Пак Тхэ Хо — писатель")] == [True]
    assert not [h for h in tae_ho.find("Пак пишет") if h.full]
    parker = SoundIndex([("t-parker", ["parker", "tae", "ho"])])  # not a Korean family name
    assert not [h for h in parker.find("Пак Тхэ Хо") if h.full]


def test_a_w_written_as_v_and_indic_ch() -> None:
    # Hindi writes the "W" of "Wei" with its "v" and "ch" with a letter read "c"
    index = SoundIndex([("t-wei", ["wei", "jun", "chen"])])
    assert [(h.target_id, h.full) for h in index.find("वेई-जुन चेन लिखते हैं")] == [("t-wei", True)]
    assert not [h for h in index.find("जुन लिखते हैं") if h.full]


def test_thai_o_ang_before_a_vowel_is_silent() -> None:
    # "อามีน" is "Ameen": the o ang only carries the opening vowel
    assert [(h.target_id, h.full) for h in SHORT.find("ฮินา อามีน เกิดที่เมืองการาจี")] == [
        ("t-hina", True)
    ]


def test_hangul_writes_an_opening_t_with_the_letter_read_d() -> None:
    index = SoundIndex([("t-takashi", ["takashi", "nakamura"])])
    assert {h.target_id for h in index.find("다카시 나카무라의 아버지") if h.full} == {"t-takashi"}
    # only hangul: Cyrillic "Д" stays a "d"
    assert not [h for h in index.find("Дакаси Накамура") if h.full]


def test_a_two_part_given_name_written_as_one_word_in_katakana() -> None:
    # "Tae-ho Park" as Japanese writes it: "テホ・パク" (teho paku)
    index = SoundIndex([("t-tae", ["park", "tae", "ho"]), ("t-tae", ["tae", "ho", "park"])])
    assert {h.target_id for h in index.find("テホ・パクは建築の本を書く") if h.full} == {"t-tae"}
    assert not [h for h in index.find("テホは建築の本を書く") if h.full]


@pytest.mark.parametrize(
    "text",
    [
        "Томаш Вєжбіцький з Гданська",  # Ukrainian: "rz" is "ж"
        "Томаш Вержбицкий",  # Russian: "рж"
        "Τόμας Βιέρζμπιτσκι",  # Greek
    ],
)
def test_a_polish_name_is_read_as_polish_sounds(text: str) -> None:
    index = SoundIndex([("t-pl", ["tomasz", "wierzbicki"])])
    assert any(hit.full for hit in index.find(text))
    # another name with the same first name is not the target
    assert not any(hit.full for hit in index.find("Томаш Ковальський"))


def test_greek_writes_mb_as_mp() -> None:
    index = SoundIndex([("t-it", ["luca", "brambilla"])])
    assert any(hit.full for hit in index.find("Ο σεφ Λούκα Μπραμπίλα νοσηλεύτηκε"))
    assert any(hit.full for hit in index.find("Лука Брамбилла"))


def test_greek_writes_d_as_nt_and_g_as_gk() -> None:
    index = SoundIndex([("t-pt", ["fernandes", "tavares"]), ("t-de", ["hamish", "gellner"])])
    assert {h.target_id for h in index.find("η Φερνάντες-Ταβάρες χώρισε") if h.full} == {"t-pt"}
    assert {h.target_id for h in index.find("ο Χάμις Γκέλνερ") if h.full} == {"t-de"}
