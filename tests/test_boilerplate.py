"""Boilerplate: rules for page furniture, and repetition within one outlet across the corpus."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tasks.boilerplate import (
    boilerplate_sets,
    candidate_hashes,
    classify,
    flipped_paragraphs,
    paragraph_hash,
    strip_rule_boilerplate,
    update_corpus_boilerplate,
)
from tasks.schemas import PARAGRAPH_STATE

BODY = "Putin also praised the Chinese stance on Russia and reiterated Moscow's backing for China on Taiwan."


@pytest.mark.parametrize(
    ("paragraph", "reason"),
    [
        ("SHARE THIS ARTICLE", "navigation"),
        ("Back to top    Go to home page clear", "navigation"),
        ("Share on Facebook | Share on Twitter | WhatsApp", "navigation"),
        ("Go to home page", "navigation"),
        ("ALSO READ: China ready to boost energy ties with Russia", "cross_link"),
        ("Read more: Xi and Putin meet in Moscow", "cross_link"),
        ("Press TV’s website can also be accessed at the following alternate addresses:", "mirror_notice"),
        ("www.presstv.co.uk", "bare_url"),
        ("https://example.org/news/1 www.example.net", "bare_url"),
        ("4 hours ago", "relative_time"),
        ("Updated 25 minutes ago", "relative_time"),
        ("President Xi Jinping holds a meeting with Putin via video link on Friday. (PHOTO / XINHUA)", "caption"),
        ("Xi and Putin pose for a photo in Samarkand. (Photo by AP)", "caption"),
        ("Photo: Reuters", "caption"),
        ("© 2023 Interfax. All rights reserved.", "copyright"),
        ("News / China / Russia", "breadcrumb"),
        ("Home > World > Asia", "breadcrumb"),
    ],
)
def test_rules_recognise_page_furniture(paragraph, reason):
    assert classify(paragraph).reason == reason


@pytest.mark.parametrize(
    "paragraph",
    [
        BODY,
        "From Understanding to “Coping”",
        "“We highly appreciate the balanced position of our Chinese friends,” Putin told Xi.",
        "Share prices in Shanghai rose after the two leaders met, traders said.",
        "Hence, it is critical that",
    ],
)
def test_rules_keep_article_text(paragraph):
    assert classify(paragraph).reason == ""


def test_mirror_notice_names_the_outlet_and_footer_goes_with_it():
    paragraphs = [BODY, BODY, "Press TV’s website can also be accessed at the following alternate addresses:",
                  "www.presstv.co.uk", "SHARE THIS ARTICLE", "Press TV News Roku"]
    kept, removed, outlet = strip_rule_boilerplate(paragraphs)
    assert kept == [BODY, BODY] and removed == 4 and outlet == "Press TV"


def test_short_lines_inside_the_article_are_not_footer():
    paragraphs = ["Advertisement", BODY, "From Understanding to “Coping”", BODY]
    kept, removed, _ = strip_rule_boilerplate(paragraphs)
    assert kept == paragraphs[1:] and removed == 1


def _state(rows):
    return pa.Table.from_pylist(
        [{"source_path": f"{i}.txt", "article_id": str(i), "boilerplate_group": group, "paragraph_hashes": hashes,
          "context_hashes": list(range(i * 100, i * 100 + len(hashes)))}  # every article a different context
         for i, (group, hashes) in enumerate(rows)],
        schema=PARAGRAPH_STATE,
    )


def test_a_line_repeated_within_one_outlet_is_boilerplate_but_not_across_outlets():
    footer = paragraph_hash("Follow the Daily Planet for more")
    quote = paragraph_hash("A quote carried by three outlets")
    state = _state([("outlet:A", [footer, quote]), ("outlet:A", [footer]), ("outlet:A", [footer]),
                    ("outlet:B", [quote]), ("outlet:C", [quote])])
    assert boilerplate_sets(state, min_articles=3) == {"outlet:A": frozenset({footer})}


def test_flipped_paragraphs():
    before = {"outlet:A": frozenset({1}), "outlet:B": frozenset({2})}
    after = {"outlet:A": frozenset({1, 4}), "outlet:C": frozenset({3})}
    assert flipped_paragraphs(before, after) == {"outlet:A": {4}, "outlet:B": {2}, "outlet:C": {3}}


def test_only_articles_containing_a_flipped_paragraph_are_reprocessed():
    footer, other = paragraph_hash("Daily Planet footer"), paragraph_hash("Another short line")
    old = _state([("outlet:A", [footer]), ("outlet:A", [footer]), ("outlet:A", [other]), ("outlet:B", [footer])])
    new = pa.Table.from_pylist([{"source_path": "new.txt", "article_id": "n", "boilerplate_group": "outlet:A",
                                 "paragraph_hashes": [footer], "context_hashes": [999]}], schema=PARAGRAPH_STATE)
    result = update_corpus_boilerplate(old, new, replaced=set(), min_articles=3)
    assert result.flipped == {"outlet:A": {footer}}
    assert result.reprocess == ["0.txt", "1.txt"]
    assert result.held == {"0.txt": {"0"}, "1.txt": {"1"}}  # by source, the articles to redo
    assert result.sets == {"outlet:A": {footer}}


def test_candidate_hashes_skip_long_and_quoted_paragraphs():
    hashes, contexts = candidate_hashes(["Short footer", "Short footer", "“A short quote”", "x" * 300], max_chars=200)
    assert hashes == [paragraph_hash("short   FOOTER")] and len(contexts) == 1


def test_reposts_of_one_story_do_not_make_its_short_paragraphs_boilerplate():
    long_body = BODY * 3  # longer than max_chars: article text, never a candidate
    story = [long_body, "A short paragraph of the story itself.", long_body + " More."]
    footer = "Follow the Daily Planet"
    articles = [story + [footer]] * 3 + [[long_body + f" Story {i}.", footer] for i in range(2)]
    rows = []
    for i, paragraphs in enumerate(articles):
        hashes, contexts = candidate_hashes(paragraphs, 200)
        rows.append({"source_path": f"{i}.txt", "article_id": str(i), "boilerplate_group": "outlet:A",
                     "paragraph_hashes": hashes, "context_hashes": contexts})
    sets = boilerplate_sets(pa.Table.from_pylist(rows, schema=PARAGRAPH_STATE), min_articles=3)
    assert sets == {"outlet:A": {paragraph_hash(footer)}}


def test_empty_state_has_no_boilerplate():
    assert boilerplate_sets(PARAGRAPH_STATE.empty_table(), 3) == {}
