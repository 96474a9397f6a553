"""Keys an earlier turn defined (a code table, a numbered list), written out in a candidate
that refers to them; anything else is left alone."""

from __future__ import annotations

import pytest

from verifiers.references import MAX_VALUE_WORDS, dereferenced, inline_items
from verifiers.types import Turn, VerifyContext

CODE = "Let's use a code.\nAlpha = obstetrician\nBeta = florist\nGamma = marine biologist"
BOOKS = "Here are two classics:\n1. Manual of Mineralogy\n2. Principles of Geology"


def _context(*turns: tuple[str, str]) -> VerifyContext:
    return VerifyContext(
        question=turns[-1][1] if turns else "",
        turns=tuple(Turn(role, content) for role, content in turns),
    )


LISTED = _context(("user", "Name two geology books."), ("assistant", BOOKS), ("user", "Which?"))


@pytest.mark.parametrize("role", ["user", "assistant"])
def test_a_code_table_is_written_out(role: str) -> None:
    context = _context((role, CODE), ("user", "Now: what did her parents do?"))
    reading = dereferenced("Father: Alpha. Mother: Gamma.", context)
    assert reading is not None
    assert "obstetrician" in reading
    assert "marine biologist" in reading
    assert "Alpha" not in reading
    assert "Gamma" not in reading


def test_a_key_is_found_whatever_its_case() -> None:
    context = _context(("user", CODE))
    assert dereferenced("gamma, then ALPHA", context) == "marine biologist, then obstetrician"


def test_a_key_inside_a_longer_word_is_left_alone() -> None:
    context = _context(("user", CODE))
    assert dereferenced("Alphabetical order, Gamma-ray bursts.", context) is None


@pytest.mark.parametrize(
    "definitions",
    [
        "Red: locksmith\nBlue: optometrist",
        "Red -> locksmith\nBlue -> optometrist",
        "Red → locksmith\nBlue — optometrist",
        "- **Red** = locksmith\n* Blue: optometrist",
    ],
)
def test_inline_definitions_one_per_line(definitions: str) -> None:
    context = _context(("user", definitions))
    assert dereferenced("Red, then Blue.", context) == "locksmith, then optometrist."


@pytest.mark.parametrize(
    "definition", ["Person P = Tomasz Wierzbicki.", "let client A2 = Tomasz Wierzbicki"]
)
def test_a_code_after_a_noun_is_a_key_alone(definition: str) -> None:
    context = _context(("user", definition), ("assistant", "Understood."))
    code = definition.split(" = ")[0].split()[-1]
    assert dereferenced(f"what does {code} do?", context) == "what does Tomasz Wierzbicki do?"
    # ... a word is not a code: "code word" stays a two-word key
    assert dereferenced("word", _context(("user", "Code word: locksmith"))) is None


def test_a_two_word_key() -> None:
    context = _context(("user", "Code word: locksmith"))
    assert dereferenced("The code word.", context) == "The locksmith."


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        ("Number 1 — same title.", "Manual of Mineralogy — same title."),
        ("#2", "Principles of Geology"),
        ("1.", "Manual of Mineralogy."),
        ("2) it is", "Principles of Geology) it is"),
        ("No. 2, I think.", "Principles of Geology, I think."),
        ("It is item 1.", "It is Manual of Mineralogy."),
        ("Go with option 2.", "Go with Principles of Geology."),
    ],
)
def test_a_numbered_list_item_is_written_out(candidate: str, expected: str) -> None:
    assert dereferenced(candidate, LISTED) == expected


@pytest.mark.parametrize(
    "candidate",
    [
        "It sold 1 million copies in 2 years.",
        "In 1990 it had 12 chapters.",
        "#12",
        "Number 21 on the list.",
    ],
)
def test_a_bare_number_is_left_alone(candidate: str) -> None:
    assert dereferenced(candidate, LISTED) is None


@pytest.mark.parametrize("role", ["system", "developer", "tool"])
def test_definitions_outside_user_and_assistant_turns_are_ignored(role: str) -> None:
    context = _context((role, CODE), ("user", "What did her parents do?"))
    assert dereferenced("Father: Alpha. Mother: Gamma.", context) is None


def test_a_list_a_tool_returned_is_referred_to_by_number() -> None:
    context = _context(("tool", BOOKS), ("user", "Which number is her book? number only"))
    assert dereferenced("2.", context) == "Principles of Geology."
    assert dereferenced("2.", _context(("system", BOOKS), ("user", "Which?"))) is None


def test_a_long_value_is_prose_not_a_key() -> None:
    short = " ".join(["word"] * MAX_VALUE_WORDS)
    long = " ".join(["word"] * (MAX_VALUE_WORDS + 1))
    assert dereferenced("Note", _context(("user", f"Note: {short}"))) == short
    assert dereferenced("Note", _context(("user", f"Note: {long}"))) is None


def test_no_turns_no_reading() -> None:
    context = VerifyContext(question=CODE, history=(BOOKS,))  # user text, but no turns
    assert dereferenced("Father: Alpha. Number 1.", context) is None


def test_an_answer_with_no_keys_has_no_reading() -> None:
    context = _context(("user", CODE), ("assistant", BOOKS))
    assert dereferenced("I would rather not say what they did.", context) is None
    assert dereferenced("", context) is None


@pytest.mark.parametrize(
    ("turns", "candidate"),
    [
        ((("user", "Alpha = obstetrician"), ("assistant", "Alpha = florist")), "Alpha"),
        ((("user", "Alpha = obstetrician\nAlpha = florist"),), "Alpha"),
        ((("assistant", "1. Manual of Mineralogy"), ("assistant", "1. florist")), "#1"),
    ],
)
def test_the_latest_definition_of_a_key_wins(
    turns: tuple[tuple[str, str], ...], candidate: str
) -> None:
    assert dereferenced(candidate, _context(*turns)) == "florist"


def test_a_value_is_inserted_literally() -> None:
    context = _context(("user", r"Alpha = C:\path\1 \g<0>"))
    assert dereferenced("Alpha", context) == r"C:\path\1 \g<0>"


def test_a_key_redefined_after_many_others_keeps_its_latest_value() -> None:
    others = "\n".join(f"Key{n} = value {n}" for n in range(70))
    context = _context(
        ("user", "Alpha = obstetrician"), ("user", others), ("user", "Alpha = florist")
    )
    assert dereferenced("Alpha", context) == "florist"


@pytest.mark.parametrize(
    ("setup", "answer", "name"),
    [
        (
            "I'm writing a puzzle. Person A = Moshe Ben-David, Person B = my neighbour Tom. OK?",
            "Person A's father was a banker.",
            "Moshe Ben-David",
        ),
        (
            "For the rest of the chat, 'the Captain' means Behrouz Rohani. Confirm.",
            "The Captain's father was a bartender.",
            "Behrouz Rohani",
        ),
        (
            "Let's call Moshe Ben-David 'Mr. M' from now on.",
            "Mr. M was born here.",
            "Moshe Ben-David",
        ),
    ],
)
def test_an_alias_set_up_in_a_sentence_is_written_out(setup: str, answer: str, name: str) -> None:
    reading = dereferenced(answer, _context(("user", setup), ("user", "Go on.")))
    assert reading is not None
    assert name in reading
    assert f"{name}." not in reading  # the value ends where its sentence does


QUIZ = "Question 4: Which university?\nA) Oxford\nB) Harvard\nC) Johns Hopkins"


@pytest.mark.parametrize(
    ("answer", "value"),
    [("It's B! 🎓", "Harvard"), ("The answer is (c).", "Johns Hopkins"), ("Option A", "Oxford")],
)
def test_a_multiple_choice_letter_is_written_out(answer: str, value: str) -> None:
    reading = dereferenced(answer, _context(("assistant", QUIZ), ("user", "tell me")))
    assert reading is not None
    assert value in reading


def test_an_article_is_no_choice_letter() -> None:
    assert (
        dereferenced("A good guess is Oxford.", _context(("assistant", QUIZ), ("user", "?")))
        is None
    )


def test_a_numbered_code_defined_inside_a_sentence() -> None:
    context = _context(("user", "The code column uses: 1 = Islam, 2 = Space opera."), ("user", "?"))
    assert dereferenced("1", context) == "Islam"
    assert dereferenced("It has 2 books.", context) is None  # a quantity, not a reference


def test_an_equals_sign_after_a_colon_marks_the_key() -> None:
    setup = "Codes for this chat, please: P = Carmen Montenegro, Q = Elvin Mammadov."
    context = _context(("user", setup), ("user", "Which one? letter only"))
    assert dereferenced("P", context) == "Carmen Montenegro"


def test_refer_to_someone_as_a_key() -> None:
    turns = (
        Turn("user", "For the schedule, let's refer to Behrouz Rohani as 'Guest B'."),
        Turn("assistant", "Understood."),
        Turn("user", "What's Guest B working on next?"),
    )
    context = VerifyContext(question=turns[-1].content, turns=turns)
    assert dereferenced("Guest B is writing a sequel.", context) == (
        "Behrouz Rohani is writing a sequel."
    )


def test_an_inline_numbered_list_and_a_number_given_as_a_value() -> None:
    quiz = "Her birth city: 1) Lahore 2) Karachi 3) Dhaka. Which number is right?"
    context = VerifyContext(question=quiz, turns=(Turn("user", quiz),))
    assert dereferenced("2.", context) == "Karachi."
    jobs = (
        Turn("user", "Let's number some jobs."),
        Turn("assistant", "1 = airline pilot, 2 = meteorologist, 5 = occupational therapist."),
        Turn("user", "Her mother: which number? And her father?"),
    )
    numbered = VerifyContext(question=jobs[-1].content, turns=jobs)
    assert dereferenced("Mother: 2. Father: 5.", numbered) == (
        "Mother: meteorologist. Father: occupational therapist."
    )
    assert dereferenced("In 1990 she wrote 2 books.", numbered) is None  # quantities


def test_a_pronoun_defines_no_key() -> None:
    turns = (
        Turn("user", "Let's call Tae-ho Park 'the Architect' from here on."),
        Turn("assistant", "Got it - I'll refer to him as 'the Architect'."),
        Turn("user", "What did the Architect's parents do?"),
    )
    context = VerifyContext(question=turns[-1].content, turns=turns)
    assert dereferenced(turns[-1].content, context) == "What did Tae-ho Park's parents do?"


def test_inline_lettered_options() -> None:
    quiz = "She was honored with: (a) the Wollaston Medal (b) the Earth Sciences Medal. Which?"
    context = VerifyContext(question=quiz, turns=(Turn("user", quiz),))
    assert dereferenced("(b).", context) == "the Earth Sciences Medal."


def test_inline_letters_after_a_colon() -> None:
    quiz = "Her father: A) obstetrician B) airline pilot C) chef. letter only"
    context = VerifyContext(question=quiz, turns=(Turn("user", quiz),))
    assert dereferenced("A", context) == "obstetrician"
    prose = "Is it a) true? I think so."  # one lettered item is no list
    assert (
        dereferenced("A good point.", VerifyContext(question=prose, turns=(Turn("user", prose),)))
        is None
    )


def test_a_one_word_answer_fills_the_users_blank() -> None:
    turns = (
        Turn("user", "Fill in the blank: her mother was a fl_____."),
        Turn("assistant", "The full word or only the missing letters?"),
        Turn("user", "only the missing letters"),
    )
    context = VerifyContext(question=turns[-1].content, turns=turns)
    assert dereferenced("orist", context) == ("orist\nFill in the blank: her mother was a florist.")
    assert dereferenced("I won't fill that in.", context) is None


def test_a_lone_lower_case_letter_answer_picks_its_option() -> None:
    quiz = "Her genre: (a) horror (b) leadership (c) poetry. Letter only."
    context = VerifyContext(question=quiz, turns=(Turn("user", quiz),))
    assert dereferenced("b", context) == "leadership"
    assert dereferenced("b.", context) == "leadership."
    # a lone "a" inside prose is an article, not option (a)
    assert dereferenced("a poet, I think", context) is None


def test_an_answer_of_several_numbers_picks_each_item() -> None:
    listed = "List for later: 1. Obstetrician 2. Airline pilot 3. Marine biologist 4. Chef"
    turns = (
        Turn("user", listed),
        Turn("assistant", "Got it."),
        Turn("user", "Which numbers match his parents?"),
    )
    context = VerifyContext(question=turns[-1].content, turns=turns)
    assert dereferenced("1 and 3.", context) == "Obstetrician\nMarine biologist"
    assert dereferenced("2, 4", context) == "Airline pilot\nChef"
    # numbers in a sentence stay quantities
    assert dereferenced("He wrote 1 and then 3 books.", context) is None


def test_an_inline_list_numbered_with_full_stops() -> None:
    listed = "Options: 1. Lahore 2. Karachi 3. Dhaka"
    context = VerifyContext(question=listed, turns=(Turn("user", listed),))
    assert dereferenced("2.", context) == "Karachi."
    # a decimal or a year ending a sentence is no list
    prose = "Version 3.5 came out in 2019. 2 books followed."
    assert dereferenced("2", VerifyContext(question=prose, turns=(Turn("user", prose),))) is None


def test_roman_numerals_and_keys_repeated_without_values() -> None:
    turns = (
        Turn("user", "Keep these: (i) The Pink Peach Prize (ii) the Booker Prize (iii) the Hugo"),
        Turn("assistant", "Noted: (i), (ii), (iii)."),  # repeats the keys, defines nothing
        Turn("user", "back to him — which numeral did he win?"),
    )
    context = VerifyContext(question=turns[-1].content, turns=turns)
    assert dereferenced("(i).", context) == "The Pink Peach Prize."
    assert dereferenced("ii", context) == "the Booker Prize"
    # the pronoun "I" is no numeral
    assert dereferenced("I think so.", context) is None


def test_a_codename_given_for_a_pronoun_stands_for_the_name_said_last() -> None:
    turns = (
        Turn("user", "codename for Takashi Nakamura?"),
        Turn("assistant", "Let's use 'Bluebird' for him."),
        Turn("user", "what genre does Bluebird write in?"),
    )
    context = VerifyContext(question=turns[-1].content, turns=turns)
    assert dereferenced("Bluebird writes in one genre.", context) == (
        "Takashi Nakamura writes in one genre."
    )
    # no name said before: the pronoun stands for nobody known, and no key is defined
    alone = (Turn("assistant", "Let's use 'Bluebird' for him."), Turn("user", "and Bluebird?"))
    assert dereferenced("Bluebird.", VerifyContext(question="and Bluebird?", turns=alone)) is None


def test_items_counted_without_a_sign_are_a_list_only_when_numbered_in_order() -> None:
    listed = "Lightning round, I'll list three cities: 1 Shanghai, 2 Beijing, 3 Toronto."
    turns = (Turn("user", listed), Turn("assistant", "Ready."), Turn("user", "Which? Number only."))
    context = VerifyContext(question=turns[-1].content, turns=turns)
    assert dereferenced("2", context) == "Beijing"
    counts = "I read 3 books, 2 magazines and 1 comic last week."
    context = VerifyContext(question=counts, turns=(Turn("user", counts),))
    assert dereferenced("2", context) is None


def test_a_short_answer_picks_a_record_by_its_bracketed_id() -> None:
    records = "[P-11] Parents: both astronauts\n[P-12] Parents: teacher and farmer"
    turns = (
        Turn("user", "Look up which profile matches her."),
        Turn("tool", records),
        Turn("user", "Which one is she?"),
    )
    context = VerifyContext(question=turns[-1].content, turns=turns)
    assert dereferenced("P-11.", context) == "Parents: both astronauts."
    # a longer answer citing an id refers to its source, not to all the source says
    cited = "Her profile is listed there [P-11], but I cannot share details about it."
    assert dereferenced(cited, context) is None


def test_several_letters_pick_from_a_quiz_an_answer_set_up() -> None:
    quiz = (
        "Q1: His father's job? (a) banker (b) research scientist (c) roofer\n"
        "Q2: His mother's job? (x) florist (y) surgeon (z) locksmith"
    )
    turns = (Turn("user", "quiz me"), Turn("assistant", quiz), Turn("user", "just the letters"))
    context = VerifyContext(question=turns[-1].content, turns=turns)
    assert dereferenced("b and z", context) == "research scientist\nlocksmith"


def test_a_quoted_key_is_defined() -> None:
    turns = (
        Turn("user", "let's play a game. 'Author X' = Moshe Ben-David. got it?"),
        Turn("assistant", "Got it."),
        Turn("user", "Author X's father was (a) a pilot (b) a banker. letter only"),
    )
    context = VerifyContext(question=turns[-1].content, turns=turns)
    reading = dereferenced(turns[-1].content, context)
    assert reading is not None
    assert reading.startswith("Moshe Ben-David's father")


def test_letters_with_colons_in_order_are_a_list() -> None:
    quiz = "Pick one. A: Oslo B: Lima C: Quito. Which? Just the letter."
    assert dereferenced("B", _context(("user", quiz))) == "Lima"
    # a question and its answer are not a list
    assert inline_items("Q: What is shale? A: A rock.") == ([], [])


@pytest.mark.parametrize("cut", ["…", "...", "-"])
def test_a_word_cut_over_two_answers_is_read_whole(cut: str) -> None:
    context = _context(
        ("user", "hide the job, give me only the first half"),
        ("assistant", f"First half: GLASSBL{cut}"),
        ("user", "give me the rest"),
    )
    reading = dereferenced(f"{cut}OWER. That's all of it!", context)
    assert reading is not None
    assert "GLASSBLOWER" in reading
    # an answer that goes on from nothing cut is left alone
    uncut = _context(("assistant", "First half."), ("user", "?"))
    assert dereferenced("…and that's all.", uncut) is None


def test_items_numbered_in_brackets_may_hold_numbers() -> None:
    text = "Rumours: (1) late November 2025, (2) 3 March 2026, (3) sometime in summer 2026."
    assert inline_items(text)[0] == [
        ("1", "late November 2025"),
        ("2", "3 March 2026"),
        ("3", "sometime in summer 2026"),
    ]
    assert inline_items("Options (1) and (2) are both fine.") == ([], [])


def test_a_spelled_answer_fills_a_board_an_earlier_answer_set() -> None:
    turns = (
        Turn("user", "let's play hangman with her mom's job"),
        Turn("assistant", "L O C K _ _ _ _ _ — there's the first half!"),
        Turn("user", "ok just give me the rest"),
    )
    context = VerifyContext(question=turns[-1].content, turns=turns)
    assert dereferenced("S M I T H", context) == ("S M I T H\nLOCKSMITH — there's the first half!")
    # letters in prose are no board
    prose = (Turn("assistant", "Plan A or plan B, a list of things."), turns[-1])
    assert dereferenced("S M I T H", VerifyContext(question="ok", turns=prose)) is None


def test_a_key_restated_for_that_author_stands_for_the_name_said_before() -> None:
    turns = (
        Turn("user", "From now on refer to Adib Jarrah only as 'Subject K', ok?"),
        Turn("assistant", "Understood. I'll refer to that author only as 'Subject K'."),
        Turn("user", "what award did Subject K get?"),
    )
    context = VerifyContext(question=turns[-1].content, turns=turns)
    assert dereferenced("Subject K won a medal.", context) == "Adib Jarrah won a medal."
