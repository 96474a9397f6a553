"""The calibration report: a markdown table per budget and a PNG of the per-target risks,
answers and rounds against τ, with the largest risks the number of targets can certify."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from calibration.artifact import Artifact
from calibration.evaluate import Calibration, ConfigResult
from calibration.ltt import largest_certifiable_mean
from calibration.strategies import StrategyGrid


def _by_budget(result: Calibration) -> dict[int, list[ConfigResult]]:
    grouped: dict[int, list[ConfigResult]] = defaultdict(list)
    for (_, budget), config in sorted(result.results.items()):
        grouped[budget].append(config)
    return grouped


def _margins(result: Calibration) -> tuple[float, float | None]:
    """The largest (marginal, forget-side) per-target risks a configuration may show and be
    certified, at the level each sequence is tested at."""
    any_config = next(iter(result.results.values())).targets
    level = result.delta / result.sequences
    marginal = largest_certifiable_mean(any_config.n_units, result.epsilon, level)
    if result.forget_epsilon is None:
        return marginal, None
    return marginal, largest_certifiable_mean(any_config.n_targets, result.forget_epsilon, level)


def _header(result: Calibration, artifact: Artifact, strategies: list[str]) -> list[str]:
    marginal, forget = _margins(result)
    targets = next(iter(result.results.values())).targets
    forget_rule = (
        f"forget-side risk at most {forget:.4f} (ε_f = {result.forget_epsilon}) and "
        if forget is not None
        else ""
    )
    return [
        "# Calibration report",
        "",
        f"Created {artifact.created}; n = {artifact.n} queries ({artifact.n_forget} "
        f"forget-related, {artifact.n_unrelated} unrelated) about {targets.n_targets} forget "
        f"targets ({targets.n_units} units); ε = {artifact.epsilon}, ε_f = "
        f"{artifact.forget_epsilon}, δ = {artifact.delta}. Learn-then-Test over targets: "
        "per-target leak rates, Hoeffding-Bentkus p-values (the larger of the forget-side and "
        "the marginal one), fixed sequence over τ per budget and refinement strategy "
        f"({', '.join(f'`{s}`' for s in strategies)}; K = 0 is one sequence for all), "
        f"Bonferroni over the {result.sequences} sequences.",
        "",
        f"With these numbers of targets a configuration is certified when its {forget_rule}"
        f"marginal risk at most {marginal:.4f} (ε = {result.epsilon}), both averaged over "
        "targets, and every stricter τ of its budget is certified too.",
        "",
    ]


def markdown(grid: StrategyGrid, artifact: Artifact, image: str | None) -> str:
    result = grid.chosen
    chosen = artifact.policy
    lines = [
        *_header(result, artifact, list(grid.calibrations)),
        f"**Chosen**: threshold {chosen.threshold}, budget {chosen.budget}, {chosen.candidates} "
        f"candidates per round, strategy `{chosen.strategy}`"
        + ("" if artifact.passed else " (nothing was certified: refuse when flagged)")
        + ". Selection: most unrelated and mixed questions answered right, then fewest "
        "generator calls, then least leaky.",
        "",
        f"> {artifact.statement}",
        "",
    ]
    if image:
        lines += [f"![risks, answers and rounds against the threshold]({image})", ""]
    for strategy, calibration in grid.calibrations.items():
        lines += _tables(strategy, calibration)
    return "\n".join(lines)


def _tables(strategy: str, result: Calibration) -> list[str]:
    lines: list[str] = []
    for budget, configs in _by_budget(result).items():
        name = "any strategy (no refinement)" if budget == 0 else f"strategy `{strategy}`"
        lines += [
            f"## Budget K = {budget}, {name}",
            "",
            "| τ | leaks | forget risk | marginal risk | p (forget) | p (marginal) | certified "
            "| answered right | refused (unrelated) | refused (mixed) | refused (forget) "
            "| mean rounds |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for config in configs:
            h = result.hypothesis(config.threshold, budget)
            lines.append(
                f"| {config.threshold:.2f} | {config.failures} | {h.forget_risk:.4f} "
                f"| {h.risk:.4f} | {h.forget_p_value:.3g} | {h.p_value:.3g} "
                f"| {'yes' if h.rejected else 'no'} | {config.utility:.3f} "
                f"| {config.refusal_unrelated:.3f} | {config.refusal_mixed:.3f} "
                f"| {config.refusal_forget:.3f} | {config.mean_rounds:.2f} |"
            )
        lines.append("")
    return lines


def plot(grid: StrategyGrid, artifact: Artifact, path: Path) -> bool:
    """Write the PNG; False when matplotlib is not installed (the markdown still has it all)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    marginal, forget = _margins(grid.chosen)
    figure, (risk, answers, rounds) = plt.subplots(1, 3, figsize=(15, 4.2))
    for strategy, result in grid.calibrations.items():
        for budget, configs in _by_budget(result).items():
            name = f"K={budget}" if budget == 0 else f"{strategy} K={budget}"
            taus = [c.threshold for c in configs]
            line = risk.plot(taus, [c.forget_risk for c in configs], label=f"forget {name}")[0]
            risk.plot(taus, [c.risk for c in configs], linestyle=":", color=line.get_color())
            answers.plot(taus, [c.utility for c in configs], label=name)
            rounds.plot(taus, [c.mean_rounds for c in configs], label=name)
    if forget is not None:
        risk.axhline(forget, color="black", linewidth=0.8, label="certifiable (forget)")
    risk.axhline(marginal, color="grey", linewidth=0.8, linestyle=":", label="certifiable")
    risk.set(title="per-target leak risk: forget (solid), marginal (dotted)", xlabel="τ")
    answers.set(title="unrelated and mixed questions answered right", xlabel="τ")
    rounds.set(title="mean rounds (generator calls) per query", xlabel="τ")
    for axis in (risk, answers, rounds):
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def write_report(grid: StrategyGrid, artifact: Artifact, path: Path) -> None:
    image = path.with_suffix(".png")
    drawn = plot(grid, artifact, image)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown(grid, artifact, image.name if drawn else None), encoding="utf-8")
