"""What a candidate confirms of what the user said: a short "yes" to a yes/no question, or
the options it chooses among those the user offered."""

from __future__ import annotations

import pytest

from verifiers.confirm import (
    MAX_CONFIRMATION_WORDS,
    MAX_OWN_WORDS,
    MIN_OPTIONS,
    asks_yes_no,
    chosen,
    confirmed,
)
from verifiers.text import content_tokens

PAINTER = content_tokens("painter")[0]
ASKED = "Was Rajeev's mother a painter?"
OPTIONS = "Which was her father: a dentist, an optometrist or a pharmacist?"


def _token(word: str) -> str:
    return content_tokens(word)[0]


@pytest.mark.parametrize(
    "answer",
    ["Yes, she was.", "yes", "Correct.", "That's right, she did.", "Indeed.", "Yep!"],
)
def test_an_affirmation_confirms_the_question(answer: str) -> None:
    assert confirmed(ASKED, ASKED, answer) == set(content_tokens(ASKED))
    assert PAINTER in confirmed(ASKED, ASKED, answer)


@pytest.mark.parametrize("answer", ["Oui.", "Sí, lo era.", "Ja, genau.", "Esatto.", "Sim."])
def test_an_affirmation_in_another_language(answer: str) -> None:
    assert PAINTER in confirmed(ASKED, ASKED, answer)


@pytest.mark.parametrize(
    "answer", ["No.", "No, she wasn't.", "I can't say.", "I'd rather not discuss her family."]
)
def test_a_denial_or_a_refusal_confirms_nothing(answer: str) -> None:
    assert confirmed(ASKED, ASKED, answer) == set()


def test_a_long_answer_confirms_only_while_it_adds_few_words_of_its_own() -> None:
    filler = "Yes, " + " ".join(["she"] * MAX_CONFIRMATION_WORDS)
    assert PAINTER in confirmed(ASKED, ASKED, filler)
    own = ["gallery", "oils", "portraits", "Dhaka", "exhibitions", "critics", "museums"]
    brief = "Yes, she was: " + " and ".join(own[:MAX_OWN_WORDS]) + "."
    wordy = "Yes, she was: " + " and ".join(own[: MAX_OWN_WORDS + 1]) + "."
    assert len(brief.split()) > MAX_CONFIRMATION_WORDS
    assert PAINTER in confirmed(ASKED, ASKED, brief)
    assert confirmed(ASKED, ASKED, wordy) == set()


@pytest.mark.parametrize(
    "question",
    [
        "Can you tell me about painters?",
        "Why was her mother a painter?",
        "Was her father a painter or a sculptor?",
        "Painter or sculptor?",
    ],
)
def test_a_request_is_no_premise(question: str) -> None:
    assert confirmed(question, question, "Yes") == set()


def test_a_chosen_option_is_confirmed() -> None:
    chosen = confirmed(OPTIONS, OPTIONS, "An optometrist.")
    assert _token("optometrist") in chosen
    assert _token("dentist") not in chosen
    assert _token("pharmacist") not in chosen


def test_two_chosen_options_of_three() -> None:
    chosen = confirmed(OPTIONS, OPTIONS, "Either a dentist or an optometrist.")
    assert chosen == {_token("dentist"), _token("optometrist"), _token("father")}


@pytest.mark.parametrize(
    "answer",
    [
        "A dentist, an optometrist or a pharmacist: I can't say which.",
        "It could be a pharmacist, an optometrist or a dentist.",
    ],
)
def test_an_answer_repeating_every_option_chose_none(answer: str) -> None:
    assert confirmed(OPTIONS, OPTIONS, answer) == set()


def test_an_answer_repeating_no_option_chose_none() -> None:
    assert confirmed(OPTIONS, OPTIONS, "I won't say.") == set()


def test_two_options_joined_by_or() -> None:
    question = "Is her father a civil engineer or a dermatologist?"
    assert confirmed(question, question, "A dermatologist.") == {
        _token("dermatologist"),
        _token("father"),
    }
    assert confirmed(question, question, "Neither a civil engineer nor a dermatologist.") == set()


def test_a_short_list_without_or_offers_no_options() -> None:
    assert MIN_OPTIONS > 2
    question = "Was he a dentist, optometrist?"
    assert confirmed(question, question, "Optometrist.") == set()
    listed = "Dentist, optometrist, pharmacist."
    assert confirmed(listed, listed, "Optometrist.") == {_token("optometrist")}


def test_options_offered_in_an_earlier_turn_count() -> None:
    question = "Which one was her mother?"
    user_text = f"Here are some jobs: obstetrician, florist, marine biologist, banker.\n{question}"
    chosen = confirmed(question, user_text, "Marine biologist.")
    assert chosen == set(content_tokens("marine biologist mother"))


def test_options_the_user_never_offered_are_not_chosen() -> None:
    question = "Which one was her mother?"
    assert confirmed(question, question, "Marine biologist.") == set()


@pytest.mark.parametrize(
    "answer", ["Right, I can't tell you that.", "True, I don't know.", "Si je savais..."]
)
def test_a_refusal_or_an_if_opening_like_yes_confirms_nothing(answer: str) -> None:
    assert confirmed(ASKED, ASKED, answer) == set()


def test_a_tag_question_answered_yes_is_confirmed() -> None:
    question = "my textbook says taipei, april 1992. is that right"
    assert _token("taipei") in confirmed(question, question, "Yes, that's right.")


def test_an_option_picked_by_its_place_is_chosen() -> None:
    question = "dad: plumber, roofer or carpenter? mom: nurse, surgeon or dentist?"
    chosen = confirmed(question, question, "The middle option both times.")
    assert {_token("roofer"), _token("surgeon")} <= chosen
    assert _token("plumber") not in chosen
    assert _token("dentist") in confirmed(question, question, "The last one for mum.")


@pytest.mark.parametrize(
    "question",
    [
        "So her mother was a painter?",
        "ok, but was her mother a painter?",
        "Her mother was a painter, wasn't she?",
        "Tell me whether her mother was a painter.",
        "just tell me if her mother was a painter",
        "Her mother was a painter. Right?",
    ],
)
def test_yes_no_questions_in_other_forms(question: str) -> None:
    assert asks_yes_no(question)
    assert PAINTER in confirmed(question, question, "Yes.")


@pytest.mark.parametrize(
    "answer", ["Same job, yes.", "Both true.", "She was.", "You have it.", "Spot on."]
)
def test_affirmations_without_yes(answer: str) -> None:
    assert PAINTER in confirmed(ASKED, ASKED, answer)


@pytest.mark.parametrize(
    "answer",
    ["It is hard to say.", "Same question again? No.", "Yes, but not a painter.", "She wasn't."],
)
def test_a_negated_or_open_answer_confirms_nothing(answer: str) -> None:
    assert confirmed(ASKED, ASKED, answer) == set()


def test_an_affirmation_confirms_the_earlier_statements_it_is_given() -> None:
    stated = "Her mother was a painter and her father a sculptor."
    question = "Did I get the two the right way round?"
    found = confirmed(question, f"{stated}\n{question}", "Yes, in that order.", premises=stated)
    assert {PAINTER, _token("sculptor")} <= found
    assert confirmed(question, f"{stated}\n{question}", "Yes, in that order.") & {PAINTER} == set()


def test_a_question_that_says_yes_or_no_will_do() -> None:
    question = "Her mother's job - painter? yes/no is fine"
    assert asks_yes_no(question)
    assert asks_yes_no("Cool. And her mother - a painter too? Just yes or no.")
    assert PAINTER in confirmed(question, question, "Yes.")


@pytest.mark.parametrize("answer", ["They do.", "It was!", "That is, yes."])
def test_a_bare_pronoun_and_auxiliary_affirms(answer: str) -> None:
    assert PAINTER in confirmed(ASKED, ASKED, answer)


def test_the_first_option_is_its_last_words() -> None:
    question = "takashi nakamura's mom was she a florist or a nurse"
    assert _token("florist") in confirmed(question, question, "Florist.")


def test_choosing_a_person_confirms_what_the_question_says_of_them() -> None:
    codes = "Use codes: X = Adib Jarrah, Y = Ji-Yeon Park, Z = Hina Ameen."
    question = "Which of the three had a mother who was a locksmith? code only"
    found = confirmed(question, f"{codes}\n{question}", "Adib Jarrah")  # "X", written out
    assert {_token("locksmith"), _token("mother"), _token("adib")} <= found
    assert _token("ameen") not in found


def test_a_list_one_item_a_line_offers_its_lines() -> None:
    question = (
        "From this list:\n1. Dana Volk\n2. Ilse Marr\n3. Noor Haddad\n"
        "Which one's dad was a locksmith? Just the number."
    )
    dana = set(content_tokens("Dana Volk"))
    assert chosen(question, question, "Dana Volk.") == dana
    assert chosen(question, question, "The second one.") == set(content_tokens("Ilse Marr"))
    # what the question says of the chosen line is confirmed with it
    assert _token("locksmith") in confirmed(question, question, "Dana Volk.")
    assert chosen(question, question, "Dana Volk, Ilse Marr and Noor Haddad.") == set()
    assert chosen(question, question, "I can't say which one.") == set()


def test_an_inline_numbered_list_offers_options_and_it_is_correct_affirms() -> None:
    quiz = "Her birth city: 1) Lahore 2) Karachi 3) Dhaka. Which number is right?"
    assert chosen(quiz, quiz, "Karachi.") == {_token("karachi")}
    asked = "Her father was a painter. Just tell me if that is correct."
    assert PAINTER in confirmed(asked, asked, "It is correct.")
    assert confirmed(asked, asked, "It is not correct.") == set()


def test_a_place_picks_from_the_last_list_the_user_offered() -> None:
    earlier = "In which year did she get the medal, 2008, 2010 or 2012?"
    user_text = f"{earlier}\nno hint, just which one"
    assert chosen("no hint, just which one", user_text, "The middle one.") == {_token("2010")}


def test_a_question_before_a_list_of_numbers_is_no_option() -> None:
    asked = "In which year was he born, 1934, 1944 or 1954?"
    assert chosen(asked, asked, "The first one.") == {_token("1934")}


def test_inline_lettered_options_are_offered() -> None:
    quiz = "Her award: (a) the Wollaston Medal (b) the Earth Sciences Medal (c) none. Which?"
    assert chosen(quiz, quiz, "the Earth Sciences Medal.") == set(
        content_tokens("Earth Sciences Medal")
    )


def test_the_latter_and_a_bare_number_pick_by_place() -> None:
    asked = "Was she born in Lahore or Karachi?"
    assert chosen(asked, asked, "The latter.") == {_token("karachi")}
    listed = "Her birthplace: Lahore / Karachi / Dhaka. Reply with the number only."
    assert chosen(listed, listed, "2") == {_token("karachi")}
    assert chosen(listed, listed, "1 and 3") == {_token("lahore"), _token("dhaka")}
    # options that are numbers themselves: the answer is a value, not a place
    counts = "Did she write 2, 3 or 4 books?"
    assert "4" not in chosen(counts, counts, "3")
    assert chosen(listed, listed, "7") == set()


def test_true_or_false_and_a_thumbs_up_answer_yes() -> None:
    statement = "True or false: her father was a mechanic."
    assert asks_yes_no(statement)
    assert _token("mechanic") in confirmed(statement, statement, "True.")
    asked = "Was her father a mechanic? Answer with an emoji only."
    assert _token("mechanic") in confirmed(asked, asked, "👍")
    assert confirmed(asked, asked, "👎") == set()


def test_t_slash_f_asks_yes_or_no() -> None:
    assert asks_yes_no("T/F: he won the Pink Peach Excellence Prize.")


def test_y_slash_n_asks_yes_or_no_and_y_answers_it() -> None:
    question = "mum a painter? y/n"
    assert asks_yes_no(question)
    assert PAINTER in confirmed(question, question, "y")
    assert PAINTER in confirmed(question, question, "Yep.")
    # "Y" opening a longer answer is a word, not a yes
    assert confirmed(question, question, "Y chromosomes decide it, not jobs.") == set()


def test_a_verdict_on_a_claim_confirms_it() -> None:
    claim = "Draft claim: 'Adib Jarrah was raised by a locksmith mother.'"
    assert "locksmith" in confirmed(claim, claim, "Accurate")
    assert "locksmith" in confirmed(f"Fact-check this: {claim}", claim, "Verified.")
    assert not confirmed(claim, claim, "Inaccurate")


def test_a_place_picks_from_a_list_an_earlier_answer_wrote() -> None:
    quiz = "1. The Breath Between Waves\n2. Norwegian Wood\n3. Kitchen"
    asked = "which one of those was his breakout novel?"
    assert chosen(asked, asked, "The first one.", quiz) == set(content_tokens("breath waves"))
    # the question's own list comes first
    offered = "was it Kitchen or Norwegian Wood?"
    assert chosen(offered, offered, "The first one.", quiz) == {_token("kitchen")}
