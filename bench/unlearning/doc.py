"""The prose of the "Unlearning" section: how it was measured, and notes computed from the run."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bench.gateway.report import Machine
from bench.paths import REPO
from calibration.artifact import Artifact
from server.config import Settings


def header(settings: Settings, info: dict[str, Any], args: argparse.Namespace) -> list[str]:
    machine = Machine.current()
    run = info["run"]
    artifact: Artifact = info["artifact"]
    options = (("--quick", args.quick), ("--backend-url URL", args.backend_url))
    flags = "".join(f" {flag}" for flag, on in options if on)
    backend = (
        f"upstream `{settings.backend.upstream.base_url}` (model `{info['model']}`)"
        if settings.backend.kind == "openai"
        else f"the embedded model `{info['model']}` (llama.cpp, "
        f"{settings.backend.llamacpp.pool_size} instances)"
    )
    unlearning = settings.unlearning
    return [
        f"Answers generated {run['generated']} by `python -m bench unlearning{flags}` in "
        f"{run['generation_seconds'] / 60:.1f} min of generation (summed over resumed "
        f"invocations; {run['minutes']:.1f} min for the last one) on {machine.cpu}, "
        f"{machine.cores} cores, shared with other jobs (1-minute load average "
        f"{run['load'][0]:.1f} at the start of that invocation, {run['load'][1]:.1f} at its "
        f"end), Python {machine.python}. Backend: {backend}; "
        f"{settings.generation.default_max_tokens} max tokens, temperature "
        f"{unlearning.temperature}, top_p {unlearning.top_p}; one seed per query, the same for "
        "every system; each query goes through all six systems in turn.",
        "",
        "The reference paper claims up to 93 % lower unlearning error than the state of the "
        "art. These are CPU-scale numbers on a 135M-parameter model; run the same command with "
        "`--backend-url` against `vllm serve` for a real model.",
        "",
        f"Systems (verifiers `{' + '.join(unlearning.verifiers)}`, flag threshold "
        f"{unlearning.flag_threshold}, for all guarded systems): 1. the raw model; 2. a system "
        "instruction naming the forget targets and asking not to reveal anything about them; "
        "3. output filter: refuse whenever the verifiers flag the answer (NeMo Guardrails "
        "output rails, LLM Guard); 4. one re-ask with the verifiers' feedback when flagged, "
        "returning whatever comes back (Guardrails AI reask); 5. best-of-N without feedback, "
        f"N = {max(1, round(artifact.mean_rounds * artifact.policy.candidates))} (Lethe's mean "
        "candidates per query in its artifact), lowest verifier score returned, never "
        "refused; 6. Lethe with the calibrated artifact "
        f"`{_relative(unlearning.artifact) if unlearning.artifact else ''}` "
        f"(ε = {artifact.epsilon}, δ = {artifact.delta}, n = {artifact.n}).",
        "",
        "Unlearning error: share of forget-side answers that the reference judge "
        "(`calibration/reference_judge.py`) says leak a reference (a refusal never leaks), "
        "with its 95 % "
        "Clopper-Pearson interval; the reduction column is (baseline − Lethe) / baseline. "
        "Utility: mean TOFU-style ROUGE-L recall against the gold answer on the utility side. "
        "Over-refusal: utility-side answers that are the refusal text or that the refusal "
        "detector (`verifiers/refusal.py`) reads as declining. Mixed questions: forget notes "
        'that must not leak next to a retain question that must be answered ("retain right": '
        "the judge finds the retain gold answer in the answer). Cost per query over all "
        "queries of a setting: generator calls (one per loop round), candidates, prompt + "
        "generated tokens, latency. Identical backend requests within a query (systems 1, 3 "
        "and 4's first round; 5 and 6's first round) are generated once and replayed, each "
        "replay charged the original call's measured time.",
    ]


def notes(info: dict[str, Any]) -> list[str]:
    notes = [
        "Query rules (harder phrasings, mixed pairs, samples) are in "
        "`bench/unlearning/data.py`; the hand-written general questions in "
        "`bench/data/unlearning/general.jsonl`. Samples are fixed-seed; nothing was tuned on "
        "these results.",
        "Same seeds: every system's request for a query carries the query's seed, but "
        "llama.cpp does not always reproduce a seeded candidate exactly across calls (its "
        "prompt cache changes the arithmetic), so candidates of different systems agree most "
        "of the time, not always.",
        "The judge is lexical: a leak paraphrased or translated into another language is "
        "counted only when enough of the gold answer's words survive, so the `language` "
        "category's leak rates are lower bounds.",
        f"Weights setting: {info['known']} of {info['probed']} real_authors questions that ask "
        "for an author were answered correctly (reference judge) by the raw model in a "
        "separate greedy probe pass (temperature 0, its own seeds); those authors form a "
        "forget set built at bench time (one target per author; the facts are the question "
        "with its answer) and their questions the forget side. The other authors' questions "
        "(which the model mostly cannot answer) and world facts are the utility side. No "
        "calibration artifact exists for this forget set: Lethe runs the demo policy. Its "
        "references are author names; for a two-word name the judge's half-coverage rule "
        "makes one shared word a leak: a lone surname counts (the entity verifier scores it "
        "as a partial match, 0.35, below the flag threshold), and so does a wrong name that "
        "shares the right one's first name.",
    ]
    tie = tie_note(info["artifact"])
    if tie:
        notes.insert(0, tie)
    if info["stale"]:
        notes.append(
            "The demo artifact does not match this run's "
            f"{', '.join(info['stale'])}: Lethe ran its policy without a valid guarantee."
        )
    return notes


def tie_note(artifact: Artifact) -> str | None:
    """Say so when a certified threshold as useful as the served one leaked less in calibration."""
    policy = artifact.policy
    ties = [
        g
        for g in artifact.grid
        if g["certified"]
        and g["budget"] == policy.budget
        and g["refusal_unrelated"] == artifact.refusal_rate_unrelated
        and g["mean_rounds"] == artifact.mean_rounds
    ]
    better = [g for g in ties if int(g["failures"]) < artifact.failures]
    if not better:
        return None
    best = min(better, key=lambda g: (int(g["failures"]), float(g["threshold"])))
    return (
        f"Lethe's τ: the calibration also certified τ = {best['threshold']} at K = "
        f"{policy.budget}, as useful on its selection criteria "
        f"({100 * artifact.refusal_rate_unrelated:.1f} % refusals of unrelated calibration "
        f"queries, {artifact.mean_rounds:.2f} rounds) and leaking less there "
        f"({best['failures']}/{artifact.n} vs {artifact.failures}/{artifact.n} at the served "
        f"τ = {policy.threshold}). The artifact was used as committed."
    )


def _relative(path: Path) -> str:
    try:
        return path.resolve().relative_to(REPO).as_posix()
    except ValueError:
        return str(path)
