"""Layout repair: spaces, hard-wrapped lines and paragraphs."""

from __future__ import annotations

import textwrap

from tasks.text import clean_line, count_words, paragraphs

PROSE = (
    "China stands ready to further deepen and enrich its comprehensive strategic cooperation and "
    "partnership with Russia regardless of changes on the global stage, Chinese President Xi Jinping said."
)


def test_clean_line_folds_exotic_spaces_and_invisibles():
    assert clean_line("News\u00a0\u00a0/\u200b  China\t/ Russia\u00ad ") == "News / China / Russia"


def test_blank_lines_and_single_newlines_both_separate_unwrapped_paragraphs():
    text = "First paragraph here.\nSecond paragraph here.\n\n\nThird one."
    assert paragraphs(text) == ["First paragraph here.", "Second paragraph here.", "Third one."]


def test_hard_wrapped_text_is_joined_back_into_paragraphs():
    second = "Putin said Russia appreciated the balanced position of its Chinese friends. " * 3
    wrapped = textwrap.fill(PROSE, 72) + "\n\n" + textwrap.fill(second, 72)
    assert paragraphs(wrapped) == [PROSE, second.strip()]


def test_hard_wrapped_text_without_blank_lines_breaks_at_short_lines():
    lines = [
        "China stands ready to further deepen and enrich its comprehensive",
        "strategic cooperation and partnership with Russia regardless of",
        "changes on the global stage.",
        "Putin said Russia appreciated the balanced position of its Chinese",
        "friends and would explain its own position in the talks on Friday.",
        "The two leaders met in Samarkand, Uzbekistan, on the sidelines of",
        "the summit.",
    ]
    assert [p[:20] for p in paragraphs("\n".join(lines))] == ["China stands ready t", "Putin said Russia ap"]


def test_crlf_line_endings():
    assert paragraphs("One.\r\n\r\nTwo.\rThree.") == ["One.", "Two.", "Three."]


def test_count_words():
    assert count_words("Xi, Putin vow to 'inject stability'") == 6
