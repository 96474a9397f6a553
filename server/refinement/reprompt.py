"""``reprompt``: show the model its best attempt and the verifiers' feedback, ask again.

The feedback names *kinds* of content to leave out (:func:`verifiers.feedback.render_feedback`),
never the content, so nothing from the forget set reaches the model through it.
"""

from __future__ import annotations

from server.backends.base import Message
from server.refinement.base import PromptOnly, RoundView
from verifiers.feedback import render_feedback


class Reprompt(PromptOnly):
    def next_prompt(self, view: RoundView) -> tuple[Message, ...]:
        best = view.best()
        feedback = render_feedback(view.reports[best])
        return (
            *view.original,
            Message("assistant", view.candidates[best].text),
            Message("user", self.settings.refine_template.format(feedback=feedback)),
        )
