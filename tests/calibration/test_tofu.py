"""TOFU authors as proxy targets: names recovered from the QA text, and a split that never
touches the demo's authors or the held-out test authors in calibration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from calibration.builder import Plan
from calibration.dataset import read_dataset
from calibration.tofu import (
    CALIBRATION_POOL,
    DEMO_AUTHORS,
    HELD_OUT_AUTHORS,
    ProxyOptions,
    build_proxy_datasets,
    draw_forget_sets,
    read_authors,
    recover_name,
)

TOFU = Path(__file__).resolve().parents[3] / "shared" / "data" / "tofu"


def _known_names() -> dict[int, str]:
    names: dict[int, str] = {}
    for file in ("forget10_authors.jsonl", "retain_authors.jsonl"):
        for line in (TOFU / file).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            names[int(row["author_id"])] = str(row["name"])
    return names


def test_recovered_names_match_every_published_one() -> None:
    authors = read_authors(TOFU)
    known = _known_names()
    assert len(known) == 30
    assert {a: authors[a].name for a in known} == known
    assert len(authors) >= 195  # a few authors are never named in their QA ("the author")
    assert len({a.name for a in authors.values()}) == len(authors)


def test_recover_name_rules() -> None:
    texts = [
        "Isabella van Pletzen was born in Cape Town.",
        "What does Isabella van Pletzen write?",
        "Isabella van Pletzen's books are self-help.",
        'Her book "Echoes of Introspection" is loved.',
    ]
    assert recover_name(texts) == "Isabella van Pletzen"
    assert recover_name(["Jad Ambrose Al-Shamary writes.", "Jad Ambrose Al-Shamary's father."]) == (
        "Jad Ambrose Al-Shamary"
    )
    # A name in fewer than half of the texts is no name (an anonymous author).
    assert recover_name(["The author writes Urban Fiction.", "He was born.", "He reads."]) is None


def test_forget_sets_are_disjoint_and_reproducible() -> None:
    draw = draw_forget_sets(range(40), 3, 10, seed=1)
    members = [a for s in draw.forget_sets for a in s]
    assert len(members) == len(set(members)) == 30
    assert set(draw.retain) == set(range(40)) - set(members)
    assert draw == draw_forget_sets(range(40), 3, 10, seed=1)
    assert draw != draw_forget_sets(range(40), 3, 10, seed=2)
    with pytest.raises(ValueError, match="need 50 authors"):
        draw_forget_sets(range(40), 5, 10, seed=1)


def _authors_in(path: Path) -> set[int]:
    """Every TOFU author a dataset's forget sets or queries mention by name (a name inside a
    longer one that is mentioned, "Phuong Tran" in "Mai Phuong Tran", does not count)."""
    authors = read_authors(TOFU)
    text = (path / "queries.jsonl").read_text(encoding="utf-8")
    for file in (path / "forget-sets").iterdir():
        text += file.read_text(encoding="utf-8")
    found = {number: a.name for number, a in authors.items() if a.name in text}
    return {
        number
        for number, name in found.items()
        if not any(name != other and name in other for other in found.values())
    }


@pytest.mark.slow
def test_proxy_datasets_keep_demo_and_held_out_authors_out_of_calibration(
    tmp_path: Path,
) -> None:
    counts = build_proxy_datasets(TOFU, tmp_path, ProxyOptions(sets=8, size=15, test_sets=2))
    calibration = read_dataset(tmp_path / "tofu-proxy-calibration")
    test = read_dataset(tmp_path / "tofu-proxy-test")
    assert counts["tofu-proxy-calibration"] == 8 * 15 * Plan().per_target
    assert len({q.group for q in calibration.queries}) == 120  # n_targets >= 100
    assert calibration.target_kind == "person"
    used = _authors_in(tmp_path / "tofu-proxy-calibration")
    assert used <= set(CALIBRATION_POOL)
    assert not used & set(DEMO_AUTHORS)
    assert not used & set(HELD_OUT_AUTHORS)
    tested = _authors_in(tmp_path / "tofu-proxy-test")
    assert tested <= set(HELD_OUT_AUTHORS)
    assert len({q.group for q in test.queries}) == 30
    # Deterministic: building again gives the same files.
    again = tmp_path / "again"
    build_proxy_datasets(TOFU, again, ProxyOptions(sets=8, size=15, test_sets=2))
    for name in ("tofu-proxy-calibration", "tofu-proxy-test"):
        first = (tmp_path / name / "queries.jsonl").read_bytes()
        assert first == (again / name / "queries.jsonl").read_bytes()
