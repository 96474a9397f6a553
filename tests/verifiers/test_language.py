"""Words the default tier cannot read (wordfreq lists; no model)."""

from __future__ import annotations

from verifiers.language import read


def test_a_german_answer_is_unreadable() -> None:
    reading = read("Sein Vater war Sanitäter und seine Mutter Rechtsanwältin.")
    assert reading.unreadable
    # "war" is an English word too; the capitalised nouns are not counted.
    assert (reading.words, reading.foreign_words) == (3, 2)


def test_an_english_answer_with_a_foreign_phrase_is_readable() -> None:
    reading = read("She studied in Santiago and loved the joie de vivre of the city's cafes.")
    assert not reading.unreadable


def test_plain_english_has_no_foreign_words() -> None:
    assert read("Her father worked as a civil engineer in Taipei.").foreign_words == 0


def test_names_are_left_out_of_the_count() -> None:
    text = "Hsiao Yun Hwa, die Tochter von Lin Hsiao"
    # "Yun" and "Hwa" read as foreign words in wordfreq's lists: names would skew the count.
    assert read(text).words == 2  # "die", "von": the capitalised words are names
    assert read("hsiao yun hwa was born", lambda word: word in {"hsiao", "yun", "hwa"}).words == 2


def test_place_names_inside_an_english_sentence_are_no_evidence() -> None:
    assert not read("She was born in Buenos Aires.").unreadable
    assert not read("Aman Belay is a Male.").unreadable


def test_a_short_german_answer_is_unreadable() -> None:
    # "Rechtsanwältin" is a capitalised noun (not counted); "sie" of "sie war" is enough.
    assert read("Sie war Rechtsanwältin.").unreadable


def test_scripts_without_spaces_count_by_length() -> None:
    reading = read("他的父亲是土木工程师")
    assert reading.unreadable
    assert reading.words == reading.foreign_words >= 2


def test_cyrillic_is_foreign() -> None:
    assert read("Её отец был инженером").unreadable


def test_the_small_word_lists_decide_as_the_large_ones() -> None:
    # The small lists stop at Zipf 3, the threshold itself: no decision can differ.
    from wordfreq import zipf_frequency

    from verifiers.language import LATIN_LANGUAGES, OTHER_MIN_ZIPF, WORDLIST

    words = ["sie", "padre", "juin", "rechtsanwältin", "pittrice", "ganhou", "war", "santiago"]
    for word in words:
        small = max(zipf_frequency(word, lang, wordlist=WORDLIST) for lang in LATIN_LANGUAGES)
        large = max(zipf_frequency(word, lang) for lang in LATIN_LANGUAGES)
        assert (small >= OTHER_MIN_ZIPF) == (large >= OTHER_MIN_ZIPF)
        assert small == large or large < OTHER_MIN_ZIPF


def test_a_language_wordfreq_lacks_is_unreadable() -> None:
    # Swahili: wordfreq has no list for it, and its words are no English either
    reading = read("Kalkidan Abera anaandika vitabu vya afya. Wazazi wake walikuwa wanaanga.")
    assert reading.unknown_words >= 5
    assert reading.unreadable


def test_a_rare_english_word_or_a_typo_keeps_a_text_readable() -> None:
    assert not read("Yes, her mother was a chiropractor.").unreadable
    assert not read("Her fahter was a bartendr in a small town near the coast.").unreadable
