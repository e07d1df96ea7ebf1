"""tasks/language.py: ProfileDetector against plain seeded langdetect, on small inline texts."""

from __future__ import annotations

from collections import Counter

import pytest

from tasks.language import Language, ProfileDetector, _code_points, _model, _ngram_counts

PARAGRAPHS = {
    "en": (
        "The city council voted on Tuesday to close several streets in the old town to cars from next spring. "
        "The mayor said the plan would make the centre safer for cyclists and pedestrians and cut air pollution, "
        "while shop owners warned that fewer customers might come if parking became harder to find."
    ),
    "de": (
        "Der Stadtrat hat am Dienstag beschlossen, mehrere Straßen in der Altstadt ab dem nächsten Frühjahr für "
        "Autos zu sperren. Die Bürgermeisterin sagte, der Plan mache die Innenstadt sicherer für Radfahrer und "
        "Fußgänger, während Ladenbesitzer befürchten, dass weniger Kunden kommen werden."
    ),
    "fr": (
        "Le conseil municipal a voté mardi la fermeture aux voitures de plusieurs rues de la vieille ville à "
        "partir du printemps prochain. Selon la maire, ce projet rendra le centre plus sûr pour les cyclistes et "
        "les piétons, mais les commerçants craignent une baisse de leur clientèle."
    ),
    "ru": (
        "Городской совет во вторник проголосовал за закрытие для автомобилей нескольких улиц старого города "
        "начиная со следующей весны. По словам мэра, план сделает центр безопаснее для велосипедистов и "
        "пешеходов, однако владельцы магазинов опасаются, что покупателей станет меньше."
    ),
    "zh-cn": (
        "市议会星期二投票决定，从明年春天起禁止汽车驶入老城区的几条街道。市长表示，这项计划将使市中心对骑自行车的人"
        "和行人更加安全，并减少空气污染。但是一些商店老板担心，如果停车变得更加困难，来购物的顾客可能会减少。"
        "市政府将在未来几个月内听取居民的意见，并对计划进行评估。交通部门还表示，将增加公共汽车的班次，"
        "在老城区周围修建新的停车场，并为附近的居民发放特别通行证，以便他们继续使用自己的车辆。"
        "环保组织对这一决定表示欢迎，认为其他城市也应该采取类似的措施。"
    ),
    "ar": (
        "صوت مجلس المدينة يوم الثلاثاء على إغلاق عدة شوارع في المدينة القديمة أمام السيارات اعتبارا من الربيع "
        "المقبل. وقال رئيس البلدية إن الخطة ستجعل وسط المدينة أكثر أمانا لراكبي الدراجات والمشاة، بينما يخشى "
        "أصحاب المتاجر من تراجع عدد الزبائن."
    ),
}


@pytest.fixture(scope="module")
def detector() -> ProfileDetector:
    return ProfileDetector()


def langdetect_seeded(text: str) -> str:
    from langdetect import DetectorFactory, detect

    DetectorFactory.seed = 0
    return detect(text)


@pytest.mark.parametrize("code", sorted(PARAGRAPHS))
def test_right_language(detector, code):
    result = detector.detect(PARAGRAPHS[code])
    assert result.code == code
    assert 0.8 <= result.score <= 1.0
    assert result.reliable


@pytest.mark.parametrize("code", sorted(PARAGRAPHS))
def test_agrees_with_seeded_langdetect(detector, code):
    assert detector.detect(PARAGRAPHS[code]).code == langdetect_seeded(PARAGRAPHS[code])


def test_agrees_with_seeded_langdetect_on_other_paragraphs(detector):
    texts = [
        "O conselho municipal votou na terça-feira pelo fechamento de várias ruas do centro histórico aos carros a "
        "partir da próxima primavera, uma medida que divide comerciantes e moradores.",
        "El ayuntamiento aprobó el martes cerrar al tráfico varias calles del casco antiguo a partir de la próxima "
        "primavera, una medida que divide a comerciantes y vecinos.",
        "Il consiglio comunale ha approvato martedì la chiusura al traffico di diverse strade del centro storico a "
        "partire dalla prossima primavera, una misura che divide commercianti e residenti.",
        "De gemeenteraad heeft dinsdag besloten om vanaf volgend voorjaar verschillende straten in de oude "
        "binnenstad af te sluiten voor auto's, een maatregel die winkeliers en bewoners verdeelt.",
        "市議会は火曜日、来年の春から旧市街のいくつかの通りを車両通行止めにすることを決めた。商店主と住民の間では賛否が分かれている。",
        "시의회는 화요일 내년 봄부터 구시가지의 여러 거리에 차량 통행을 금지하기로 결정했다. 상인과 주민들 사이에서는 의견이 엇갈리고 있다.",
    ]
    for text in texts:
        assert detector.detect(text).code == langdetect_seeded(text)


def test_deterministic_across_calls_instances_and_batches(detector):
    texts = list(PARAGRAPHS.values()) + [PARAGRAPHS["en"][:60], PARAGRAPHS["fr"][:40] + PARAGRAPHS["de"][:40]]
    first = [detector.detect(t) for t in texts]
    assert [detector.detect(t) for t in texts] == first
    assert [ProfileDetector().detect(t) for t in texts] == first
    assert detector.detect_many(texts) == first
    assert detector.detect_many(texts[::-1])[::-1] == first
    assert detector.detect_many([]) == []


def test_short_text_is_not_reliable(detector):
    result = detector.detect("Der Hund schläft im Garten.")
    assert result.code == "de"
    assert result.reliable is False
    assert ProfileDetector(min_chars=10).detect("Der Hund schläft im Garten und die Katze auch.").reliable


def test_low_score_is_not_reliable():
    strict = ProfileDetector(min_probability=1.01)
    result = strict.detect(PARAGRAPHS["en"])
    assert result.code == "en" and result.reliable is False


@pytest.mark.parametrize("text", ["", "   \n\t ", "12345 67.89 -- !!! ??? (0) [1] {2}", "http://example.com/a?b=1 x@y.org"])
def test_no_letters_gives_none(detector, text):
    assert detector.detect(text) == Language(None, None, False)


def test_max_chars_truncates_like_langdetect():
    text = PARAGRAPHS["en"] + " " + PARAGRAPHS["de"] * 5
    assert ProfileDetector().detect(text).code == "de"
    assert ProfileDetector(max_chars=len(PARAGRAPHS["en"])).detect(text).code == "en"


def test_log_scores_rank_the_detected_language_first(detector):
    scores = detector.log_scores(PARAGRAPHS["ru"])
    assert set(scores) == set(detector.languages) and len(scores) == 55
    assert max(scores, key=scores.get) == "ru"


TRICKY = [
    "NASA and the EU: McDONALD's CEO met O'Brien in the U.S.A. on 3 March (see https://example.com/x?y=1).",
    "Write to press-office@example.org or visit http://news.example.com/2024/05/story.html for details.",
    "Tiếng Việt có dấu: Tie\u0301ng Vie\u0323t, chữ Quốc ngữ, Hà Nội.",
    "日本語のテキストです。カタカナ、ひらがな、漢字。한국어 텍스트 ㄅㄆㄇ",
    "Ελληνικά κείμενα ΑΘΗΝΑ Русский ТЕКСТ текст and English WORDS",
    "emoji 😀 text 𝐀𝐁𝐂 upper Ǆungla ǅ Straße ẞ ș ț «quote» 50°",
    "فارسی یی و عربي   double  spaces\tand\nnew lines",
]


@pytest.fixture(scope="module")
def langdetect_factory():
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    return factory


@pytest.mark.parametrize("text", TRICKY + [PARAGRAPHS["zh-cn"], PARAGRAPHS["ar"]])
def test_ngrams_and_log_scores_are_langdetects(detector, langdetect_factory, text):
    """We count exactly the n-grams langdetect samples from, and score them with its probabilities."""
    import math

    reference = langdetect_factory.create()
    reference.append(text)
    reference.cleaning_text()
    expected = Counter(reference._extract_ngrams())  # what langdetect draws its random n-grams from

    _, _, counts = _ngram_counts(_model(), [_code_points(text, 10_000)])
    assert sorted(counts.tolist()) == sorted(expected.values())

    weight = reference.ALPHA_DEFAULT / reference.BASE_FREQ
    scores = detector.log_scores(text)
    for j, lang in enumerate(langdetect_factory.langlist):
        want = sum(n * math.log(weight + langdetect_factory.word_lang_prob_map[g][j]) for g, n in expected.items())
        # Our table holds the logs rounded to 2**-14: at most 2**-15 off per n-gram occurrence.
        assert scores[lang] == pytest.approx(want, abs=sum(expected.values()) * 2**-15 + 1e-9)
