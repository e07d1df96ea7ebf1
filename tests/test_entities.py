"""Entity tagging: aliases, ambiguity, offsets, unlinked discovery, user knowledge, and the seed gold."""

from __future__ import annotations

import json
import random
import re
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tasks.config import EntityConfig
from tasks.entities import UNLINKED, MentionCounts, _is_word_char, match, mentions_table, update_entities
from tasks.knowledge import load_knowledge_base, read_entities
from tasks.schemas import ENTITIES, ENTITY_MENTIONS, ENTITY_SURFACES

from conftest import REPO, TEST_DATA

sys.path.insert(0, str(REPO / "bench"))
from entities_score import score  # noqa: E402

CONFIG = EntityConfig()
GOLD = TEST_DATA / "entities"


@pytest.fixture(scope="module")
def kb():
    return load_knowledge_base()


def _tags(text, kb, config=CONFIG):
    return [(m.surface, m.type, m.name) for m in match(text, kb, config)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Xi Jinping met Putin. Later Xi said so.", [("Xi Jinping", "PERSON", "Xi Jinping"), ("Putin", "PERSON", "Vladimir Putin"),
                                                    ("Xi", "PERSON", "Xi Jinping")]),
        ("President Xi spoke.", [("Xi", "PERSON", "Xi Jinping")]),
        ("The SCO and the Shanghai Cooperation Organization", [("SCO", "ORG", "Shanghai Cooperation Organization"),
                                                               ("Shanghai Cooperation Organization", "ORG", "Shanghai Cooperation Organization")]),
        ("US, U.S. and the United States", [("US", "GPE", "United States"), ("U.S.", "GPE", "United States"),
                                             ("United States", "GPE", "United States")]),
        ("Zelensky, Zelenskyy and Zelenskiy", [(n, "PERSON", "Volodymyr Zelenskyy") for n in ("Zelensky", "Zelenskyy", "Zelenskiy")]),
        ("BEIJING. March 22 (Interfax) - talks", [("BEIJING", "GPE", "Beijing"), ("Interfax", "ORG", "Interfax")]),
    ],
)
def test_aliases_are_canonicalised(text, expected, kb):
    assert _tags(text, kb) == expected


def test_variant_spellings_match_through_rapidfuzz(kb):
    (mention,) = match("Talks with Zelenskky went on.", kb, CONFIG)
    assert (mention.name, mention.method) == ("Volodymyr Zelenskyy", "fuzzy")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We ate turkey. Turkey was served with gravy.", []),
        ("Turkey said Ankara would mediate.", [("Turkey", "GPE"), ("Ankara", "GPE")]),
        ("George Washington was the first president.", []),
        ("Washington condemned the move.", [("Washington", "GPE")]),
        ("Jordan scored 30 points.", []),
        ("Harris said the plan was sound.", []),  # a bare surname nobody introduced
    ],
)
def test_ambiguous_names_are_settled_by_context_or_left_out(text, expected, kb):
    assert [(s, t) for s, t, _ in _tags(text, kb) if t in ("GPE", "PERSON")] == expected


def test_offsets_point_at_the_surface(kb):
    text = (GOLD / "000_00d65d564b3f9c64.txt").read_text(encoding="utf-8")
    mentions = match(text, kb, CONFIG)
    assert mentions and all(text[m.start : m.end] == m.surface for m in mentions)


def test_unlinked_names_are_found_by_their_cues(kb):
    text = ("Ivan Melnikov, first deputy chairman of the State Duma, spoke. Melnikov added more. "
            "Russian Presidential Commissioner Boris Titov agreed, as did the General Administration of Customs.")
    tags = {(m.surface, m.type, m.entity_id.startswith("unlinked:"), m.method) for m in match(text, kb, CONFIG)}
    assert ("Ivan Melnikov", "PERSON", True, "role_pattern") in tags
    assert ("Melnikov", "PERSON", True, "surname") in tags
    assert ("Boris Titov", "PERSON", True, "title_pattern") in tags
    assert ("General Administration of Customs", "ORG", False, "kb") in tags
    assert ("State Duma", "ORG", False, "kb") in tags


def test_a_bare_surname_is_linked_only_as_a_whole_word():
    text = ("Ivan Melnikov, first deputy chairman of the State Duma, spoke. Melnikovs, Melnikov_ and XMelnikov are "
            "other words; Melnikov's view and (Melnikov) are his.")
    found = [(m.start, m.surface, m.method) for m in match(text, load_knowledge_base(), CONFIG)
             if m.surface == "Melnikov"]
    expected = [(m.start(), "Melnikov", "surname") for m in re.finditer(r"\bMelnikov\b", text)][1:]
    assert found == expected and len(expected) == 2


def test_word_characters_are_those_of_the_regex_w():
    word = re.compile(r"\w")
    assert all(bool(word.match(c)) == _is_word_char(c) for c in map(chr, range(0x110000)))


def test_a_user_entity_file_extends_the_knowledge_base(tmp_path):
    user = tmp_path / "mine.jsonl"
    user.write_text('{"name": "Aigerim Seitkali", "type": "PERSON", "aliases": ["Seitkali"], "known_by_surname": true}\n'
                    '# comments and blank lines are fine\n\n'
                    '{"name": "Steppe Energy Council", "type": "ORG", "aliases": ["SEC"], "wikidata": "Q999999999"}\n')
    kb = load_knowledge_base((str(user),))
    tags = _tags("Seitkali chairs the SEC.", kb)
    assert tags == [("Seitkali", "PERSON", "Aigerim Seitkali"), ("SEC", "ORG", "Steppe Energy Council")]
    assert kb.entities["Q999999999"].name == "Steppe Energy Council"


def test_a_bad_user_entity_names_its_line(tmp_path):
    user = tmp_path / "bad.jsonl"
    user.write_text('{"name": "X", "type": "PERSON"}\n{"name": "Y", "type": "PLANET"}\n')
    with pytest.raises(ValueError, match="bad.jsonl:2"):
        read_entities(user)


def test_seed_gold_scores(kb):
    gold = [json.loads(line) for line in (GOLD / "gold.jsonl").read_text().splitlines()]
    predicted = [
        {"doc": path.name, "start": m.start, "end": m.end, "surface": m.surface, "type": m.type, "name": m.name}
        for path in sorted(GOLD.glob("*.txt")) for m in match(path.read_text(encoding="utf-8"), kb, CONFIG)
    ]
    result = score(gold, predicted)
    for kind in ("PERSON", "ORG", "GPE"):
        assert result["mention_exact"][kind]["f1"] >= 0.9, (kind, result["mention_exact"][kind])
        assert result["entity_set"][kind]["f1"] >= 0.9, (kind, result["entity_set"][kind])


def test_entities_updated_run_by_run_equal_one_count_over_the_final_corpus(kb):
    texts = ["Xi Jinping met Putin in Samarkand.", "President Xi spoke to the SCO.", "The U.S. and the United States",
             "Putin and Vladimir Putin in Moscow.", "Zelensky and Zelenskyy spoke.", "Nothing named here."]
    rng = random.Random(3)
    mentions = ENTITY_MENTIONS.empty_table()
    entities, surfaces = ENTITIES.empty_table(), ENTITY_SURFACES.empty_table()
    live: dict[str, str] = {}
    asked: list[int] = []  # the runs that asked for the knowledge base
    for run in range(8):
        gone = set(rng.sample(sorted(live), min(len(live), rng.randint(0, 3))))
        added = {f"a{run}-{i}": rng.choice(texts) for i in range(rng.randint(0, 4))} if run < 7 else \
            {f"a{run}-{i}": text for i, text in enumerate(texts)}  # the last run brings every text once
        new = mentions_table(list(added), [match(t, kb, CONFIG) for t in added.values()])
        removed = mentions.filter(pc.is_in(mentions.column("article_id"), value_set=pa.array(sorted(gone), pa.string())))
        rows, counts = update_entities(entities, surfaces, MentionCounts.of([new]) + MentionCounts.of([removed], -1),
                                       lambda: asked.append(run) or kb)
        # Only an entity with no previous row that is not an unlinked one needs the knowledge base.
        had = set(entities.column("entity_id").to_pylist())
        assert (run in asked) == any(i not in had and not i.startswith(UNLINKED) for i in new.column("entity_id").to_pylist())
        touched = pa.array(sorted(set(new.column("entity_id").to_pylist()) | set(removed.column("entity_id").to_pylist())),
                           pa.string())
        entities = pa.concat_tables([entities.filter(pc.invert(pc.is_in(entities.column("entity_id"), value_set=touched))), rows])
        surfaces = pa.concat_tables([surfaces.filter(pc.invert(pc.is_in(surfaces.column("entity_id"), value_set=touched))),
                                     counts])
        mentions = pa.concat_tables([mentions.filter(pc.invert(pc.is_in(mentions.column("article_id"),
                                                                         value_set=pa.array(sorted(gone), pa.string())))), new])
        live = {a: t for a, t in live.items() if a not in gone} | added
    # The final corpus's mentions counted in batches of whole articles, as the pipeline counts a run's staging files.
    ids = sorted(set(mentions.column("article_id").to_pylist()))
    batches = [mentions.filter(pc.is_in(mentions.column("article_id"), value_set=pa.array(ids[i::3], pa.string()))) for i in range(3)]
    once, _ = update_entities(ENTITIES.empty_table(), ENTITY_SURFACES.empty_table(), MentionCounts.of(batches), lambda: kb)
    assert sorted(entities.to_pylist(), key=str) == sorted(once.to_pylist(), key=str)
    assert 0 < len(set(asked)) < 8  # later runs mostly touch entities they have rows of
    xi = next((r for r in once.to_pylist() if r["name"] == "Xi Jinping"), {"n_articles": 0, "n_mentions": 0})
    n_xi = sum(t in ("Xi Jinping met Putin in Samarkand.", "President Xi spoke to the SCO.") for t in live.values())
    assert n_xi and xi["n_articles"] == n_xi and xi["n_mentions"] == n_xi
