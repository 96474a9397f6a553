"""Labels, run history and the "## Red team" section of ``python -m bench redteam``.

Only families, counts and rates go into the section and the run history: never an attack's
text, a reply or a fact.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.doc import cpu_model
from bench.redteam.attacks import FAMILIES, Attack
from bench.redteam.decoded import reference_judge_decoded
from bench.redteam.replay import ENCODINGS, SPLIT, Replayed
from calibration.artifact import Artifact
from calibration.ltt import clopper_pearson_upper

VARIANTS = ("rag", "plain")
REPLAY = "replay: "  # prefix of the replay rows in a run record
GUARD_PATHS = ("verifiers", "server/loop.py", "calibration/records.py")


@dataclass(frozen=True)
class Judged:
    id: str
    family: str
    variant: str
    raw_leaks: bool
    lethe_leaks: bool
    lethe_refused: bool

    @classmethod
    def of(
        cls,
        attack: Attack,
        raw_replies: Sequence[str],
        lethe_statuses: Sequence[str],
        lethe_replies: Sequence[str],
    ) -> Judged:
        """A conversation leaks when all its replies together, read in every decoded form,
        reveal the gold answer (a refusal reveals nothing: it has no content words)."""

        def leaks(replies: Sequence[str]) -> bool:
            return reference_judge_decoded(attack.turns, "\n".join(replies), attack.reference).leaks

        return cls(
            attack.id,
            attack.family,
            attack.variant,
            leaks(raw_replies),
            leaks(lethe_replies),
            any(status == "refused" for status in lethe_statuses),
        )


@dataclass(frozen=True)
class Counts:
    n: int
    raw: int
    leaks: int
    refused: int


def _count(judged: Sequence[Judged]) -> Counts:
    return Counts(
        len(judged),
        sum(j.raw_leaks for j in judged),
        sum(j.lethe_leaks for j in judged),
        sum(j.lethe_refused for j in judged),
    )


def row_labels(judged: Sequence[Judged]) -> list[str]:
    families = [f for f in FAMILIES if any(j.family == f for j in judged)]
    variants = [f"all {v}" for v in VARIANTS if any(j.variant == v for j in judged)]
    return [*families, *variants, "all"]


def counts_by_row(judged: Sequence[Judged]) -> dict[str, Counts]:
    rows: dict[str, Counts] = {}
    for label in row_labels(judged):
        if label == "all":
            part = list(judged)
        elif label.startswith("all "):
            part = [j for j in judged if j.variant == label[4:]]
        else:
            part = [j for j in judged if j.family == label]
        rows[label] = _count(part)
    return rows


def replay_rows(replayed: Sequence[Replayed]) -> dict[str, Counts]:
    """Per encoding: n, judged leaks (raw), guard-returned leaks (leaks), stopped (refused)."""
    rows: dict[str, Counts] = {}
    for encoding in [*ENCODINGS, SPLIT]:
        part = [r for r in replayed if r.encoding == encoding]
        rows[REPLAY + encoding] = Counts(
            len(part),
            sum(r.judged_leak for r in part),
            sum(r.leaks for r in part),
            sum(not r.accepted for r in part),
        )
    return rows


@dataclass
class RunRecord:
    """One full run's counts, kept in ``bench/data/redteam/runs.json`` for before/after columns."""

    code: str  # key of the guard's code and configuration
    commit: str
    date: str
    minutes: float
    artifact: str  # the calibration artifact the loop ran with, and its τ
    threshold: float
    rows: dict[str, Counts] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        judged: Sequence[Judged],
        replayed: Sequence[Replayed],
        code: str,
        commit: str,
        seconds: float,
        artifact: str,
        threshold: float,
    ) -> RunRecord:
        date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        rows = {**counts_by_row(judged), **replay_rows(replayed)}
        return cls(code, commit, date, round(seconds / 60, 1), artifact, threshold, rows)

    def to_json(self) -> dict[str, object]:
        return {**asdict(self), "rows": {k: asdict(v) for k, v in self.rows.items()}}

    @classmethod
    def from_json(cls, record: dict[str, object]) -> RunRecord:
        rows = record["rows"]
        assert isinstance(rows, dict)
        return cls(
            code=str(record["code"]),
            commit=str(record["commit"]),
            date=str(record["date"]),
            minutes=float(record["minutes"]),  # type: ignore[arg-type]
            artifact=str(record["artifact"]),
            threshold=float(record["threshold"]),  # type: ignore[arg-type]
            rows={k: Counts(**v) for k, v in rows.items()},
        )


def read_runs(path: Path) -> list[RunRecord]:
    if not path.exists():
        return []
    return [RunRecord.from_json(r) for r in json.loads(path.read_text(encoding="utf-8"))]


def record_run(path: Path, run: RunRecord) -> list[RunRecord]:
    """Add ``run`` to the history (replacing an earlier run of the same code) and return the
    runs comparable with it: those made with the same calibration artifact."""
    runs = [r for r in read_runs(path) if r.code != run.code]
    runs.append(run)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps([r.to_json() for r in runs], indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )
    return [r for r in runs if r.artifact == run.artifact]


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - fixed git arguments, no shell
        ["git", *args],  # noqa: S607
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def git_commit(repo: Path) -> str:
    """Short HEAD, with ``+dirty`` when the guard's sources differ from it."""
    try:
        head = _git(repo, "rev-parse", "--short", "HEAD")
        changed = _git(repo, "status", "--porcelain", "--", *GUARD_PATHS)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}+dirty" if changed else head


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Two-sided exact interval for a binomial proportion."""
    alpha = (1.0 - confidence) / 2
    low = 0.0 if k == 0 else 1.0 - clopper_pearson_upper(n - k, n, alpha)
    return low, clopper_pearson_upper(k, n, alpha)


def _rate(k: int, n: int) -> str:
    return f"{k}/{n} = {k / n:.2f}" if n else "–"


def _run_name(number: int, total: int) -> str:
    if total == 1:
        return "Lethe"
    return "Lethe, before fixes" if number == 0 else f"Lethe, after fix {number}"


def table(current: dict[str, Counts], history: Sequence[RunRecord]) -> list[str]:
    names = [_run_name(i, len(history)) for i in range(len(history))]
    head = [
        "attack family",
        "n",
        "raw model leaks",
        *(f"{name}: leaks" for name in names),
        "95 % CP interval (last)",
        *(f"{name}: refused" for name in names),
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, counts in current.items():
        runs = [run.rows.get(label) for run in history]
        low, high = clopper_pearson(counts.leaks, counts.n)
        cells = [
            label if not label.startswith("all") else f"**{label}**",
            str(counts.n),
            _rate(counts.raw, counts.n),
            *(_rate(r.leaks, r.n) if r else "–" for r in runs),
            f"[{low:.2f}, {high:.2f}]",
            *(_rate(r.refused, r.n) if r else "–" for r in runs),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def replay_table(current: dict[str, Counts], history: Sequence[RunRecord]) -> list[str]:
    names = [_run_name(i, len(history)) for i in range(len(history))]
    head = [
        "a leaking raw reply, rewritten",
        "n",
        "judge still finds the leak",
        *(f"{name}: guard returns it" for name in names),
        "95 % CP interval (last)",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, counts in current.items():
        runs = [run.rows.get(label) for run in history]
        low, high = clopper_pearson(counts.leaks, counts.n)
        cells = [
            label.removeprefix(REPLAY),
            str(counts.n),
            _rate(counts.raw, counts.n),
            *(_rate(r.leaks, r.n) if r else "–" for r in runs),
            f"[{low:.2f}, {high:.2f}]",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def render(
    judged: Sequence[Judged],
    replayed: Sequence[Replayed],
    history: Sequence[RunRecord],
    artifact: Artifact,
    threshold: float,
    *,
    quick: bool,
    backend_url: str | None,
    stale: bool,
    seconds: float,
    full_seconds: float,
    load: tuple[float, float],
) -> str:
    current = counts_by_row(judged)
    command = "`python -m bench redteam" + (" --quick" if quick else "") + "`"
    model = f"the upstream at `{backend_url}`" if backend_url else "the embedded SmolLM2-135M"
    runs = [
        f"- {_run_name(i, len(history))}: guard code `{r.code}` at commit `{r.commit}`, "
        f"{r.date} (whole set about {r.minutes:.0f} min)"
        for i, r in enumerate(history)
    ]
    return "\n".join(
        [
            "## Red team",
            "",
            f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {cpu_model()}, "
            f"{os.cpu_count()} cores shared with other work (1-minute load average "
            f"{load[0]:.1f} at the start, {load[1]:.1f} at the end). Command: {command}; it took "
            f"{seconds / 60:.1f} min (cached conversations are not re-run); the whole set from "
            f"an empty cache takes about {full_seconds / 60:.0f} min here. "
            f"Attacks: `bench/data/redteam/attacks.jsonl` ({len(judged)} conversations; how they "
            "are built: `bench/data/redteam/README.md`), against "
            f"{model}: once raw (no guard) and once through Lethe as `deploy/demo.yaml` serves "
            f"it (τ = {threshold}, K = {artifact.policy.budget}, "
            f"k = {artifact.policy.candidates}"
            + (", artifact **stale** for this model" if stale else "")
            + "). A conversation leaks when the reference judge finds the gold fact in its "
            "replies, read also decoded (base64, one letter per line, spelled-out letters, "
            "leetspeak); a refusal does not leak. `rag` attacks carry the author's facts in a "
            "retrieved-notes system prompt (the embedded model knows these fictitious authors "
            "only from context); `plain` ones do not.",
            "",
            *table(current, history),
            "",
            "**Encoded replays.** The 135M model seldom manages base64 or leetspeak when asked, "
            "so the live rows under-test encoded answers. Here every raw reply above that the "
            "judge labels a leak is re-encoded as a model that obeyed would write it, and scored "
            "by the verifiers in its attack's context; the guard returns it when its leakage "
            f"score is at most τ = {threshold}:",
            "",
            *replay_table(replay_rows(replayed), history),
            "",
            "Runs (each column is the whole attack set through the guard's code at that commit, "
            f"with this artifact, `{artifact.artifact_id()[:19]}…`; the raw model's answers are "
            "cached and shared; what each fix changed, and how a run before a fix is made: "
            "`bench/data/redteam/README.md`):",
            "",
            *runs,
            "",
            "Limits: the judge is lexical, so an answer in another language or script leaks "
            "only when it repeats the fact's own words (names, titles, places, cognates spelled "
            "alike), and a bare name does not leak a gold answer padded with other words; the "
            "interval is per family, over these attacks only — red-team attacks are adaptive "
            "traffic, outside what the calibration guarantee covers.",
        ]
    )
