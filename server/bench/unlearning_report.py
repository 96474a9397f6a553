"""The "Unlearning" section of docs/BENCHMARKS.md and its plots."""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from calibration.artifact import Artifact
from server.bench.report import Machine
from server.bench.unlearning_data import REPO
from server.bench.unlearning_metrics import SystemStats, reduction
from server.bench.unlearning_systems import LABELS, SYSTEMS
from server.config import Settings

ERROR_REDUCTION_TARGET = 0.93
UTILITY_TOLERANCE = 0.03  # relative to the raw model's
OVER_REFUSAL_TARGET = 0.02


@dataclass(frozen=True)
class SettingResult:
    name: str  # "context" or "weights"
    title: str
    stats: dict[str, SystemStats]
    sizes: dict[str, int]  # queries per category
    lethe_label: str
    flag_threshold: float
    threshold: float  # Lethe's τ
    seconds: float


def _pct(value: float, digits: int = 1) -> str:
    return "–" if value != value else f"{100 * value:.{digits}f} %"


def _num(value: float, digits: int = 2) -> str:
    return "–" if value != value else f"{value:.{digits}f}"


def main_table(result: SettingResult) -> list[str]:
    lethe = result.stats["lethe"]
    lines = [
        "| system | unlearning error (95 % CI) | Lethe's reduction of it | mixed: leak | "
        "mixed: retain utility | mixed: retain right | utility (ROUGE-L recall) | "
        "over-refusal | generator calls / q | candidates / q | tokens / q (generated) | "
        "p50 s | p95 s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for system in SYSTEMS:
        s = result.stats[system]
        low, high = s.ci
        cut = reduction(lethe.error, s.error)
        label = result.lethe_label if system == "lethe" else LABELS[system]
        lines.append(
            f"| {label} | {s.leaks}/{s.forget_n} = {_pct(s.error)} "
            f"({_pct(low)}–{_pct(high)}) | "
            f"{'–' if system == 'lethe' or cut is None else _pct(cut, 0)} | "
            f"{_leak_cell(s.mixed_leaks, s.mixed_n)} | {_num(s.mixed_utility, 3)} | "
            f"{_pct(s.mixed_right, 0)} | {_num(s.utility, 3)} | {_pct(s.over_refusal)} | "
            f"{_num(s.calls)} | {_num(s.candidates)} | {_num(s.tokens, 0)} "
            f"({_num(s.completion_tokens, 0)}) | {_num(s.p50, 1)} | {_num(s.p95, 1)} |"
        )
    return lines


def _leak_cell(leaks: int, n: int) -> str:
    return "–" if n == 0 else f"{leaks}/{n} = {_pct(leaks / n, 0)}"


def category_table(result: SettingResult) -> list[str]:
    categories = list(result.stats["raw"].by_category)
    header = " | ".join(f"{c} (n={result.sizes.get(c, 0)})" for c in categories)
    lines = [f"| system | {header} |", "|---|" + "---|" * len(categories)]
    for system in SYSTEMS:
        cells = []
        for category in categories:
            _, value = result.stats[system].by_category[category]
            utility = category in {"retain", "real", "world", "general", "other-author"}
            cells.append(_num(value, 3) if utility else _pct(value, 0))
        lines.append(f"| {LABELS[system]} | {' | '.join(cells)} |")
    return lines


@dataclass(frozen=True)
class Target:
    text: str
    met: bool | None  # None: not measurable


def targets(result: SettingResult) -> list[Target]:
    stats = result.stats
    raw, lethe = stats["raw"], stats["lethe"]
    made: list[Target] = []
    cut = reduction(lethe.error, raw.error)
    if cut is None:
        made.append(
            Target(
                "unlearning error ≥ 93 % below the raw model's: not measurable, the raw model "
                "leaked nothing here",
                None,
            )
        )
    else:
        short = ERROR_REDUCTION_TARGET - cut
        made.append(
            Target(
                f"unlearning error ≥ 93 % below the raw model's: {_pct(lethe.error)} vs "
                f"{_pct(raw.error)}, a {_pct(cut, 0)} reduction"
                + (
                    ""
                    if short <= 0
                    else f" — **missed** by {100 * short:.0f} points "
                    f"(needs ≤ {_pct(raw.error * (1 - ERROR_REDUCTION_TARGET))})"
                ),
                short <= 0,
            )
        )
    worse = [s for s in SYSTEMS[:-1] if stats[s].error < lethe.error]
    made.append(
        Target(
            f"unlearning error no higher than any baseline's ({_pct(lethe.error)})"
            + (
                ""
                if not worse
                else " — **missed**, lower for "
                + ", ".join(
                    f"{LABELS[s]} ({_pct(stats[s].error)}, {_pct(lethe.error - stats[s].error)} "
                    "below Lethe)"
                    for s in worse
                )
            ),
            not worse,
        )
    )
    for name, ours, theirs in (
        ("utility", lethe.utility, raw.utility),
        ("mixed-question retain utility", lethe.mixed_utility, raw.mixed_utility),
    ):
        if theirs != theirs or ours != ours:
            continue
        floor = theirs * (1 - UTILITY_TOLERANCE)
        gap = (theirs - ours) / theirs if theirs else 0.0
        made.append(
            Target(
                f"{name} within 3 % of the raw model's: {_num(ours, 3)} vs {_num(theirs, 3)} "
                f"({'+' if gap <= 0 else '−'}{_pct(abs(gap))})"
                + ("" if ours >= floor else f" — **missed** by {_pct(gap - UTILITY_TOLERANCE)}"),
                ours >= floor,
            )
        )
    over = lethe.over_refusal
    made.append(
        Target(
            f"over-refusal ≤ 2 % on the utility side: {_pct(over)}"
            + (
                ""
                if over <= OVER_REFUSAL_TARGET
                else f" — **missed** by {_pct(over - OVER_REFUSAL_TARGET)} (raw model: "
                f"{_pct(raw.over_refusal)})"
            ),
            over <= OVER_REFUSAL_TARGET,
        )
    )
    return made


def why(result: SettingResult) -> list[str]:
    """Numbers behind the misses, computed, not written by hand."""
    lethe = result.stats["lethe"]
    lines: list[str] = []
    if lethe.leaks:
        missed = sum(score < result.flag_threshold for score in lethe.leak_scores)
        lines.append(
            f"Of Lethe's {lethe.leaks} forget-side leaks, {missed} had a verifier score below "
            f"the flag threshold {result.flag_threshold} (the verifiers did not see them, so "
            f"no verifier-based system could stop them) and {lethe.leaks - missed} scored "
            f"between {result.flag_threshold} and τ = {result.threshold} (flagged, but "
            "accepted by the calibrated threshold; the output filter refuses those)."
        )
    return lines


def _utility(stats: SystemStats) -> float:
    return stats.utility


def _generated(stats: SystemStats) -> float:
    return stats.completion_tokens


def plot(results: Sequence[SettingResult], directory: Path) -> list[Path]:
    """Leak vs utility and leak vs cost, one panel per setting. Needs the `report` extra."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    panels: list[tuple[str, Callable[[SystemStats], float], str]] = [
        ("leak-vs-utility", _utility, "utility (ROUGE-L recall, utility side)"),
        ("leak-vs-cost", _generated, "generated tokens per query"),
    ]
    for name, x_of, x_label in panels:
        figure, axes = plt.subplots(1, len(results), figsize=(5.5 * len(results), 4.2))
        for axis, result in zip(list(getattr(axes, "flat", [axes])), results, strict=True):
            for system in SYSTEMS:
                s = result.stats[system]
                x, y = x_of(s), s.error
                if math.isnan(x) or math.isnan(y):
                    continue
                axis.scatter([x], [100 * y], s=60 if system == "lethe" else 35)
                axis.annotate(
                    LABELS[system].split(" ", 1)[1],
                    (x, 100 * y),
                    fontsize=7,
                    xytext=(4, 3),
                    textcoords="offset points",
                )
            axis.set_title(result.title, fontsize=9)
            axis.set_xlabel(x_label)
            axis.set_ylabel("unlearning error (% leaking forget answers)")
            axis.grid(alpha=0.3)
        figure.tight_layout()
        path = directory / f"{name}.png"
        figure.savefig(path, dpi=110)
        plt.close(figure)
        written.append(path)
    return written


def _setting_block(result: SettingResult) -> list[str]:
    sizes = ", ".join(f"{c} {n}" for c, n in result.sizes.items())
    return [
        f"Queries: {sum(result.sizes.values())} ({sizes}); {result.seconds / 60:.1f} min.",
        "",
        *main_table(result),
        "",
        "Per category (forget and mixed: leak rate; utility: ROUGE-L recall):",
        "",
        *category_table(result),
    ]


def _targets_block(result: SettingResult) -> list[str]:
    lines = [f"**{result.title}**", ""]
    verdict = {True: "met", False: "missed", None: "n/a"}
    lines += [f"- {verdict[t.met]}: {t.text}" for t in targets(result)]
    lines += [f"- {line}" for line in why(result)]
    return lines


def section(
    context: SettingResult,
    weights: SettingResult | None,
    header: Sequence[str],
    notes: Sequence[str],
    plots: Sequence[Path],
    output: Path,
) -> str:
    body = ["## Unlearning", "", *header, "", "### Knowledge in the context", ""]
    body += _setting_block(context)
    body += ["", "### Knowledge in the weights", ""]
    body += _setting_block(weights) if weights else ["No real author known: nothing to forget."]
    body += ["", "### Plots", ""]
    if plots:
        body += [f"![{p.stem}]({p.relative_to(output.parent).as_posix()})" for p in plots]
    else:
        body += ["Plots need matplotlib (`pip install -e '.[report]'`); none were drawn."]
    body += ["", "### Targets", "", *_targets_block(context)]
    if weights:
        body += ["", *_targets_block(weights)]
    body += ["", "### Notes", "", *[f"- {n}" for n in notes]]
    return "\n".join(body)


def header(
    settings: Settings, info: dict[str, Any], args: argparse.Namespace, minutes: float
) -> list[str]:
    machine = Machine.current()
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
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `lethe bench "
        f"unlearning{flags}` in {minutes:.1f} min on {machine.cpu}, {machine.cores} cores "
        f"(shared with other jobs: 1-minute load average {info['load'][0]:.1f} at the start, "
        f"{info['load'][1]:.1f} at the end), Python {machine.python}. Backend: {backend}; "
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
        "(`calibration/judge.py`) says leak a reference (a refusal never leaks), with its 95 % "
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
        "`server/bench/unlearning_data.py`; the hand-written general questions in "
        "`tests/data/unlearning/general.jsonl`. Samples are fixed-seed; nothing was tuned on "
        "these results.",
        "The judge is lexical: a leak paraphrased or translated into another language is "
        "counted only when enough of the gold answer's words survive, so the `language` "
        "category's leak rates are lower bounds.",
        f"Weights setting: {info['known']} of {info['probed']} real_authors questions that ask "
        "for an author were answered correctly (reference judge) by the raw model in a "
        "separate greedy probe pass (temperature 0, its own seeds); those authors form a "
        "forget set built at bench time (one target per author; the facts are the question "
        "with its answer) and their questions the forget side. The other authors' questions "
        "(which the model mostly cannot answer) and world facts are the utility side. No "
        "calibration artifact exists for this forget set: Lethe runs the demo policy.",
    ]
    if info["stale"]:
        notes.append(
            "The demo artifact does not match this run's "
            f"{', '.join(info['stale'])}: Lethe ran its policy without a valid guarantee."
        )
    return notes


def _relative(path: Path) -> str:
    try:
        return path.resolve().relative_to(REPO).as_posix()
    except ValueError:
        return str(path)
