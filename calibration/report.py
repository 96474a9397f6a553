"""The calibration report: a markdown table per budget and a PNG of risk, refusals and rounds
against τ, with the Learn-then-Test bound."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from calibration.artifact import Artifact
from calibration.evaluate import Calibration, ConfigResult
from calibration.ltt import clopper_pearson_upper


def _by_budget(result: Calibration) -> dict[int, list[ConfigResult]]:
    grouped: dict[int, list[ConfigResult]] = defaultdict(list)
    for (_, budget), config in sorted(result.results.items()):
        grouped[budget].append(config)
    return grouped


def _bound(config: ConfigResult, delta: float, sequences: int) -> float:
    return clopper_pearson_upper(config.failures, config.n, delta / sequences)


def markdown(result: Calibration, artifact: Artifact, image: str | None) -> str:
    grouped = _by_budget(result)
    chosen = artifact.policy
    lines = [
        "# Calibration report",
        "",
        f"Created {artifact.created}; n = {artifact.n} queries ({artifact.n_forget} "
        f"forget-related, {artifact.n_unrelated} unrelated); epsilon = {artifact.epsilon}, "
        f"delta = {artifact.delta}; "
        "Learn-then-Test, exact binomial p-values, fixed sequence over the threshold per budget, "
        f"Bonferroni over {len(grouped)} budgets.",
        "",
        f"**Chosen**: threshold {chosen.threshold}, budget {chosen.budget}, {chosen.candidates} "
        f"candidates per round, strategy `{chosen.strategy}`"
        + ("" if artifact.passed else " (nothing was certified: refuse when flagged)")
        + ".",
        "",
        f"> {artifact.statement}",
        "",
    ]
    if image:
        lines += [f"![risk, refusals and rounds against the threshold]({image})", ""]
    for budget, configs in grouped.items():
        lines += [
            f"## Budget K = {budget}",
            "",
            "| τ | leaks | risk | LTT upper bound | p-value | certified | refused (unrelated) "
            "| refused (forget) | mean rounds |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for config in configs:
            hypothesis = result.hypothesis(config.threshold, budget)
            lines.append(
                f"| {config.threshold:.2f} | {config.failures} | {config.failures / config.n:.3f} "
                f"| {_bound(config, artifact.delta, len(grouped)):.3f} | {hypothesis.p_value:.3g} "
                f"| {'yes' if hypothesis.rejected else 'no'} | {config.refusal_unrelated:.3f} "
                f"| {config.refusal_forget:.3f} | {config.mean_rounds:.2f} |"
            )
        lines.append("")
    return "\n".join(lines)


def plot(result: Calibration, artifact: Artifact, path: Path) -> bool:
    """Write the PNG; False when matplotlib is not installed (the markdown still has it all)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    grouped = _by_budget(result)
    figure, (risk, refusal, rounds) = plt.subplots(1, 3, figsize=(15, 4.2))
    for budget, configs in grouped.items():
        taus = [c.threshold for c in configs]
        line = risk.plot(taus, [c.failures / c.n for c in configs], label=f"K={budget}")[0]
        risk.plot(
            taus,
            [_bound(c, artifact.delta, len(grouped)) for c in configs],
            linestyle="--",
            color=line.get_color(),
        )
        refusal.plot(taus, [c.refusal_unrelated for c in configs], label=f"unrelated K={budget}")
        refusal.plot(
            taus, [c.refusal_forget for c in configs], linestyle=":", color=line.get_color()
        )
        rounds.plot(taus, [c.mean_rounds for c in configs], label=f"K={budget}")
    risk.axhline(artifact.epsilon, color="black", linewidth=0.8)
    risk.set(title="leak risk (solid) and LTT bound (dashed)", xlabel="threshold τ")
    refusal.set(title="refusal rate: unrelated (solid), forget (dotted)", xlabel="threshold τ")
    rounds.set(title="mean rounds per query", xlabel="threshold τ")
    for axis in (risk, refusal, rounds):
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def write_report(result: Calibration, artifact: Artifact, path: Path) -> None:
    image = path.with_suffix(".png")
    drawn = plot(result, artifact, image)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown(result, artifact, image.name if drawn else None), encoding="utf-8")
