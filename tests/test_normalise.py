"""Normalisation: corpus boilerplate removal, final text and deterministic language detection."""

from __future__ import annotations

from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tasks.boilerplate import paragraph_hash
from tasks.config import NormaliseConfig, PipelineConfig
from tasks.language import Language
from tasks.normalise import FINGERPRINTED, article_fingerprints, detect_language, detect_languages, finish_articles, unchanged_articles
from tasks.schemas import ARTICLES, PARSED

NOW = datetime(2024, 1, 1, tzinfo=timezone.utc)
EN = "China stands ready to further deepen its strategic cooperation with Russia, the president said on Wednesday."
TEXTS = {
    "en": EN * 3,
    "de": "Der chinesische Präsident hat am Mittwoch in Moskau den russischen Präsidenten getroffen und über die Zusammenarbeit beider Länder gesprochen. " * 2,
    "fr": "Le président chinois a rencontré mercredi à Moscou son homologue russe pour parler de la coopération entre les deux pays. " * 2,
    "ru": "Президент Китая встретился в среду в Москве с президентом России и обсудил сотрудничество двух стран. " * 2,
}


@pytest.mark.parametrize("method", ["profiles", "langdetect"])
@pytest.mark.parametrize("code", sorted(TEXTS))
def test_language_is_detected_the_same_way_every_time_by_either_method(code, method):
    config = NormaliseConfig(language_method=method)
    results = {language for _ in range(3) for language in detect_languages([TEXTS[code], TEXTS[code]], config)}
    (language,) = results
    assert language.code == code and language.reliable and language.score > 0.9
    assert detect_language(TEXTS[code], config).code == code  # plain seeded langdetect agrees


def test_short_text_is_flagged_unreliable():
    language = detect_language("Xi met Putin.", NormaliseConfig())
    assert not language.reliable


def test_text_without_letters_has_no_language():
    language = detect_language("12345 --- 678", NormaliseConfig())
    assert (language.code, language.reliable) == (None, False)


def _parsed(paragraphs: list[str], group: str = "outlet:A") -> pa.Table:
    return pa.Table.from_pylist([{
        "article_id": "id1", "source_path": "a.txt", "record_index": None, "source_format": "txt",
        "source_hash": "h", "encoding": "utf-8", "outlet": "A", "url": None, "title": "T", "published_at": None,
        "published_raw": None, "dateline": None, "paragraphs": paragraphs, "n_rule_removed": 2,
        "boilerplate_group": group, "paragraph_hashes": [], "context_hashes": [],
    }], schema=PARSED)


def test_finish_removes_outlet_boilerplate_and_builds_the_article_row():
    footer = "Follow us for more news from A"
    articles, rejected = finish_articles(_parsed([EN, footer, EN]), {"outlet:A": frozenset({paragraph_hash(footer)})},
                                         {}, PipelineConfig(), NOW)
    assert rejected.num_rows == 0 and articles.schema == ARTICLES
    (row,) = articles.to_pylist()
    assert row["text"] == EN + "\n\n" + EN
    assert (row["n_paragraphs"], row["n_boilerplate_removed"], row["language"]) == (2, 3, "en")
    assert row["ingested_at"] == NOW


def test_boilerplate_of_another_outlet_is_left_alone():
    footer = "Follow us for more news from A"
    articles, _ = finish_articles(_parsed([EN, footer], group="outlet:B"), {"outlet:A": frozenset({paragraph_hash(footer)})},
                                  {}, PipelineConfig(), NOW)
    assert articles.column("n_paragraphs").to_pylist() == [2]


def test_an_article_that_was_only_boilerplate_is_rejected():
    footer = "Follow us for more news from A"
    articles, rejected = finish_articles(_parsed([footer]), {"outlet:A": frozenset({paragraph_hash(footer)})},
                                         {}, PipelineConfig(), NOW)
    assert articles.num_rows == 0 and rejected.column("reason").to_pylist() == ["no_article_text"]


def test_first_ingested_time_is_kept_on_reprocessing():
    earlier = datetime(2020, 5, 5, tzinfo=timezone.utc)
    articles, _ = finish_articles(_parsed([EN]), {}, {"id1": earlier}, PipelineConfig(), NOW)
    assert articles.column("ingested_at").to_pylist() == [earlier]


def test_a_text_whose_language_is_known_is_not_detected_again():
    """The language given for a text's content hash is taken as it is (a made-up one shows it was not detected);
    another text of the batch is still detected."""
    config = PipelineConfig(ingest={"min_article_chars": 10})
    detected, _ = finish_articles(_parsed([EN]), {}, {}, config, NOW)
    (text_hash,) = detected.column("content_hash").to_pylist()
    assert detected.column("language").to_pylist() == ["en"]
    parsed = pa.concat_tables([_parsed([EN]), _parsed(["Der Präsident sagte am Mittwoch, China sei bereit, die "
                                                       "strategische Zusammenarbeit mit Russland zu vertiefen."])])
    known = {text_hash: Language("xx", 0.5, False)}
    articles, _ = finish_articles(parsed, {}, {}, config, NOW, known)
    assert [(r["language"], r["language_score"], r["language_reliable"]) for r in articles.to_pylist()] \
        == [("xx", 0.5, False), ("de", articles.column("language_score")[1].as_py(), False)]


def test_an_article_is_unchanged_for_the_later_stages_only_if_what_they_read_is_the_same(tmp_path):
    articles, _ = finish_articles(_parsed([EN]), {}, {}, PipelineConfig(), NOW)
    pq.write_table(articles, tmp_path / "a.parquet")  # the previous version is read back from Parquet
    (previous,) = article_fingerprints(pq.read_table(tmp_path / "a.parquet", schema=ARTICLES))
    assert unchanged_articles(articles, {"id1": previous}) == ["id1"]
    assert unchanged_articles(articles, {"other": previous}) == []

    def with_value(column: str, value) -> pa.Table:
        field = articles.schema.field(column)
        return articles.set_column(articles.schema.get_field_index(column), field, pa.array([value], field.type))

    # The file's hash, the first ingestion and what dedup assigns are not read by the later stages ...
    for column, value in [("source_hash", "f" * 64), ("ingested_at", datetime(2020, 1, 1, tzinfo=timezone.utc)),
                          ("cluster_id", "elsewhere"), ("duplicate_of", "elsewhere")]:
        assert unchanged_articles(with_value(column, value), {"id1": previous}) == ["id1"], column
    # ... every other column is.
    other = {pa.string(): "other", pa.large_string(): EN + " More.", pa.int32(): 7, pa.float32(): 0.25,
             ARTICLES.field("published_at").type: NOW}
    for column in FINGERPRINTED:
        if column != "article_id":
            field = ARTICLES.field(column)
            value = not articles.column(column)[0].as_py() if field.type == pa.bool_() else other[field.type]
            assert unchanged_articles(with_value(column, value), {"id1": previous}) == [], column
