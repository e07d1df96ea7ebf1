"""Quote extraction, attribution and clustering on small inline texts, plus the score on the seed gold."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tasks.config import EntityConfig, QuoteConfig
from tasks.entities import match
from tasks.knowledge import load_knowledge_base
from tasks.quote_clusters import (
    assign_clusters,
    cluster_quotes,
    drop_articles,
    quote_cluster_rows,
    quote_keys,
    related_quotes,
    same_remark,
)
from tasks.quotes import extract_quotes, quote_id
from tasks.schemas import QUOTE_CLUSTERS, QUOTE_KEYS, QUOTES

REPO = Path(__file__).resolve().parents[1]
CONFIG = QuoteConfig()


@pytest.fixture(scope="module")
def kb():
    return load_knowledge_base((), EntityConfig().min_city_population)


def quotes_of(text: str, kb) -> list[dict]:
    return extract_quotes("a1", text, match(text, kb, EntityConfig()), CONFIG)


@pytest.mark.parametrize("text, expected", [
    pytest.param('Putin said "we will never accept a unipolar world order." He left.',
                 [("we will never accept a unipolar world order.", "Vladimir Putin", "direct")], id="straight"),
    pytest.param("“China is ready to deepen its partnership with Russia,” Xi Jinping said.",
                 [("China is ready to deepen its partnership with Russia", "Xi Jinping", "direct")], id="curly"),
    pytest.param("“We highly appreciate the balanced position of our friends,” Putin told Xi, adding that Russia "
                 "condemns “the provocations of the United States in the strait.”",
                 [("We highly appreciate the balanced position of our friends", "Vladimir Putin", "direct"),
                  ("the provocations of the United States in the strait.", "Vladimir Putin", "direct")], id="split"),
    pytest.param("Xi Jinping was enthusiastic: “In February we celebrated the opening of the games.\n\n"
                 "“We are ready to work with our Russian colleagues on a new path.”",
                 [("In February we celebrated the opening of the games.", "Xi Jinping", "direct"),
                  ("We are ready to work with our Russian colleagues on a new path.", "Xi Jinping", "direct")],
                 id="multi-paragraph"),
    pytest.param("During the meeting, Xi said Beijing was ready to play a leadership role with Moscow.",
                 [("Beijing was ready to play a leadership role with Moscow", "Xi Jinping", "reported")], id="reported"),
    pytest.param("Vladimir Putin spoke on Friday.\n\nRussia firmly supports the one-China principle, he said.",
                 [("Russia firmly supports the one-China principle", "Vladimir Putin", "reported")], id="pronoun"),
    pytest.param('Chinese President Xi Jinping arrived in Moscow. "The two sides should support each other on '
                 'core interests," the Chinese president said.',
                 [("The two sides should support each other on core interests", "Xi Jinping", "direct")], id="title"),
    pytest.param('Putin said "Iran will become a full member."\n\n"It is joining a serious organization."',
                 [("Iran will become a full member.", "Vladimir Putin", "direct"),
                  ("It is joining a serious organization.", "Vladimir Putin", "direct")], id="continuation"),
    pytest.param("The two leaders issued a joint statement saying ties had “no limits and no forbidden areas”.",
                 [("no limits and no forbidden areas", None, "direct")], id="unknown-speaker"),
    pytest.param("The so-called “special operation” went on, and “no-limit” ties too.", [], id="scare-quotes"),
    pytest.param("Officials said the talks would continue next week in Beijing.", [], id="no-named-subject"),
])
def test_extract_quotes(kb, text, expected):
    rows = quotes_of(text, kb)
    assert [(r["text"], r["speaker_name"], r["kind"]) for r in rows] == expected
    for r in rows:
        assert text[r["start"] : r["end"]] == r["text"]
        assert r["quote_id"] == quote_id("a1", r["start"], r["end"])
        assert r["cluster_id"] is None
    assert pa.Table.from_pylist(rows, schema=QUOTES).num_rows == len(rows)


def test_pronoun_prefers_the_last_speaker_over_a_possessive(kb):
    text = ("Putin said relations between the two countries are at their best.\n\n"
            "He said under Xi's leadership, China will continue making new achievements.")
    speakers = [r["speaker_name"] for r in quotes_of(text, kb)]
    assert speakers == ["Vladimir Putin", "Vladimir Putin"]


UNIPOLAR_A = "attempts to create a unipolar world have recently acquired an absolutely ugly form and are completely unacceptable"
UNIPOLAR_B = ("attempts to create a unipolar world have acquired in recent times an absolutely ugly configuration and "
              "they are absolutely unacceptable for the overwhelming majority of states on this planet.")
TAIWAN_DEC = "Russia firmly supports China's position on the Taiwan question and remains committed to the one-China principle"
TAIWAN_MAR = ("Russia firmly supports China in upholding its legitimate interests on questions related to Taiwan, Hong Kong "
              "and Xinjiang. Russia appreciates China for consistently upholding an objective and impartial position on "
              "international affairs.")
S1 = "We firmly adhere to the One China principle in practice and in every statement."
S2 = "We condemn the provocations of the United States and its satellites in the Taiwan Strait."


def quote(article: str, n: int, text: str, speaker: str | None = "Q7747") -> dict:
    return {"quote_id": f"{article}-{n}", "article_id": article, "start": 0, "end": len(text), "text": text,
            "kind": "direct", "speaker_entity_id": speaker, "speaker_name": "Vladimir Putin" if speaker else None,
            "attribution_method": "named" if speaker else "unknown", "cluster_id": None}


def batch(rows: list[dict]) -> pa.Table:
    quotes = pa.Table.from_pylist(rows, schema=QUOTES)
    update = cluster_quotes(quotes, quote_keys(quotes), QUOTES.empty_table(), QUOTE_KEYS.empty_table(), CONFIG)
    return assign_clusters(quotes, update)


def clusters_of(quotes: pa.Table) -> dict[str, str]:
    return dict(zip(quotes.column("quote_id").to_pylist(), quotes.column("cluster_id").to_pylist()))


@pytest.mark.parametrize("a, b, same", [
    pytest.param(S1, "we firmly adhere to the One China principle in practice, and in every statement", True, id="exact"),
    pytest.param(UNIPOLAR_A, "He said " + UNIPOLAR_A + ", referring to the United States.", True, id="fragment"),
    pytest.param(UNIPOLAR_A, UNIPOLAR_B, True, id="translation"),
    pytest.param(TAIWAN_DEC, TAIWAN_MAR, False, id="shared-phrase-different-remark"),
    pytest.param(S1, S2, False, id="different-sentences"),
])
def test_same_remark(a, b, same):
    assert same_remark({"text": a, "speaker_entity_id": "Q7747"}, {"text": b, "speaker_entity_id": None}, CONFIG) is same
    assert clusters_of(batch([quote("x", 1, a), quote("y", 1, b)])).get("x-1") == "x-1"
    assert (len(set(clusters_of(batch([quote("x", 1, a), quote("y", 1, b)])).values())) == 1) is same


def test_different_known_speakers_never_join():
    assert not same_remark({"text": S1, "speaker_entity_id": "Q7747"}, {"text": S1, "speaker_entity_id": "Q15031"}, CONFIG)


ROWS = [quote("a", 1, UNIPOLAR_A), quote("b", 1, UNIPOLAR_B), quote("c", 1, TAIWAN_DEC), quote("d", 1, TAIWAN_MAR),
        quote("e", 1, S1 + " " + S2), quote("f", 1, S1, None), quote("g", 1, S2), quote("h", 1, UNIPOLAR_A, None)]


@pytest.mark.parametrize("split", [1, 3, 5, 7])
@pytest.mark.parametrize("reverse", [False, True])
def test_incremental_equals_batch(split, reverse):
    rows = ROWS[::-1] if reverse else ROWS
    old = batch(rows[:split])
    old_keys = quote_keys(old)
    new = pa.Table.from_pylist(rows[split:], schema=QUOTES)
    new_keys = quote_keys(new)
    needed = old.filter(pc.is_in(old.column("quote_id"), value_set=related_quotes(new_keys, old_keys)))
    update = cluster_quotes(new, new_keys, needed, old_keys, CONFIG)
    incremental = assign_clusters(pa.concat_tables([old, new]), update)
    assert clusters_of(incremental) == clusters_of(batch(ROWS))


def test_batch_clusters():
    clusters = clusters_of(batch(ROWS))
    assert clusters["a-1"] == clusters["b-1"] == clusters["h-1"] == "a-1"
    assert clusters["e-1"] == clusters["f-1"] == clusters["g-1"] == "e-1"
    assert len({clusters["c-1"], clusters["d-1"], clusters["a-1"], clusters["e-1"]}) == 4


def test_drop_articles_splits_a_bridged_cluster_and_renames():
    quotes = batch(ROWS)
    keys = quote_keys(quotes)
    kept, kept_keys = drop_articles(quotes, keys, {"e", "a"}, CONFIG)
    clusters = clusters_of(kept)
    assert "e-1" not in clusters and "a-1" not in clusters
    assert clusters["f-1"] == "f-1" and clusters["g-1"] == "g-1"  # S1 and S2 were joined only through e
    assert clusters["b-1"] == clusters["h-1"] == "b-1"  # lost its smallest member: the next one names it
    assert set(kept_keys.column("quote_id").to_pylist()) == set(clusters)
    assert clusters == clusters_of(batch([r for r in ROWS if r["article_id"] not in {"e", "a"}]))


def test_quote_cluster_rows():
    quotes = batch([quote("a", 1, UNIPOLAR_A), quote("b", 1, UNIPOLAR_A), quote("c", 1, UNIPOLAR_B, None),
                    quote("c", 2, TAIWAN_DEC)])
    day = lambda d: datetime(2022, 9, d, tzinfo=UTC)
    articles = pa.table({"article_id": ["a", "b", "c"], "outlet": ["RT", "RT", None],
                         "published_at": pa.array([day(15), day(16), None], pa.timestamp("us", tz="UTC"))})
    rows = {r["cluster_id"]: r for r in quote_cluster_rows(quotes, articles).to_pylist()}
    assert quote_cluster_rows(quotes, articles).schema == QUOTE_CLUSTERS
    assert rows["a-1"] == {"cluster_id": "a-1", "text": UNIPOLAR_A, "speaker_entity_id": "Q7747",
                           "speaker_name": "Vladimir Putin", "n_quotes": 3, "n_articles": 3, "n_outlets": 1,
                           "first_seen": day(15), "last_seen": day(16)}
    assert rows["c-2"]["n_quotes"] == 1 and rows["c-2"]["first_seen"] is None


def _scorer():
    spec = importlib.util.spec_from_file_location("quotes_score", REPO / "bench" / "quotes_score.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_seed_gold_scores():
    result = _scorer().run()
    assert result["extraction"]["f1"] >= 0.9
    assert result["attribution"]["accuracy"] >= 0.85
    # The target is cluster pair F1 >= 0.85; it is NOT met (reported paraphrases and loose
    # translations are missed, see GUIDELINES.md). These floors guard against regressions meanwhile.
    assert result["clusters"]["precision"] >= 0.85
    assert result["clusters"]["f1"] >= 0.5
    assert result["clusters_direct"]["f1"] >= 0.7


def test_multi_paragraph_quote_takes_the_attribution_after_its_last_paragraph(kb):
    text = ("Xi Jinping said the talks went well.\n\n“We condemn the provocations in the strait.\n\n"
            "“We firmly adhere to the principle of one China,” Putin said.")
    assert [r["speaker_name"] for r in quotes_of(text, kb)] == ["Xi Jinping", "Vladimir Putin", "Vladimir Putin"]
