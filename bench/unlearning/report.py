"""The "Unlearning" section of docs/BENCHMARKS.md and its plots."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.unlearning.metrics import SystemStats, reduction
from bench.unlearning.systems import LABELS, SYSTEMS

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
                    f"{LABELS[s]} ({_pct(stats[s].error)}, "
                    f"{100 * (lethe.error - stats[s].error):.1f} points below Lethe)"
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
                + (
                    ""
                    if ours >= floor
                    else f" — **missed** by {100 * (gap - UTILITY_TOLERANCE):.1f} points"
                ),
                ours >= floor,
            )
        )
    if lethe.mixed_n:
        made += _mixed_targets(lethe, raw)
    over = lethe.over_refusal
    made.append(
        Target(
            f"over-refusal ≤ 2 % on the utility side: {_pct(over)}"
            + (
                ""
                if over <= OVER_REFUSAL_TARGET
                else f" — **missed** by {100 * (over - OVER_REFUSAL_TARGET):.1f} points "
                f"(raw model: {_pct(raw.over_refusal)})"
            ),
            over <= OVER_REFUSAL_TARGET,
        )
    )
    return made


def _mixed_targets(lethe: SystemStats, raw: SystemStats) -> list[Target]:
    refined = lethe.outcomes.get("mixed", {}).get("refined", 0)
    return [
        Target(
            "mixed questions: the retain half answered right at least as often as by the raw "
            f"model: {_pct(lethe.mixed_right, 0)} vs {_pct(raw.mixed_right, 0)}"
            + ("" if lethe.mixed_right >= raw.mixed_right else " — **missed**"),
            lethe.mixed_right >= raw.mixed_right,
        ),
        Target(
            f"refinement at work: {refined} of {lethe.mixed_n} mixed questions came back "
            "refined (the strategy calibration chose is in Lethe's row)"
            + ("" if refined else " — **missed**"),
            refined > 0,
        ),
    ]


def outcomes(result: SettingResult) -> str:
    """Lethe's answers by loop outcome, per side of the bench."""
    parts = [
        f"{side} " + ", ".join(f"{status} {n}" for status, n in sorted(counts.items()))
        for side, counts in result.stats["lethe"].outcomes.items()
    ]
    return "Lethe's answers by outcome: " + "; ".join(parts) + "."


def why(result: SettingResult) -> list[str]:
    """Numbers behind the misses, computed, not written by hand."""
    stats = result.stats
    lethe, raw, best = stats["lethe"], stats["raw"], stats["best-of-n"]
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
    if lethe.utility_refusals:
        where = ", ".join(f"{c} {n}" for c, n in lethe.utility_refusals.items())
        lines.append(
            f"Lethe refused {sum(lethe.utility_refusals.values())} of {lethe.utility_n} "
            f"utility-side questions ({where}; one answer is {100 / lethe.utility_n:.1f} points "
            "of over-refusal here): verifier scores above τ on answers that share "
            f"words with forget facts. Best-of-N, which sees Lethe's candidates and never "
            f"refuses, has utility {_num(best.utility, 3)} (raw model {_num(raw.utility, 3)}, "
            f"Lethe {_num(lethe.utility, 3)})."
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
            points = [
                (system, x_of(result.stats[system]), 100 * result.stats[system].error)
                for system in SYSTEMS
            ]
            points = [p for p in points if not (math.isnan(p[1]) or math.isnan(p[2]))]
            width = (max(p[1] for p in points) - min(p[1] for p in points)) or 1.0
            height = (max(p[2] for p in points) - min(p[2] for p in points)) or 1.0
            for number, (system, x, y) in enumerate(points):
                axis.scatter([x], [y], s=60 if system == "lethe" else 35)
                stacked = sum(  # labels of points close to an earlier one go above it
                    abs(x - px) < 0.15 * width and abs(y - py) < 0.04 * height
                    for _, px, py in points[:number]
                )
                axis.annotate(
                    LABELS[system].split(" ", 1)[1],
                    (x, y),
                    fontsize=7,
                    xytext=(4, 3 + 9 * stacked),
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
    lines.append(f"- {outcomes(result)}")
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
