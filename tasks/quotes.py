"""Quotations in article text: direct quotes and reported speech, each attributed to a speaker.

`extract_quotes()` reads one article and its entity mentions and touches nothing else; the
normalise worker calls it per article. Conventions (tests/data/quotes/GUIDELINES.md gives the same
rules to annotators):

- A direct quote is text between double quotes (straight, typographic “ ” or „ « ») of at least
  `min_words` words; shorter ones are scare quotes or terms ("no-limit", “core interests”).
- One row per contiguous quoted piece: a quote split by an attribution ("A," he said, "B") gives
  two rows, and a quote running over paragraphs (each paragraph reopens with a quote mark, only the
  last one closes) gives one row per paragraph. Pieces of one multi-paragraph quote share a speaker.
- A row's text excludes the quote marks, surrounding spaces and a trailing comma, semicolon or
  colon; `text == article_text[start:end]` always.
- Reported speech is the clause governed by a speech verb with a named, pronoun or title subject
  ("Xi said Beijing was ready to ...", "..., he said."), without narration joined to it (", adding ...",
  ", but praised ..."): the speaker's next act, not the words reported; a clause that contains a direct quote is
  represented by its direct quotes only, and "officials said ..." (no named subject) is left out.
- Speakers, in order of preference: the subject of an attribution right after the quote (",” Putin
  told Xi"), of a speech verb right before it ("Putin said that “...”", "told X that"), the person
  named in a colon lead-in ("RT noted Xi’s assurance: “...”"), of any finite speech verb earlier in
  the sentence, else the previous quote's speaker when no other person was named in between
  (`continuation`). A pronoun resolves to a person named earlier in its sentence, else the last
  speaker of the current or previous paragraph, else the last person named; "the Chinese president"
  resolves to the person the article introduced with that title. Otherwise the speaker is unknown.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from tasks.config import QuoteConfig
from tasks.entities import Mention
from tasks.text import word_starting

_OPENING, _CLOSING, _STRAIGHT = "“„«", "”»", '"'
_MARK = re.compile(r"[“”„«»\"]")
_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "st", "prof", "gen", "col", "lt", "gov", "sen", "rep", "jr", "sr", "no",
                  "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "vs", "etc"}
_SENTENCE_END = re.compile(r"[.!?…]+[\"”’')\]]*\s+(?=[\"“‘'(\[]?[A-Z0-9])|\n\n")
_FINITE = (r"said|says|say|told|tells|added|adds|stressed|stresses|noted|notes|stated|states|declared|declares|"
           r"emphasi[sz]ed|emphasi[sz]es|underlined|underscored|insisted|insists|warned|warns|explained|argued|"
           r"claimed|claims|announced|affirmed|asserted|reiterated|remarked|wrote|writes|replied|assured|"
           r"pointed out|was quoted|were quoted")
_PARTICIPLE = r"saying|adding|noting|stressing|telling|insisting|warning|explaining|arguing|claiming|declaring"
_NO_THAT_VERBS = {"said", "says", "say", "added", "adds"}  # others need "that" before a reported clause
_VERB = re.compile(rf"\b{word_starting(_FINITE)}\b")
_ANY_VERB = re.compile(rf"\b(?:{_FINITE}|{_PARTICIPLE})\b")
_AUX_WORDS = ("also", "has", "had", "have", "then", "later", "again", "once again", "reportedly", "further", "previously",
              "recently", "repeatedly")
_AUX = re.compile(rf"(?:\s+(?:{'|'.join(_AUX_WORDS)}|on \w+day))*\s*$")
_AUX_ENDINGS = (*_AUX_WORDS, "day")  # how a head that _AUX may shorten ends ("day": "on Monday")
_PRONOUN = re.compile(r"\b(?P<p>[Hh]e|[Ss]he|[Hh]is|[Hh]er)$")
_TITLE_WORDS = (r"president|premier|prime minister|minister|chancellor|leader|spokesman|spokeswoman|spokesperson|"
                r"ambassador|secretary|chairman|chairwoman|envoy|king|queen|mayor|governor|senator|general|"
                r"commissioner|director|official|diplomat|foreign minister")
_TITLE_NP = re.compile(rf"\b[Tt]he\s+(?P<np>(?:[\w-]+\s+){{0,3}}?(?:{_TITLE_WORDS}))\s*$", re.IGNORECASE)
_TITLE_NP_AHEAD = re.compile(rf"\s*[Tt]he\s+(?P<np>(?:[\w-]+\s+){{0,3}}?(?:{_TITLE_WORDS}))\b", re.IGNORECASE)
_PP_THAT = re.compile(r"^\s+(?:(?:during|in|at|on|after|before|while|following|via|over|with)\b[^,.;:“”\"\n]{0,60}?\s+)?"
                      r"that\s+")
_TOLD_THAT = re.compile(r"^\s+[^.;:“”\"\n]{1,60}?\s+that\s+")
_BACKWARD_TAIL = re.compile(r"^\s*(?:[.,;!?…]|$|(?:during|in|at|on|after|before|while|when|via|over|with|to|"
                            r"according|as|from)\b(?![^.!?]*\bthat\b))")
_TRAILING_SOURCE = re.compile(r",\s+(?:(?:[A-Z][\w.’'-]*|the|a)\s+){0,4}(?:reported|said|says|wrote|cited|quoted)"
                              r"[^,]*$|,\s+(?:hailing|citing|referring|adding|noting|according)\b.*$", re.DOTALL)
# "X said A, but praised B": a past verb with no subject of its own after a clause is the speaker's next act.
_NARRATION = re.compile(r",\s+(?:but|and)\s+(?:also\s+)?[a-z]+(?<!e)ed\b.*$", re.DOTALL)  # "exceed" is not past
_WORD = re.compile(r"\w[\w’'-]*")
_DATELINE = re.compile(r"[A-Z][^.!?\n]{0,40}?\([^)\n]{1,30}\)\s*[—–-]+\s*")
_TITLES_ONLY = re.compile(r"\s*(?:(?:[A-Z][\w’'.-]*|the)\s+){0,5}")  # ", Chinese President Xi said"
_LAST_WORD = re.compile(r"(\w+)[.!?…]*[\"”’')\]]*\s*$")
_SPACES = re.compile(r"\s*")
_TITLES_AHEAD = re.compile(rf"(?:(?:{_TITLE_WORDS}|[A-Z][a-z]+)\s+){{1,3}}", re.IGNORECASE)
_TRAILING_LEAD = re.compile(r"[,.!?]?\s+")
_QUOTED_AS = re.compile(r"[^.;“”\"]{0,80}?\bquoted\s+")
_AS_SAYING = re.compile(r"\s+as\s+saying")
_VERB_BEFORE_MARK = re.compile(rf"\b(?P<v>{_FINITE})(?:\s+that|\s*[,:])?\s*$")
_TOLD_BEFORE_MARK = re.compile(r"\b(?P<v>told)\s+[^.;:“”\"]{1,60}?\s+that\s*$")
_ANY_PRONOUN = re.compile(r"\b(?:he|she|his|her)\b", re.IGNORECASE)
_QUOTE_OR_BREAK = re.compile(r"[;:“”\"]")


@dataclass(frozen=True)
class _Piece:
    """A candidate quote before attribution."""

    start: int
    end: int
    kind: str  # "direct" or "reported"
    group: int  # pieces of one multi-paragraph quote share a group
    mark_start: int  # opening mark (direct) or clause start (reported)
    mark_end: int  # just past the closing mark, or the clause end
    speaker: tuple | None = None  # reported speech: its cue, (subject_kind, start, end) or a Mention


@dataclass(frozen=True)
class _Speaker:
    entity_id: str | None
    name: str | None
    method: str


_UNKNOWN = _Speaker(None, None, "unknown")


def quote_id(article_id: str, text: str, occurrence: int = 0) -> str:
    """Stable id of one quote: a hash of its article, its text and how many quotes of the same text come before
    it in the article. Not of its offsets: an article reprocessed because an outlet's boilerplate changed loses a
    paragraph and shifts its offsets, and its quotes keep their ids (and so their clusters, untouched)."""
    return hashlib.blake2b(f"{article_id}:{occurrence}:{text}".encode(), digest_size=10).hexdigest()


def extract_quotes(article_id: str, text: str, mentions: Sequence[Mention], config: QuoteConfig | None = None) -> list[dict]:
    """The quotes of one article as `quotes` rows (cluster_id left empty), in order of position.

    Args:
        article_id: the article's id, part of each quote_id.
        text: the article's clean text (`articles.text`); offsets point into it.
        mentions: the entity stage's mentions of this text (`tasks.entities.match`).
        config: thresholds; the defaults of `QuoteConfig` when omitted.
    """
    config = config or QuoteConfig()
    doc = _Doc(text, mentions)
    pieces = _direct_pieces(text, config.min_words)
    pieces += _reported_pieces(doc, pieces, config.min_words)
    pieces.sort(key=lambda p: p.start)
    rows: list[dict] = []
    group_speaker: dict[int, _Speaker] = {}
    history: list[tuple[int, int, _Speaker]] = []  # (cue position, quote end, speaker) of attributed quotes
    seen: Counter[str] = Counter()  # quotes of each text so far
    for piece in pieces:
        if piece.kind == "direct" and piece.group in group_speaker:
            speaker = group_speaker[piece.group]
        elif piece.kind == "direct":
            # A multi-paragraph quote: an attribution after its last paragraph beats the lead-in rules.
            last = max((p for p in pieces if p.group == piece.group and p.kind == "direct"), key=lambda p: p.start)
            speaker = _attribute(doc, last, pieces, history, config, trailing_only=True) if last is not piece else _UNKNOWN
            if speaker.name is None:
                speaker = _attribute(doc, piece, pieces, history, config)
            group_speaker[piece.group] = speaker
        else:
            speaker = _attribute(doc, piece, pieces, history, config)
        if speaker.name is not None:
            history.append((piece.start, piece.end, speaker))
        quoted = text[piece.start : piece.end]
        rows.append({"quote_id": quote_id(article_id, quoted, seen[quoted]), "article_id": article_id,
                     "start": piece.start, "end": piece.end, "text": quoted, "kind": piece.kind,
                     "speaker_entity_id": speaker.entity_id, "speaker_name": speaker.name,
                     "attribution_method": speaker.method, "cluster_id": None})
        seen[quoted] += 1
    return rows


class _Doc:
    """An article's text with its sentence and paragraph boundaries and its people, for lookups."""

    def __init__(self, text: str, mentions: Sequence[Mention]):
        self.text = text
        starts = [0]
        for m in _SENTENCE_END.finditer(text):
            if m.group() != "\n\n" and (last := _LAST_WORD.search(text, max(0, m.start() - 12), m.end())):
                word = last.group(1)
                if word.casefold() in _ABBREVIATIONS or (len(word) == 1 and "A" <= word <= "Z"):  # "Mr." or "J."
                    continue
            starts.append(m.end())
        self.sentence_starts = starts
        self.paragraph_starts = [0] + [m.end() for m in re.finditer(r"\n\n", text)]
        self.people = [m for m in mentions if m.type == "PERSON"]
        self.people_starts = [m.start for m in self.people]
        self.named = sorted((m for m in mentions if m.type in ("PERSON", "ORG")), key=lambda m: m.start)
        self.ends = {m.end: m for m in self.named}
        self.starts = {m.start: m for m in self.named}

    def sentence_start(self, pos: int) -> int:
        return self.sentence_starts[bisect.bisect_right(self.sentence_starts, pos) - 1]

    def sentence_end(self, pos: int) -> int:
        i = bisect.bisect_right(self.sentence_starts, pos)
        return self.sentence_starts[i] if i < len(self.sentence_starts) else len(self.text)

    def paragraph(self, pos: int) -> int:
        return bisect.bisect_right(self.paragraph_starts, pos) - 1

    def possessive(self, m: Mention) -> bool:
        return self.text[m.end : m.end + 2] in ("'s", "’s") or self.text[m.end : m.end + 1] in ("'", "’")

    def people_between(self, start: int, end: int) -> list[Mention]:
        lo, hi = bisect.bisect_left(self.people_starts, start), bisect.bisect_left(self.people_starts, end)
        return self.people[lo:hi]


def _is_opening(text: str, i: int) -> bool:
    """A straight double quote opens when it follows a space or bracket and precedes a non-space."""
    before = text[i - 1] if i else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    return (before.isspace() or before in "([—–-/") and not after.isspace()


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;:"):
        end -= 1
    return start, end


def _direct_pieces(text: str, min_words: int) -> list[_Piece]:
    """Quoted pieces of at least `min_words` words, continuing over paragraphs that reopen a quote."""
    pieces: list[_Piece] = []
    open_at: int | None = None
    group = mark = 0

    def emit(end: int, close: int) -> None:
        if close == end:  # no closing mark: narration with its own attribution after a sentence is not quoted
            for boundary in _SENTENCE_END.finditer(text, open_at, end):
                if _VERB.search(text, boundary.end(), end):
                    end = close = boundary.start() + len(boundary.group().rstrip())
                    break
        start, stop = _trim(text, open_at, end)
        if len(_WORD.findall(text[start:stop])) >= min_words:
            pieces.append(_Piece(start, stop, "direct", group, mark, close))

    for m in _MARK.finditer(text):
        i, ch = m.start(), m.group()
        if open_at is not None and "\n\n" in text[open_at:i]:
            para_end = text.index("\n\n", open_at)
            reopens = text[para_end + 2 : i].strip() == "" and (ch in _OPENING or (ch == _STRAIGHT and _is_opening(text, i)))
            emit(para_end, para_end)
            open_at = None
            if reopens:  # the next paragraph continues the same quote
                open_at, mark = i + 1, i
                continue
        if open_at is None:
            if ch in _OPENING or (ch == _STRAIGHT and _is_opening(text, i)):
                open_at, mark, group = i + 1, i, group + 1
        elif ch in _CLOSING or ch == _STRAIGHT:
            emit(i, i + 1)
            open_at = None
        else:  # a second opening mark: the first was never closed
            emit(i, i)
            open_at, mark, group = i + 1, i, group + 1
    if open_at is not None:
        para_end = text.find("\n\n", open_at)
        emit(len(text) if para_end < 0 else para_end, len(text))
    return pieces


def _subject_before(doc: _Doc, pos: int, allow_org: bool = True) -> tuple | None:
    """The subject ending right before a speech verb at `pos`: a name, a pronoun or a title phrase."""
    text = doc.text
    head = text[doc.sentence_start(pos) : pos]
    bare = head.rstrip()
    # Most heads end in no auxiliary word: then only the trailing whitespace goes, and the regex is not needed.
    stop = pos - len(_AUX.search(head).group()) if bare.endswith(_AUX_ENDINGS) else pos - (len(head) - len(bare))
    mention = doc.ends.get(stop)
    if mention is not None and (allow_org or mention.type == "PERSON"):
        return ("name", mention)
    if (p := _PRONOUN.search(text[max(0, stop - 4) : stop])) and p.group("p").lower() in ("he", "she"):
        return ("pronoun", stop - len(p.group("p")), stop)
    if t := _TITLE_NP.search(text[max(0, stop - 60) : stop]):
        return ("title", t.group("np"), stop)
    if text[stop - 1 : stop] == ",":  # "Ivan Melnikov, first deputy chairman of ..., said"
        for m in reversed(doc.people_between(doc.sentence_start(pos), stop)):
            between = text[m.end : stop - 1]
            if text[m.end : m.end + 1] == "," and len(between) < 200 and not _QUOTE_OR_BREAK.search(between):
                return ("name", m)
    return None


def _subject_after(doc: _Doc, pos: int) -> tuple | None:
    """A subject right after an inverted speech verb (", said Putin")."""
    text = doc.text
    start = _SPACES.match(text, pos).end()
    m = doc.starts.get(start)
    if m is None:  # a title before the name: "said President Xi"
        title = _TITLES_AHEAD.match(text, start)
        m = doc.starts.get(title.end()) if title else None
    if m is not None:
        return ("name", m)
    if t := _TITLE_NP_AHEAD.match(text, pos):
        return ("title", t.group("np"), pos)
    return None


def _reported_pieces(doc: _Doc, direct: list[_Piece], min_words: int) -> list[_Piece]:
    """Reported-speech clauses ("X said that ...", "..., he said") that hold no direct quote."""
    text, pieces = doc.text, []
    quoted = [(p.mark_start, p.mark_end) for p in direct]
    for verb in _VERB.finditer(text):
        v0, v1 = verb.span()
        if any(a <= v0 < b for a, b in quoted) or verb.group() in ("was quoted", "were quoted"):
            continue
        s0, s1 = doc.sentence_start(v0), doc.sentence_end(v0)
        tail = text[v1:s1]
        head = text[s0:v0]
        comma = head.rstrip().rfind(",")
        subject, inverted = _subject_before(doc, v0), False
        if subject is None and head.rstrip().endswith(","):
            subject, inverted = _subject_after(doc, v1), True  # ", said Putin"
        if subject is None:
            continue
        subject_start = v0 if inverted else _subject_start(subject, v0)
        between = text[s0 + comma + 1 : subject_start] if comma >= 0 else "x"
        if _BACKWARD_TAIL.match(tail) and _TITLES_ONLY.fullmatch(between):
            start, end = _trim(text, s0, s0 + comma)
        elif (m := _PP_THAT.match(tail)) or verb.group().startswith("told") and (m := _TOLD_THAT.match(tail)):
            start, end = v1 + m.end(), s1
        elif verb.group() in _NO_THAT_VERBS and re.match(r"\s+[\w“\"‘']", tail) and not _BACKWARD_TAIL.match(tail):
            start, end = v1, s1
        else:
            continue
        clause = text[start:end]
        if cut := _TRAILING_SOURCE.search(clause):
            end = start + cut.start()
        if start > v0 and (cut := _NARRATION.search(text, start, end)):  # not in "A, but B, he wrote": all reported
            end = cut.start()
        if dateline := _DATELINE.match(text, start, end):  # "March 22 (Interfax) - China stands ready ..."
            start = dateline.end()
        start, end = _trim(text, start, end)
        while end > start and text[end - 1] in ".!?…":
            end -= 1
        if len(_WORD.findall(text[start:end])) < min_words or any(start < b and a < end for a, b in quoted):
            continue  # too short, or it holds a direct quote, which stands for it
        pieces.append(_Piece(start, end, "reported", -1 - len(pieces), start, end, subject))
    return _without_overlaps(pieces)


def _without_overlaps(pieces: list[_Piece]) -> list[_Piece]:
    """The longest of overlapping reported clauses (nested speech keeps the outer verb's clause)."""
    kept: list[_Piece] = []
    for p in sorted(pieces, key=lambda p: (p.start, -(p.end - p.start))):
        if kept and p.start < kept[-1].end:
            continue
        kept.append(p)
    return kept


def _resolve(doc: _Doc, subject: tuple, history: list[tuple[int, int, _Speaker]], config: QuoteConfig) -> _Speaker:
    """A subject (name, pronoun or title phrase) as a speaker."""
    kind = subject[0]
    if kind == "name":
        m = subject[1]
        return _Speaker(m.entity_id, m.name, "named")
    if kind == "pronoun":
        at = subject[1]
        earlier = [m for m in doc.people_between(doc.sentence_start(at), at) if not doc.possessive(m)]
        if earlier:
            return _Speaker(earlier[-1].entity_id, earlier[-1].name, "pronoun")
        if history and doc.paragraph(history[-1][0]) >= doc.paragraph(at) - 1:
            return _Speaker(history[-1][2].entity_id, history[-1][2].name, "pronoun")
        before = [m for m in doc.people_between(0, at) if not doc.possessive(m)]
        if before:
            return _Speaker(before[-1].entity_id, before[-1].name, "pronoun")
        return _UNKNOWN
    words = subject[1].casefold().split()
    at = subject[2]
    titled = []
    for m in doc.people:
        before = doc.text[max(0, m.start - 60) : m.start].casefold().split()
        if before[-len(words) :] == words or (len(words) > 1 and before[-1:] == words[-1:]
                                              and all(w in before[-4:] for w in words)):
            titled.append(m)
    if titled:
        chosen = ([m for m in titled if m.start < at] or titled)[-1 if any(m.start < at for m in titled) else 0]
        return _Speaker(chosen.entity_id, chosen.name, "title")
    return _UNKNOWN


def _attribute(doc: _Doc, piece: _Piece, pieces: list[_Piece], history: list, config: QuoteConfig,
               trailing_only: bool = False) -> _Speaker:
    """The speaker of one quote (see the module docstring for the order of the rules)."""
    text = doc.text
    if piece.kind == "reported":
        return _resolve(doc, piece.speaker, history, config)
    # 1. An attribution right after the closing mark: ",” Putin told Xi" / ," said Putin" / ," the ... president said".
    s1 = doc.sentence_end(piece.mark_end - 1) if piece.mark_end > piece.mark_start else piece.mark_end
    tail = text[piece.mark_end : max(s1, piece.mark_end)]
    lead = _TRAILING_LEAD.match(tail)
    if lead and not tail.startswith("\n"):
        at = piece.mark_end + lead.end()
        rest = text[at:s1]
        quoted = _QUOTED_AS.match(rest)  # "the Foreign Ministry quoted Xi as saying"
        if quoted and (subject := _subject_after(doc, at + quoted.end())) and subject[0] == "name" \
                and _AS_SAYING.match(text, subject[1].end):
            return _resolve(doc, subject, history, config)
        verb = _VERB.search(rest)
        if verb and verb.start() < 80:
            subject = _subject_before(doc, at + verb.start()) if verb.start() else _subject_after(doc, at + verb.end())
            if subject is not None and (verb.start() == 0 or _subject_start(subject, at + verb.start()) >= at):
                return _resolve(doc, subject, history, config)
    if trailing_only:
        return _UNKNOWN
    # 2. A speech verb right before the opening mark, 3. a colon lead-in, 4. any finite speech verb earlier.
    s0 = doc.sentence_start(piece.mark_start)
    head = text[s0 : piece.mark_start]
    masked = _mask_quotes(head, s0, pieces)
    direct = _VERB_BEFORE_MARK.search(masked) or _TOLD_BEFORE_MARK.search(masked)
    if direct:
        subject = _subject_before(doc, s0 + direct.start("v"), allow_org=False)
        if subject is not None:
            return _resolve(doc, subject, history, config)
    if masked.rstrip().endswith(":"):
        people = [m for m in doc.people_between(s0, piece.mark_start)]
        pronouns = [s0 + p.start() for p in _ANY_PRONOUN.finditer(masked)]
        if pronouns and (not people or pronouns[-1] > people[-1].start):
            return _resolve(doc, ("pronoun", pronouns[-1], pronouns[-1]), history, config)
        if people:
            return _Speaker(people[-1].entity_id, people[-1].name, "named")
    for verb in reversed(list(_VERB.finditer(masked))):
        subject = _subject_before(doc, s0 + verb.start(), allow_org=False)
        if subject is not None:
            return _resolve(doc, subject, history, config)
    if _ANY_VERB.search(masked):
        return _UNKNOWN  # an attribution we cannot resolve ("a joint statement saying")
    # 5. Continuation of the previous speaker.
    if history:
        _, end, speaker = history[-1]
        others = [m for m in doc.people_between(end, piece.mark_start)
                  if m.entity_id != speaker.entity_id and not _inside(m.start, pieces)]
        if doc.paragraph(piece.start) - doc.paragraph(end) <= config.continuation_paragraphs and not others:
            return _Speaker(speaker.entity_id, speaker.name, "continuation")
    return _UNKNOWN


def _subject_start(subject: tuple, verb_at: int) -> int:
    """Where a subject found before a verb begins."""
    if subject[0] == "name":
        return subject[1].start
    return subject[1] if subject[0] == "pronoun" else verb_at - len(subject[1]) - 5


def _inside(pos: int, pieces: list[_Piece]) -> bool:
    return any(p.kind == "direct" and p.mark_start <= pos < p.mark_end for p in pieces)


def _mask_quotes(head: str, offset: int, pieces: list[_Piece]) -> str:
    """The lead-in with earlier quoted text blanked, so verbs inside quotes are not attributions."""
    chars = list(head)
    for p in pieces:
        if p.kind == "direct" and p.mark_end > offset and p.mark_start < offset + len(head):
            for i in range(max(p.mark_start, offset), min(p.mark_end, offset + len(head))):
                chars[i - offset] = " "
    return "".join(chars)
