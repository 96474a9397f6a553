"""From loop outcomes to what goes on the wire: refusals in OpenAI's form, usage billed for
the returned answer, the system fingerprint."""

from __future__ import annotations

from server.answer import ChoiceResult, system_fingerprint, wire_choice


def test_a_refused_choice_is_an_openai_refusal() -> None:
    choice = wire_choice(1, ChoiceResult("No.", "stop", refused=True), "openai")
    assert choice.index == 1
    assert choice.message.content is None
    assert choice.message.refusal == "No."
    assert choice.finish_reason == "content_filter"


def test_the_text_style_sends_the_refusal_as_an_answer() -> None:
    choice = wire_choice(0, ChoiceResult("No.", "stop", refused=True), "text")
    assert (choice.message.content, choice.message.refusal) == ("No.", None)
    assert choice.finish_reason == "stop"


def test_an_answer_keeps_its_finish_reason_and_has_no_refusal() -> None:
    choice = wire_choice(0, ChoiceResult("Paris.", "length"), "openai")
    assert (choice.message.content, choice.message.refusal) == ("Paris.", None)
    assert choice.finish_reason == "length"


def test_the_fingerprint_names_model_and_artifact() -> None:
    base = system_fingerprint("m", "sha256:a")
    assert base.startswith("fp_")
    assert base == system_fingerprint("m", "sha256:a")
    assert base != system_fingerprint("m", "sha256:b")
    assert base != system_fingerprint("n", "sha256:a")
    assert base != system_fingerprint("m", None)
