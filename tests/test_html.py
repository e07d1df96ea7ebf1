"""Tests for tasks.html.extract_html on small inline pages."""

import pytest

from tasks.html import HtmlArticle, extract_html

PARAGRAPHS = [
    "The city council voted on Tuesday to approve a new budget for public transport, "
    "ending months of debate over bus routes, fares and the future of the tram network.",
    "Supporters said the plan would cut commuting times for thousands of residents in the "
    "outer districts, while critics warned that the cost estimates were far too optimistic.",
    "The mayor is expected to sign the budget next week, and construction of the first new "
    "lines could begin as early as next spring if the regional government agrees to help.",
]

ARTICLE_PAGE = f"""<!DOCTYPE html>
<html lang="en"><head>
  <title>Council approves transport budget | Example Gazette</title>
  <meta property="og:title" content="Council approves transport budget">
  <meta property="og:site_name" content="Example Gazette">
  <meta property="article:published_time" content="2024-03-05T09:30:00+01:00">
  <meta name="author" content="Jane Doe">
  <link rel="canonical" href="https://gazette.example/news/transport-budget">
</head><body>
  <nav><ul><li><a href="/">Home</a></li><li><a href="/sport">Sport</a></li>
    <li><a href="/weather">Weather and traffic updates</a></li></ul></nav>
  <article>
    <h1>Council approves transport budget</h1>
    {"".join(f"<p>{p}</p>" for p in PARAGRAPHS)}
  </article>
  <footer><p>Copyright 2024 Example Gazette. All rights reserved.
    Privacy policy and cookie settings.</p></footer>
</body></html>"""


def test_article_body_keeps_paragraphs_and_drops_boilerplate():
    text = extract_html(ARTICLE_PAGE).text
    assert text is not None
    blocks = text.split("\n\n")
    for paragraph in PARAGRAPHS:
        assert paragraph in blocks  # each paragraph is its own blank-line separated block
    for boilerplate in ("Weather and traffic", "All rights reserved", "cookie settings"):
        assert boilerplate not in text


def test_metadata_from_meta_tags():
    article = extract_html(ARTICLE_PAGE)
    assert article.title == "Council approves transport budget"
    assert article.outlet == "Example Gazette"
    assert article.published == "2024-03-05T09:30:00+01:00"
    assert article.url == "https://gazette.example/news/transport-budget"
    assert article.author == "Jane Doe"


NO_ARTICLE_PAGES = {
    "menu-only": '<nav><a href="/">Home</a> <a href="/news">News</a> <a href="/2024/03/05/x">Archive</a>'
    "</nav><p>Updated on 5 March 2024</p>",
    "not-found": "<nav><a href='/'>Home</a></nav><h1>Page not found</h1>"
    "<p>Sorry, this page does not exist.</p>",
    "cookie-wall": "<div class='consent'><p>We use cookies to improve your experience.</p>"
    "<button>OK</button></div>",
}


@pytest.mark.parametrize("body", NO_ARTICLE_PAGES.values(), ids=NO_ARTICLE_PAGES.keys())
def test_page_without_article_gives_no_text(body):
    page = f"<html><head><title>Example Gazette</title></head><body>{body}</body></html>"
    article = extract_html(page)
    assert article.text is None
    assert article.title == "Example Gazette"
    assert article.published is None  # dates in visible text or in links are never guessed


@pytest.mark.parametrize(
    "markup",
    [
        "",
        "   \n\t",
        "\x00\x01\x02 not html at all \ud800",
        bytes(range(256)).decode("latin-1") * 200,
        "<html><body>" + "<div>" * 50_000 + "deep" + "</div>" * 50_000 + "</body></html>",
        '<html><head><script type="application/ld+json">{"author": [{"@id": []}], '
        '"@graph": {"x": 1}, "datePublished": 20240305}</script></head><body><p>x</p></body></html>',
    ],
    ids=["empty", "whitespace", "control-chars-and-surrogate", "binary", "deeply-nested", "bad-json-ld"],
)
def test_garbage_input_does_not_raise(markup):
    article = extract_html(markup)
    assert isinstance(article, HtmlArticle)
    assert article.text is None and article.published is None


def test_unknown_favor_is_rejected():
    with pytest.raises(ValueError):
        extract_html(ARTICLE_PAGE, favor="speed")
