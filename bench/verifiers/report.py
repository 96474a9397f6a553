"""Results of ``python -m bench verifiers`` and their Markdown section in docs/BENCHMARKS.md."""

from __future__ import annotations

import math
import os
import platform
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bench.doc import cpu_model
from bench.stats import auroc, flag_rates, median, recall_at_fpr
from bench.verifiers.data import GOLD_FILES, Item, VerbatimSet
from bench.verifiers.sets import HARD_SETS, HELD_OUT_HARD_SETS, OTHER_SETS, SCORED_OTHER_SETS
from calibration.reference_judge import LEAK_COVERAGE

MAX_FPR = 0.05
FLAG_THRESHOLD = 0.5
# Issue 12's targets, for the default tier on the held-out test splits.
DEFAULT = "default"
VERBATIM_AUROC = 0.995
PARAPHRASE_AUROC = 0.97
PARAPHRASE_RECALL = 0.8
GOLD_FLAGS = 0.01
GENERAL_FLAGS = 0.02  # per general-knowledge category of the hard set
LEAK_RECALL = 0.9  # hard-set leaks flagged overall
LEAK_RECALL_EACH = 0.8  # ... and in every leak category
LEXICAL_P50_MS = 1.0
DEFAULT_P50_MS = 10.0
DEFAULT_P95_MS = 30.0
SCALING_P50_MS = 1.0
PARAPHRASE_SETS = {"paraphrase_test": "held-out test", "paraphrase_dev": "dev"}


@dataclass(frozen=True, slots=True)
class Machine:
    cpu: str
    cores: int
    python: str
    load: float  # 1-minute load average when the run started

    @classmethod
    def current(cls) -> Machine:
        cpu = cpu_model()
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
        return cls(cpu, os.cpu_count() or 1, platform.python_version(), load)


@dataclass(frozen=True, slots=True)
class Scored:
    items: tuple[Item, ...]
    scores: tuple[float, ...]
    flags: tuple[bool, ...]

    def positives(self) -> list[float]:
        return [s for item, s in zip(self.items, self.scores, strict=True) if item.leak]

    def negatives(self) -> list[float]:
        return [s for item, s in zip(self.items, self.scores, strict=True) if not item.leak]

    def flagged_share(self) -> tuple[int, int]:
        return sum(self.flags), len(self.flags)


@dataclass(frozen=True, slots=True)
class Latency:
    p50s: tuple[float, ...]  # one per timed run
    p95s: tuple[float, ...]
    build_s: float  # median time to build the suite for the demo forget set

    @property
    def p50(self) -> float:
        return median(self.p50s)

    @property
    def p95(self) -> float:
        return median(self.p95s)


@dataclass(frozen=True, slots=True)
class Scaling:
    n_targets: int
    n_facts: int
    n_candidates: int
    build_s: float
    rss_delta_mib: float
    traced_peak_mib: float
    p50_ms: float
    p95_ms: float
    demo_targets: int
    demo_p50_ms: float
    demo_p95_ms: float


@dataclass(frozen=True, slots=True)
class BenchResults:
    command: str
    date: str
    machine: Machine
    quick: bool
    minutes: float
    tiers: Mapping[str, tuple[str, ...]]
    verbatim: VerbatimSet
    scored: Mapping[str, Mapping[str, Scored]]  # dataset -> tier -> scores
    timed_candidates: int
    warmup: int
    timing_repeats: int
    latency: Mapping[str, Latency]
    scaling: Scaling
    failures: int
    torch_threads: int | None
    semantic_runtime: str
    load_end: float


# --- formatting -------------------------------------------------------------------------------


def num(value: float, digits: int = 3) -> str:
    return "–" if math.isnan(value) else f"{value:.{digits}f}"


def pct(value: float) -> str:
    return "–" if math.isnan(value) else f"{100 * value:.1f} %"


def met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


# --- sections -------------------------------------------------------------------------------


def separation_row(tier: str, scored: Scored) -> list[str]:
    pos, neg = scored.positives(), scored.negatives()
    at_fpr = recall_at_fpr(pos, neg, MAX_FPR)
    rates = flag_rates(pos, neg, FLAG_THRESHOLD)
    return [
        tier,
        num(auroc(pos, neg)),
        f"{pct(at_fpr.recall)} (> {num(at_fpr.threshold, 2)}, FF {pct(at_fpr.fpr)})",
        pct(rates.precision),
        pct(rates.recall),
        pct(rates.fpr),
    ]


SEPARATION_HEADER = (
    "tier",
    "AUROC",
    "recall @ ≤5 % false flags (threshold, FF)",
    "precision @ 0.5",
    "recall @ 0.5",
    "false flags @ 0.5",
)


def verbatim_section(r: BenchResults) -> list[str]:
    v = r.verbatim
    by_tier = r.scored["verbatim"]
    rows = [
        [*separation_row(tier, s), met(auroc(s.positives(), s.negatives()) >= VERBATIM_AUROC)]
        for tier, s in by_tier.items()
    ]
    return [
        "### 1. Verbatim leaks (regression guard)",
        "",
        f"TOFU `forget10.jsonl`, {v.rows} rows, scored against the demo forget set "
        "`deploy/forget-sets/tofu-forget10.yaml`. Labels come from the reference judge "
        "(`calibration/reference_judge.py`): an answer leaks a reference when it contains at least "
        f"{LEAK_COVERAGE:.0%} of the reference's distinctive content words (folded, stemmed, "
        "stopwords and words of the question removed).",
        "",
        f"- **Leaks** ({len(v.positives)}): `gen_knows` answers the judge labels a leak of the "
        "row's own gold `answer`.",
        f"- **Safe** ({len(v.negatives)}): `gen_never_saw` answers the judge labels as leaking "
        "*none* of the author's 20 gold answers.",
        f"- Left out: {v.rows - len(v.positives)} `gen_knows` answers the judge does not call a "
        f"leak, and {v.rows - len(v.negatives)} `gen_never_saw` answers it does call a leak "
        "(right guesses).",
        "",
        *table([*SEPARATION_HEADER, f"AUROC ≥ {VERBATIM_AUROC}"], rows),
    ]


def label_counts(items: Sequence[Item]) -> str:
    counts = Counter("leak" if item.leak else "safe" for item in items)
    return f"{len(items)} items: {counts['leak']} leak, {counts['safe']} safe"


def paraphrase_section(r: BenchResults) -> list[str]:
    lines = [
        "### 2. Paraphrased leaks",
        "",
        "Hand-labelled sets in `bench/data/verifiers/` (see its README): each item is a "
        "question, an answer and a label; context = the question, candidate = the answer. "
        "`paraphrase_test.jsonl` is **held out** (authors 185–194, never tuned on); "
        "`paraphrase_dev.jsonl` (authors 180–184) is the set the verifiers were developed on, "
        "so its numbers are optimistic.",
    ]
    for name, title in PARAPHRASE_SETS.items():
        if name not in r.scored:
            continue
        by_tier = r.scored[name]
        items = next(iter(by_tier.values())).items
        lines += [
            "",
            f"**{title.capitalize()} set** (`{name}.jsonl`, {label_counts(items)}):",
            "",
            *table(SEPARATION_HEADER, [separation_row(t, s) for t, s in by_tier.items()]),
        ]
    lines += [
        "",
        "Share flagged at 0.5 per category and tier, held-out test set (leaks should be "
        "flagged, safe answers not):",
        "",
        *category_table(r.scored["paraphrase_test"]),
    ]
    return lines


def category_table(by_tier: Mapping[str, Scored]) -> list[str]:
    """Flagged share per (label, category), one column per tier."""
    groups: dict[tuple[str, str], dict[str, list[bool]]] = {}
    for tier, scored in by_tier.items():
        for item, flag in zip(scored.items, scored.flags, strict=True):
            key = ("leak" if item.leak else "safe", item.category)
            groups.setdefault(key, {}).setdefault(tier, []).append(flag)
    rows = []
    for (label, category), flags in sorted(groups.items()):
        n = len(next(iter(flags.values())))
        rows.append([label, category, str(n), *(f"{sum(flags[t])}/{n}" for t in by_tier)])
    return table(("label", "category", "n", *by_tier), rows)


def _shares(scored: Scored) -> dict[tuple[str, str], tuple[int, int]]:
    out: dict[tuple[str, str], list[bool]] = {}
    for item, flag in zip(scored.items, scored.flags, strict=True):
        out.setdefault(("leak" if item.leak else "safe", item.category), []).append(flag)
    return {key: (sum(flags), len(flags)) for key, flags in out.items()}


def hard_section(r: BenchResults) -> list[str]:
    held, *consulted = HELD_OUT_HARD_SETS
    seen = ", ".join(f"`{name}.jsonl`" for name in consulted)
    lines = [
        "### 3. Hard sets: general knowledge that shares words, leaks a word match misses",
        "",
        "Hand-written sets in `bench/data/verifiers/` (`hard_*.jsonl`, see its README), the "
        f"same author split: `{held}.jsonl` (authors 185–194) is **held out**, written "
        f"blind to the verifiers and first scored after the last change; {seen} (same "
        "authors) were each scored once and then used to diagnose misses (their first scores "
        "are in `bench/data/verifiers/README.md`); the verifiers were tuned on "
        "`hard_dev.jsonl` and `paraphrase_dev.jsonl` (authors 180–184). "
        "Each item is a conversation (earlier assistant turns included) and an answer. "
        "`gk_*` and `topic_change` answers are about nobody in the forget set and only share "
        "words with forget facts; every flag there is false.",
    ]
    return [*lines, *_set_tables(r, HARD_SETS)]


def _set_tables(r: BenchResults, titles: Mapping[str, str]) -> list[str]:
    """A per-category table for each scored set of ``titles``."""
    lines: list[str] = []
    for name, title in titles.items():
        if name not in r.scored:
            continue
        items = next(iter(r.scored[name].values())).items
        lines += [
            "",
            f"**{title}** (`{name}.jsonl`, {label_counts(items)}), flagged at "
            "0.5 per category and tier:",
            "",
            *category_table(r.scored[name]),
        ]
    return lines


def other_sets_section(r: BenchResults) -> list[str]:
    lines = [
        "### 4. Another forget set: what the verifiers were not built on",
        "",
        "Lethe is used with forget sets other than TOFU's authors. Each set below comes with its "
        "own forget set (`bench/data/verifiers/other_forget*.yaml`, scored with suites built on "
        "it), was written blind to the verifiers by someone who read neither the code nor the "
        "other sets, and was first scored after the change it judges (the first listed is "
        "held out; the others were then read for misses). Leak categories as in section 3; "
        "the safe ones: places, jobs and conditions of the facts (`gk_place`, "
        "`gk_profession`), real companies and events sharing words (`gk_org`), other people "
        "of the same name (`gk_same_name`), general advice on a topic of the facts "
        "(`gk_topic`), and `topic_change`.",
    ]
    return [*lines, *_set_tables(r, OTHER_SETS)]


def chats_section(r: BenchResults) -> list[str]:
    scored = r.scored["chats"]
    rows = []
    for tier, s in scored.items():
        cells = [tier]
        for name in GOLD_FILES:
            flags = [f for item, f in zip(s.items, s.flags, strict=True) if item.category == name]
            cells.append(f"{sum(flags)}/{len(flags)} ({pct(sum(flags) / max(1, len(flags)))})")
        rows.append(cells)
    return [
        "### 6. Conversation level: false flags on ordinary multi-turn chats",
        "",
        "A candidate is verified together with the conversation's earlier assistant turns. "
        "What that costs: chats of three consecutive gold question/answer pairs from each gold "
        "file (retain-author chats stay on one author), the first two answers as assistant "
        "turns, the third answer as the candidate. None leaks; every flag is false.",
        "",
        *table(["tier", *GOLD_FILES], rows),
    ]


def gold_section(r: BenchResults) -> list[str]:
    rows = []
    for tier in r.tiers:
        cells = [tier]
        for name in GOLD_FILES:
            flagged, total = r.scored[name][tier].flagged_share()
            cells.append(f"{flagged}/{total} ({pct(flagged / total)})")
        rows.append(cells)
    return [
        "### 5. False flags on gold answers",
        "",
        "Gold answers to questions about retain authors (not forgotten), real authors and "
        "world facts; none of them leaks a forget fact, so every flag (score ≥ 0.5) is a "
        f"false flag. Target ≤ {GOLD_FLAGS:.0%} for the default tier.",
        "",
        *table(["tier", *GOLD_FILES], rows),
    ]


def speed_section(r: BenchResults) -> list[str]:
    rows = [
        [
            tier,
            num(lat.p50, 2),
            num(lat.p95, 2),
            ", ".join(num(p, 2) for p in lat.p50s),
            num(lat.build_s, 2),
        ]
        for tier, lat in r.latency.items()
    ]
    runs = f"{r.timing_repeats} run{'s' if r.timing_repeats != 1 else ''}"
    return [
        "### 7. Speed",
        "",
        f"Wall time of `suite.check` per candidate over {r.timed_candidates} TOFU answers "
        "(every `gen_knows` and `gen_never_saw` with its question), demo forget set, after "
        f"{r.warmup} untimed warm-up checks on retain answers. {runs}, each on a freshly built "
        "suite (cold per-suite caches, e.g. the embedding cache); p50 and p95 are the medians "
        "over runs. Checks run one at a time; the machine is shared, so read the numbers as "
        "upper bounds.",
        "",
        *table(("tier", "p50 ms", "p95 ms", "p50 per run", "suite build s"), rows),
    ]


def scaling_section(r: BenchResults) -> list[str]:
    s = r.scaling
    rows = [
        [
            f"synthetic, {s.n_targets} targets ({s.n_facts} facts)",
            num(s.build_s, 2),
            num(s.rss_delta_mib, 1),
            num(s.traced_peak_mib, 1),
            num(s.p50_ms, 2),
            num(s.p95_ms, 2),
        ],
        [
            f"demo, {s.demo_targets} targets",
            "–",
            "–",
            "–",
            num(s.demo_p50_ms, 2),
            num(s.demo_p95_ms, 2),
        ],
    ]
    return [
        "### 8. Scaling (lexical tier)",
        "",
        f"A synthetic forget set of {s.n_targets} made-up authors (`syn-00000`…; names from "
        "random syllables, 5 templated facts each with random places, jobs, titles, awards "
        f"and years; fixed seed). {s.n_candidates} candidates, half TOFU `gen_knows` answers, "
        "half sentences stating a synthetic fact (asked about its target or about nobody); "
        f"one timed pass after {r.warmup} warm-up checks. Memory: VmRSS increase across the "
        "build, and tracemalloc's peak during a second, traced build.",
        "",
        *table(
            ("forget set", "build s", "RSS +MiB", "tracemalloc peak MiB", "p50 ms", "p95 ms"),
            rows,
        ),
    ]


def _gap(value: float, target: float, unit: str = "", higher_is_better: bool = True) -> str:
    ok = value >= target if higher_is_better else value <= target
    word = "above" if value >= target else "below"
    return f"{met(ok)} ({value:.3f}{unit}, {abs(value - target):.3f}{unit} {word} {target:g}{unit})"


def _leak_recall(scored: Scored) -> tuple[int, int, list[str]]:
    """Hard-set leaks flagged, leaks in all, and the leak categories below the per-category
    bar."""
    leaks = {k: v for k, v in _shares(scored).items() if k[0] == "leak"}
    low = [
        f"{k[1]} {v[0]}/{v[1]}" for k, v in sorted(leaks.items()) if v[0] < LEAK_RECALL_EACH * v[1]
    ]
    return sum(v[0] for v in leaks.values()), sum(v[1] for v in leaks.values()), low


def hard_target_lines(scored: Scored, name: str) -> list[str]:
    """The two hard-set targets (general knowledge, leaks) on one hard set."""
    general = [
        f"{k[1]} {v[0]}/{v[1]}"
        for k, v in sorted(_shares(scored).items())
        if k[0] == "safe" and v[0] > GENERAL_FLAGS * v[1]
    ]
    flagged, total, low = _leak_recall(scored)
    recall, count = flagged / max(1, total), f"{flagged}/{total}"
    return [
        f"- `{name}`: general-knowledge answers sharing words with forget facts ≤ "
        f"{GENERAL_FLAGS:.0%} flagged in every category: {met(not general)}"
        + (f" (over: {', '.join(general)})" if general else "")
        + ".",
        f"- `{name}`: leaks flagged ≥ {LEAK_RECALL:.0%} overall: "
        f"{_gap(recall, LEAK_RECALL)}, {count}; ≥ {LEAK_RECALL_EACH:.0%} in every category: "
        f"{met(not low)}" + (f" (below: {', '.join(low)})" if low else "") + ".",
    ]


def target_lines(r: BenchResults) -> list[str]:
    verbatim = r.scored["verbatim"][DEFAULT]
    test = r.scored["paraphrase_test"][DEFAULT]
    hard = [
        line
        for name in (*HELD_OUT_HARD_SETS, *SCORED_OTHER_SETS)
        if name in r.scored
        for line in hard_target_lines(r.scored[name][DEFAULT], name)
    ]
    gold_misses = [
        f"{name} ({pct(flagged / total)})"
        for name in GOLD_FILES
        for flagged, total in [r.scored[name][DEFAULT].flagged_share()]
        if flagged / total > GOLD_FLAGS
    ]
    chats, chat_total = r.scored["chats"][DEFAULT].flagged_share()
    latency = r.latency[DEFAULT]
    return [
        "### Targets (issue 12; default tier, held-out test splits)",
        "",
        *hard,
        f"- Paraphrase test AUROC ≥ {PARAPHRASE_AUROC}: "
        f"{_gap(auroc(test.positives(), test.negatives()), PARAPHRASE_AUROC)}.",
        f"- Verbatim TOFU AUROC ≥ {VERBATIM_AUROC}: "
        f"{_gap(auroc(verbatim.positives(), verbatim.negatives()), VERBATIM_AUROC)}.",
        f"- Gold answers flagged ≤ {GOLD_FLAGS:.0%} (every file): {met(not gold_misses)}"
        + (f" (over: {'; '.join(gold_misses)})" if gold_misses else "")
        + ".",
        f"- Default tier p50 ≤ {DEFAULT_P50_MS:g} ms: "
        f"{_gap(latency.p50, DEFAULT_P50_MS, ' ms', higher_is_better=False)}; p95 ≤ "
        f"{DEFAULT_P95_MS:g} ms: "
        f"{_gap(latency.p95, DEFAULT_P95_MS, ' ms', higher_is_better=False)}.",
        f"- Lexical p50 ≤ {LEXICAL_P50_MS:g} ms with {r.scaling.n_targets} targets: "
        f"{_gap(r.scaling.p50_ms, SCALING_P50_MS, ' ms', higher_is_better=False)}.",
        f"- Conversation level (measured, no target): {chats}/{chat_total} ordinary "
        f"multi-turn chats flagged ({pct(chats / max(1, chat_total))}).",
        f"- Checks that failed closed (error or timeout, scored 1): {r.failures}.",
    ]


def header_lines(r: BenchResults) -> list[str]:
    m = r.machine
    tiers = "; ".join(f"{name} = `{' + '.join(checks)}`" for name, checks in r.tiers.items())
    lines = [
        "## Verifiers",
        "",
        f"Measured {r.date} by `{r.command}` ({r.minutes:.1f} min) on {m.cpu}, {m.cores} "
        f"cores, Python {m.python}, torch threads {r.torch_threads or '–'}, semantic tier on "
        f"{r.semantic_runtime}; 1-minute load "
        f"average {num(m.load, 2)} at the start, {num(r.load_end, 2)} at the end.",
    ]
    if r.quick:
        lines += ["", "**Quick run: subsampled data, one timing run. Not reference numbers.**"]
    return [
        *lines,
        "",
        f"Tiers (each a `SuiteConfig`, aggregation `max`, flag threshold {FLAG_THRESHOLD}): "
        f"{tiers}. *Recall @ ≤5 % false flags*: the threshold is the lowest score with at most "
        "5 % of the safe answers strictly above it; recall is the share of leaks strictly "
        "above it. AUROC counts ties as 1/2.",
    ]


def render(r: BenchResults) -> str:
    parts = [
        header_lines(r),
        verbatim_section(r),
        paraphrase_section(r),
        hard_section(r),
        other_sets_section(r),
        gold_section(r),
        chats_section(r),
        speed_section(r),
        scaling_section(r),
        target_lines(r),
    ]
    return "\n\n".join("\n".join(part) for part in parts) + "\n"
