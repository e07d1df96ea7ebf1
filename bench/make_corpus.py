#!/usr/bin/env python3
"""Generate a deterministic synthetic news corpus from the seed articles, with planted duplicates.

Examples:
    python bench/make_corpus.py /tmp/bench/raw --n 100000 --seed 0
    python bench/make_corpus.py /tmp/bench/raw --add-fraction 0.01    # append 1% new articles

Articles recombine the sentences and paragraphs of the real seed articles (read at run time from
repo_root/../shared/corpus/seeds/*.txt, or --seeds) across 50 fictional outlets, with country,
leader, organisation, number and synonym substitutions; about 3% are German, French, Spanish or
Russian. Article i is a pure function of (--seed, i): the same command writes the same bytes.
Articles are streamed to disk; at most one JSONL file's records are held in memory.

Layout of OUT_DIR:
    <outlet>/<yyyy-mm>/<headline-slug>-<id>.txt    most articles, as scraped: header, body, footer
    <outlet>/<yyyy-mm>/<headline-slug>-<id>.html   ~5% with --formats html
    jsonl/part-<first index>.jsonl                 ~10% with --formats jsonl, up to 100 records each:
                                                   {"text", "title", "url", "published", "outlet"}
Beside OUT_DIR, never inside it, so the pipeline does not read them:
    <name>-truth.jsonl      one line per planted duplicate (or --truth PATH)
    <name>-manifest.json    seed and index ranges written so far, read by append mode

A truth line points a planted duplicate at the earlier original it copies:
    {"path": "meridian-daily/2023-04/xi-...-1a2b3c4d5e6f.txt", "duplicate_of": "jsonl/part-0003000.jsonl#17",
     "kind": "near", "edit": "dropped paragraph 4 of 12", "url": "...", "duplicate_of_url": "..."}
Paths are relative to OUT_DIR; a JSONL record is "<file>#<1-based line>". "exact" is the same article
text re-posted under another outlet and file name (a .txt copy of a .txt is byte-identical; JSONL
and HTML copies carry the re-poster's url, outlet and date). "near" is one word changed, one
paragraph dropped, paragraphs re-wrapped at 72 columns, straight/curly quotes swapped, or the
header and footer of another outlet.
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import html
import itertools
import json
import math
import os
import random
import re
import sys
import textwrap
import time
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SEEDS = REPO_ROOT.parent / "shared" / "corpus" / "seeds"
FORMATS = ("txt", "jsonl", "html")
BLOCK = 1000  # articles per routing block: one JSONL file per block
JSONL_SLOTS = 100  # positions 0..99 of a shuffled block go to JSONL (10%)
HTML_SLOTS = 50  # positions 100..149 go to HTML (5%)
FOREIGN_RATE = 0.03
FOREIGN_LANGS = ("de", "es", "fr", "ru")
BODY_LOG_MEDIAN = math.log(2950)  # body length in characters is log-normal around this median
EXACT_SHARE = 0.4  # of planted duplicates; the rest are near-duplicates
NEAR_EDITS = ("word", "drop_paragraph", "rewrap", "quotes", "boilerplate")
EPOCH = datetime(2022, 1, 1, tzinfo=timezone.utc)
SPAN_SECONDS = 3 * 365 * 86400

# --------------------------------------------------------------------------- world data

# (name, slug, language); the slug names the outlet's directory and domain.
OUTLETS = [
    ("Meridian Daily", "meridian-daily", "en"), ("The Eastern Courier", "eastern-courier", "en"),
    ("Global Wire Service", "global-wire", "en"), ("Harbor Times", "harbor-times", "en"),
    ("The Continental Post", "continental-post", "en"), ("Northfield Gazette", "northfield-gazette", "en"),
    ("Silk Road Monitor", "silk-road-monitor", "en"), ("Capital Observer", "capital-observer", "en"),
    ("The Frontier Report", "frontier-report", "en"), ("World Affairs Digest", "world-affairs-digest", "en"),
    ("Pacific Dispatch", "pacific-dispatch", "en"), ("The Atlas Herald", "atlas-herald", "en"),
    ("Riverside Chronicle", "riverside-chronicle", "en"), ("Orient Press", "orient-press", "en"),
    ("The Morning Ledger", "morning-ledger", "en"), ("Summit Review", "summit-review", "en"),
    ("Crossroads News", "crossroads-news", "en"), ("The Balkan Beacon", "balkan-beacon", "en"),
    ("Steppe Tribune", "steppe-tribune", "en"), ("Redline Politics", "redline-politics", "en"),
    ("Horizon News Network", "horizon-news", "en"), ("The Strategic Bulletin", "strategic-bulletin", "en"),
    ("Lakeside Journal", "lakeside-journal", "en"), ("Asia Brief", "asia-brief", "en"),
    ("Euro-Asia Times", "euro-asia-times", "en"), ("Bridgewater Standard", "bridgewater-standard", "en"),
    ("The Diplomat's Desk", "diplomats-desk", "en"), ("Citizen Wire", "citizen-wire", "en"),
    ("Polar Star News", "polar-star-news", "en"), ("The Evening Sentinel", "evening-sentinel", "en"),
    ("Mainline Media", "mainline-media", "en"), ("Compass Point News", "compass-point", "en"),
    ("Ironbridge Mail", "ironbridge-mail", "en"), ("The Civic Record", "civic-record", "en"),
    ("Sunrise Broadcasting", "sunrise-broadcasting", "en"), ("The Daily Spectrum", "daily-spectrum", "en"),
    ("Crescent Press", "crescent-press", "en"), ("New Era Weekly", "new-era-weekly", "en"),
    ("Valley Voice", "valley-voice", "en"), ("The Globe Examiner", "globe-examiner", "en"),
    ("Parallax News", "parallax-news", "en"), ("Signal & Noise", "signal-and-noise", "en"),
    ("The Open Ledger", "open-ledger", "en"), ("Harborline TV", "harborline-tv", "en"),
    ("Granite Telegraph", "granite-telegraph", "en"), ("Eastbound Review", "eastbound-review", "en"),
    ("Rheinischer Kurier", "rheinischer-kurier", "de"), ("Le Courrier du Matin", "courrier-du-matin", "fr"),
    ("Diario del Puerto", "diario-del-puerto", "es"), ("Вечерний вестник", "vecherny-vestnik", "ru"),
]
TLDS = {"en": (".com", ".net", ".news", ".co.uk", ".org", ".info", ".tv"), "de": (".de",), "fr": (".fr",),
        "es": (".es",), "ru": (".ru",)}
ALT_TLDS = (".co.uk", ".ir", ".in", ".us", ".eu", ".press")

# (country, adjective, capital): stand-ins for the seeds' China/Russia/Iran.
COUNTRIES = [
    ("France", "French", "Paris"), ("Germany", "German", "Berlin"), ("Brazil", "Brazilian", "Brasília"),
    ("India", "Indian", "New Delhi"), ("Japan", "Japanese", "Tokyo"), ("Turkey", "Turkish", "Ankara"),
    ("Egypt", "Egyptian", "Cairo"), ("Kenya", "Kenyan", "Nairobi"), ("Nigeria", "Nigerian", "Abuja"),
    ("Mexico", "Mexican", "Mexico City"), ("Argentina", "Argentine", "Buenos Aires"),
    ("Indonesia", "Indonesian", "Jakarta"), ("Vietnam", "Vietnamese", "Hanoi"),
    ("Pakistan", "Pakistani", "Islamabad"), ("Kazakhstan", "Kazakh", "Astana"),
    ("Saudi Arabia", "Saudi", "Riyadh"), ("South Africa", "South African", "Pretoria"),
    ("Poland", "Polish", "Warsaw"), ("Italy", "Italian", "Rome"), ("Spain", "Spanish", "Madrid"),
    ("Canada", "Canadian", "Ottawa"), ("Australia", "Australian", "Canberra"), ("Chile", "Chilean", "Santiago"),
    ("Peru", "Peruvian", "Lima"), ("Colombia", "Colombian", "Bogotá"), ("Morocco", "Moroccan", "Rabat"),
    ("Ethiopia", "Ethiopian", "Addis Ababa"), ("Thailand", "Thai", "Bangkok"),
    ("Malaysia", "Malaysian", "Kuala Lumpur"), ("Norway", "Norwegian", "Oslo"), ("Sweden", "Swedish", "Stockholm"),
    ("Finland", "Finnish", "Helsinki"), ("Greece", "Greek", "Athens"), ("Portugal", "Portuguese", "Lisbon"),
    ("Hungary", "Hungarian", "Budapest"), ("Serbia", "Serbian", "Belgrade"), ("Mongolia", "Mongolian", "Ulaanbaatar"),
    ("Qatar", "Qatari", "Doha"), ("Algeria", "Algerian", "Algiers"), ("Ghana", "Ghanaian", "Accra"),
    ("Uruguay", "Uruguayan", "Montevideo"), ("Ireland", "Irish", "Dublin"), ("Austria", "Austrian", "Vienna"),
]
FIRST_NAMES = [
    "Ana", "Tomas", "Leila", "Marek", "Ingrid", "Rafael", "Amara", "Kenji", "Sofia", "Dmitar", "Nadia", "Oskar",
    "Priya", "Emeka", "Helena", "Yusuf", "Carmen", "Lars", "Mei", "Andres", "Zainab", "Pavel", "Elif", "Jonas",
    "Aiko", "Matteo", "Fatima", "Viktor", "Lucia", "Kwame", "Irena", "Santiago", "Noor", "Henrik", "Chiara",
    "Bogdan", "Amina", "Felipe", "Sanna", "Tariq",
]
LAST_NAMES = [
    "Moreno", "Halvorsen", "Okafor", "Brandt", "Castell", "Novak", "Ferreira", "Takeda", "Lindqvist", "Adeyemi",
    "Kovacs", "Rahimi", "Duarte", "Petrov", "Sandoval", "Mbeki", "Aalto", "Romano", "Haddad", "Varga", "Nakamura",
    "Ilunga", "Ostrowski", "Quintero", "Dragan", "Keller", "Suarez", "Jovanovic", "Mensah", "Lindgren",
    "Erdem", "Vasquez", "Kowalczyk", "Ndiaye", "Fontaine", "Bergstrom", "Alvarado", "Demir", "Oyelaran", "Sato",
]
ORGS = [
    ("Eurasian Partnership Forum", "EPF"), ("Southern Trade Council", "STC"),
    ("Pacific Rim Cooperation Council", "PRCC"), ("Continental Security Dialogue", "CSD"),
    ("Northern Energy Alliance", "NEA"), ("Global South Economic Forum", "GSEF"),
    ("Inland Seas Cooperation Organization", "ISCO"), ("Coastal States Union", "CSU"),
    ("Transregional Development Bank", "TDB"), ("Highland Nations Compact", "HNC"),
]
VENUES = [
    ("Samarkand", "Uzbekistan"), ("Geneva", "Switzerland"), ("Singapore", "Singapore"), ("Bali", "Indonesia"),
    ("Dubai", "the United Arab Emirates"), ("Baku", "Azerbaijan"), ("Tbilisi", "Georgia"), ("Marrakesh", "Morocco"),
    ("Cape Town", "South Africa"), ("Cartagena", "Colombia"), ("Salzburg", "Austria"), ("Istanbul", "Turkey"),
    ("Kigali", "Rwanda"), ("Da Nang", "Vietnam"), ("Bishkek", "Kyrgyzstan"),
]
AGENCIES = ["AP", "Reuters", "AFP", "Xinhua", "Interfax", "EFE", "ANSA", "dpa", "Anadolu", "Kyodo", "TASS", "PTI"]
SECTIONS = ["World", "Asia", "Europe", "Politics", "Business", "Diplomacy", "Middle East", "Africa", "Americas"]
TOPICS = [
    "energy cooperation", "trade", "strategic coordination", "grain exports", "the digital economy",
    "regional security", "infrastructure investment", "space research", "nuclear power", "fertiliser supplies",
    "payment systems", "rail connectivity", "student exchanges", "climate finance", "arms control", "fisheries",
    "shipping routes", "mining rights", "tourism", "pharmaceutical supply chains",
]
# Seed words replaced per article by one of the group, so shared sentences still differ.
SYNONYMS = [
    ("said", "stated", "noted", "remarked"), ("cooperation", "collaboration"), ("countries", "nations"),
    ("relations", "ties"), ("ready", "prepared"), ("crisis", "conflict"), ("expand", "broaden"),
    ("stressed", "highlighted", "underscored"), ("important", "significant"), ("huge", "enormous"),
    ("leaders", "heads of state"),
]
# Seed names and the per-article slot that replaces them.
SEED_ENTITIES = {
    "Sino-Russian": "{A1}-{A2}", "Xi Jinping": "{L1F}", "Vladimir Putin": "{L2F}", "Xi": "{L1}", "Putin": "{L2}",
    "Chinese": "{A1}", "China": "{C1}", "Beijing": "{K1}", "Russian": "{A2}", "Russia": "{C2}", "Moscow": "{K2}",
    "Shanghai Cooperation Organization": "{ORG}", "SCO": "{ORGA}", "Samarkand": "{VC}", "Uzbekistan": "{VN}",
    "Iranian": "{A3}", "Iran": "{C3}", "Tehran": "{K3}", "Lacey": "{L3}",
    "Li Zhanshu": "{P1}", "Ivan Melnikov": "{P2}", "Boris Titov": "{P3}",
}
EN_HEADLINES = [
    "{L1}, {L2} pledge deeper {TOPIC}", "{C1} and {C2} sign 12 agreements on {TOPIC}",
    "{A1} leader {L1F} arrives in {VC} for {ORGA} summit", "What the {L1}-{L2} meeting means for {TOPIC}",
    "{C2} backs {C1} on {TOPIC} as {ORGA} leaders gather", "{K1} and {K2} vow to resist 'outside interference'",
    "{ORG} summit opens in {VC} amid talks on {TOPIC}", "{L1} tells {L2}: '{C1} is ready to work with {C2}'",
    "Analysis: {C1}-{C2} trade hits record as {TOPIC} expands", "{A2} President {L2} praises {C1}'s 'balanced' stance",
    "{C1} ready to boost {TOPIC} with {C2}, says {L1}", "Opinion: the {C1}-{C2} axis and the future of {TOPIC}",
    "{L1F} and {L2F} hold talks on sidelines of {ORGA} summit", "{C3} to join {ORG} as full member",
    "LIVE: {ORGA} leaders meet in {VC}", "Trade between {C1} and {C2} up 47.5 percent this year",
    "{A1}, {A2} leaders discuss {TOPIC} by video link", "{P1} wraps up {C2} visit with call for {TOPIC}",
]
EN_CAPTIONS = [
    "{A1} President {L1F}, left, and {A2} President {L2F} pose for a photo in {VC}, {VN}, {DATE}. (Photo by {AGENCY})",
    "President {L1F} holds a meeting with {A2} President {L2F} via video link on {WEEKDAY}. (PHOTO / {AGENCYUP})",
    "{L2F} and {L1F} shake hands before their talks in {K1}. ({AGENCY})",
]

FOREIGN = {
    "de": [
        "Der Präsident {L1F} ist am Donnerstag in {VC} mit seinem Amtskollegen {L2F} zu Gesprächen zusammengekommen.",
        "Beide Seiten betonten, dass die Zusammenarbeit in den Bereichen Handel, Energie und Verkehr weiter ausgebaut werden soll.",
        "{L1} sagte, die Beziehungen zwischen den beiden Ländern hätten ein historisch hohes Niveau erreicht.",
        "Nach Angaben des Außenministeriums wurden insgesamt 14 Abkommen unterzeichnet.",
        "Das Handelsvolumen stieg im vergangenen Jahr um 23 Prozent auf mehr als 180 Milliarden Dollar.",
        "Beobachter sehen in dem Treffen ein deutliches Signal an die westlichen Hauptstädte.",
        "{L2} lobte die „ausgewogene Haltung“ seines Gastes in internationalen Fragen.",
        "Die Opposition kritisierte die Vereinbarungen als einseitig und intransparent.",
        "Zum Abschluss des Gipfels veröffentlichten die Delegationen eine gemeinsame Erklärung.",
        "Darin bekennen sich beide Regierungen zu einer multipolaren Weltordnung und zur Rolle der Vereinten Nationen.",
        "Wirtschaftsvertreter hoffen vor allem auf neue Aufträge im Energiesektor.",
        "Eine geplante Gasleitung soll ab 2027 jährlich bis zu 50 Milliarden Kubikmeter Gas liefern.",
        "Über die Finanzierung des Projekts wurde jedoch keine Einigung erzielt.",
        "Die Gespräche dauerten nach Angaben von Teilnehmern mehr als drei Stunden.",
        "{L1F} bezeichnete seinen Gast als „alten Freund“ und lud ihn zu einem Gegenbesuch ein.",
        "Kritiker werfen beiden Regierungen vor, Fragen der Menschenrechte bewusst auszuklammern.",
        "Am Rande des Treffens demonstrierten mehrere hundert Menschen vor dem Tagungsort.",
        "Die Polizei sprach von einem friedlichen Verlauf der Kundgebung.",
        "Auch die Lage in der Region stand auf der Tagesordnung.",
        "Beide Präsidenten riefen zu einer politischen Lösung des Konflikts auf.",
        "Konkrete Schritte wurden allerdings nicht vereinbart.",
        "Fachleute halten es für wahrscheinlich, dass die militärische Zusammenarbeit weiter zunimmt.",
        "Bereits im Frühjahr hatten die Streitkräfte beider Länder ein gemeinsames Manöver abgehalten.",
        "Die Börsen reagierten gelassen auf die Ergebnisse des Gipfels.",
        "Der Leitindex schloss am Abend mit einem leichten Plus von 0,4 Prozent.",
        "Ein Regierungssprecher kündigte an, die Verhandlungen im kommenden Monat fortzusetzen.",
        "Im Mittelpunkt sollen dann Fragen der Landwirtschaft und der Digitalisierung stehen.",
        "{L2F} erklärte, sein Land sei offen für Investitionen aus dem Ausland.",
        "Zugleich warnte er vor „einseitigen Sanktionen“, die dem Welthandel schadeten.",
        "Die Zahl der Studierenden, die im jeweils anderen Land lernen, soll bis 2030 verdoppelt werden.",
        "Außerdem wurde die Einrichtung einer neuen direkten Flugverbindung vereinbart.",
        "Die Reise ist die erste Auslandsreise des Präsidenten seit mehr als einem Jahr.",
        "Diplomaten erwarten, dass das nächste Treffen bereits im Herbst stattfindet.",
        "Unabhängige Ökonomen mahnen, die wirtschaftlichen Erwartungen nicht zu überschätzen.",
        "Viele der angekündigten Projekte seien noch nicht finanziert, heißt es in einer aktuellen Studie.",
    ],
    "fr": [
        "Le président {L1F} a rencontré jeudi à {VC} son homologue {L2F} pour une série d'entretiens.",
        "Les deux dirigeants ont réaffirmé leur volonté de renforcer la coopération dans les domaines du commerce, de l'énergie et des transports.",
        "{L1} a déclaré que les relations entre les deux pays avaient atteint un niveau historique.",
        "Selon le ministère des Affaires étrangères, 14 accords ont été signés à l'issue de la rencontre.",
        "Les échanges commerciaux ont progressé de 23 % l'an dernier pour dépasser 180 milliards de dollars.",
        "Pour de nombreux observateurs, cette visite constitue un message clair adressé aux capitales occidentales.",
        "{L2} a salué la « position équilibrée » de son invité sur les grandes questions internationales.",
        "L'opposition a dénoncé des accords jugés opaques et déséquilibrés.",
        "À la fin du sommet, les délégations ont publié une déclaration commune.",
        "Les deux gouvernements y défendent un ordre mondial multipolaire et le rôle central des Nations unies.",
        "Les milieux d'affaires espèrent surtout de nouveaux contrats dans le secteur de l'énergie.",
        "Un projet de gazoduc devrait acheminer jusqu'à 50 milliards de mètres cubes de gaz par an à partir de 2027.",
        "Aucun accord n'a toutefois été trouvé sur le financement de ce projet.",
        "D'après plusieurs participants, les discussions ont duré plus de trois heures.",
        "{L1F} a qualifié son invité de « vieil ami » et l'a convié à une visite de retour.",
        "Les organisations de défense des droits humains reprochent aux deux capitales d'ignorer délibérément la question des libertés.",
        "Quelques centaines de manifestants se sont rassemblés devant le lieu de la réunion.",
        "La police a indiqué que le rassemblement s'était déroulé dans le calme.",
        "La situation régionale figurait également à l'ordre du jour.",
        "Les deux présidents ont appelé à une solution politique du conflit.",
        "Aucune mesure concrète n'a cependant été annoncée.",
        "Des experts jugent probable un approfondissement de la coopération militaire.",
        "Les armées des deux pays avaient déjà organisé des manœuvres conjointes au printemps.",
        "Les marchés financiers ont accueilli sans surprise les conclusions du sommet.",
        "L'indice principal a terminé la séance en légère hausse de 0,4 %.",
        "Un porte-parole du gouvernement a annoncé la reprise des négociations le mois prochain.",
        "Les questions agricoles et la transformation numérique seront alors au centre des débats.",
        "{L2F} a affirmé que son pays restait ouvert aux investissements étrangers.",
        "Il a également mis en garde contre les « sanctions unilatérales » qui, selon lui, nuisent au commerce mondial.",
        "Le nombre d'étudiants accueillis de part et d'autre devrait doubler d'ici 2030.",
        "Les deux parties sont aussi convenues d'ouvrir une nouvelle liaison aérienne directe.",
        "Il s'agit du premier déplacement à l'étranger du chef de l'État depuis plus d'un an.",
        "Les diplomates s'attendent à une nouvelle rencontre dès l'automne.",
        "Des économistes indépendants invitent toutefois à ne pas surestimer les retombées de ces annonces.",
        "Selon une étude récente, une grande partie des projets annoncés n'est toujours pas financée.",
    ],
    "es": [
        "El presidente {L1F} se reunió el jueves en {VC} con su homólogo {L2F} para mantener una ronda de conversaciones.",
        "Ambos mandatarios reiteraron su voluntad de ampliar la cooperación en comercio, energía y transporte.",
        "{L1} afirmó que las relaciones entre los dos países han alcanzado un nivel histórico.",
        "Según el Ministerio de Asuntos Exteriores, al término del encuentro se firmaron 14 acuerdos.",
        "El intercambio comercial creció un 23 % el año pasado y superó los 180 000 millones de dólares.",
        "Para muchos analistas, la visita supone un mensaje claro a las capitales occidentales.",
        "{L2} elogió la «posición equilibrada» de su invitado en los asuntos internacionales.",
        "La oposición calificó los acuerdos de opacos y desequilibrados.",
        "Al cierre de la cumbre, las delegaciones difundieron una declaración conjunta.",
        "En ella, ambos gobiernos defienden un orden mundial multipolar y el papel central de las Naciones Unidas.",
        "Los empresarios esperan sobre todo nuevos contratos en el sector energético.",
        "Un gasoducto en proyecto debería transportar hasta 50 000 millones de metros cúbicos de gas al año a partir de 2027.",
        "Sin embargo, no se alcanzó ningún acuerdo sobre la financiación del proyecto.",
        "Según varios participantes, las conversaciones se prolongaron durante más de tres horas.",
        "{L1F} calificó a su invitado de «viejo amigo» y lo invitó a realizar una visita de vuelta.",
        "Las organizaciones de derechos humanos acusan a ambos gobiernos de dejar de lado deliberadamente las libertades civiles.",
        "Varios cientos de personas se manifestaron frente al lugar de la reunión.",
        "La policía informó de que la concentración transcurrió de forma pacífica.",
        "La situación regional también figuró en el orden del día.",
        "Los dos presidentes pidieron una solución política al conflicto.",
        "No obstante, no se anunciaron medidas concretas.",
        "Los expertos consideran probable que la cooperación militar siga aumentando.",
        "Las fuerzas armadas de ambos países ya habían realizado maniobras conjuntas en primavera.",
        "Los mercados recibieron con tranquilidad los resultados de la cumbre.",
        "El principal índice bursátil cerró la sesión con una ligera subida del 0,4 %.",
        "Un portavoz del Gobierno anunció que las negociaciones se reanudarán el próximo mes.",
        "La agricultura y la digitalización ocuparán entonces el centro de la agenda.",
        "{L2F} aseguró que su país sigue abierto a la inversión extranjera.",
        "Al mismo tiempo, advirtió contra las «sanciones unilaterales», que a su juicio perjudican al comercio mundial.",
        "El número de estudiantes de intercambio entre ambos países debería duplicarse antes de 2030.",
        "Las dos partes acordaron además abrir una nueva ruta aérea directa.",
        "Se trata del primer viaje al extranjero del jefe de Estado en más de un año.",
        "Los diplomáticos prevén que el próximo encuentro se celebre ya en otoño.",
        "Economistas independientes advierten que no conviene sobrestimar el alcance de los anuncios.",
        "Según un estudio reciente, muchos de los proyectos anunciados todavía carecen de financiación.",
    ],
    "ru": [
        "В четверг в {VC} президент {L1F} провёл переговоры со своим коллегой {L2F}.",
        "Стороны подтвердили намерение расширять сотрудничество в сфере торговли, энергетики и транспорта.",
        "{L1} заявил, что отношения между двумя странами достигли исторически высокого уровня.",
        "По данным министерства иностранных дел, по итогам встречи было подписано 14 соглашений.",
        "Товарооборот в прошлом году вырос на 23 процента и превысил 180 миллиардов долларов.",
        "Многие наблюдатели расценивают визит как ясный сигнал западным столицам.",
        "{L2} высоко оценил «взвешенную позицию» своего гостя по международным вопросам.",
        "Оппозиция назвала подписанные документы непрозрачными и односторонними.",
        "По завершении саммита делегации приняли совместное заявление.",
        "В нём правительства двух стран выступают за многополярный миропорядок и центральную роль Организации Объединённых Наций.",
        "Деловые круги прежде всего рассчитывают на новые контракты в энергетике.",
        "Планируемый газопровод должен с 2027 года поставлять до 50 миллиардов кубометров газа в год.",
        "Однако договориться о финансировании проекта пока не удалось.",
        "По словам участников, переговоры продолжались более трёх часов.",
        "{L1F} назвал гостя «старым другом» и пригласил его посетить страну с ответным визитом.",
        "Правозащитники упрекают обе стороны в том, что они сознательно обходят вопросы прав человека.",
        "У места проведения встречи собрались несколько сотен демонстрантов.",
        "В полиции сообщили, что акция прошла спокойно.",
        "В повестке дня также была ситуация в регионе.",
        "Оба президента призвали к политическому урегулированию конфликта.",
        "Конкретных шагов при этом согласовано не было.",
        "Эксперты считают вероятным дальнейшее расширение военного сотрудничества.",
        "Ещё весной вооружённые силы двух стран провели совместные учения.",
        "Финансовые рынки спокойно отреагировали на итоги саммита.",
        "Основной биржевой индекс завершил торги небольшим ростом на 0,4 процента.",
        "Официальный представитель правительства сообщил, что переговоры продолжатся в следующем месяце.",
        "В центре внимания тогда окажутся сельское хозяйство и цифровизация.",
        "{L2F} заявил, что его страна остаётся открытой для иностранных инвестиций.",
        "Вместе с тем он предостерёг от «односторонних санкций», которые, по его словам, вредят мировой торговле.",
        "К 2030 году число студентов, обучающихся по обмену, планируется удвоить.",
        "Кроме того, стороны договорились открыть новое прямое авиасообщение.",
        "Это первая зарубежная поездка главы государства более чем за год.",
        "Дипломаты ожидают, что следующая встреча состоится уже осенью.",
        "Независимые экономисты призывают не переоценивать значение этих заявлений.",
        "Согласно недавнему исследованию, многие из объявленных проектов до сих пор не профинансированы.",
    ],
}
FOREIGN_HEADLINES = {
    "de": ["{L1} und {L2} vereinbaren engere Zusammenarbeit", "Gipfel in {VC}: {L1F} empfängt {L2F}",
           "Neue Abkommen über Energie und Handel unterzeichnet", "{L2} lobt „ausgewogene Haltung“ von {L1}",
           "Opposition kritisiert Vereinbarungen von {VC}", "Handel zwischen beiden Ländern wächst um 23 Prozent"],
    "fr": ["{L1} et {L2} s'engagent à renforcer leur coopération", "Sommet de {VC} : {L1F} reçoit {L2F}",
           "Énergie et commerce au cœur de nouveaux accords", "{L2} salue la « position équilibrée » de {L1}",
           "L'opposition critique les accords de {VC}", "Les échanges commerciaux bondissent de 23 %"],
    "es": ["{L1} y {L2} acuerdan estrechar su cooperación", "Cumbre en {VC}: {L1F} recibe a {L2F}",
           "Nuevos acuerdos sobre energía y comercio", "{L2} elogia la «posición equilibrada» de {L1}",
           "La oposición critica los acuerdos de {VC}", "El comercio bilateral crece un 23 %"],
    "ru": ["{L1} и {L2} договорились расширить сотрудничество", "Саммит в {VC}: {L1F} принял {L2F}",
           "Подписаны новые соглашения в сфере энергетики и торговли", "{L2} оценил «взвешенную позицию» {L1}",
           "Оппозиция раскритиковала договорённости в {VC}", "Товарооборот двух стран вырос на 23 процента"],
}
# Boilerplate per language: breadcrumb root and sections, relative time, footer lines.
LABELS = {
    "en": {"root": ("News", "Home"), "sections": SECTIONS, "ago": "{n} hours ago", "share": "SHARE THIS ARTICLE",
           "also": "ALSO READ:", "top": "Back to top\xa0\xa0\xa0\xa0Go to home page", "home": "Go to home page",
           "rights": "© {year} {outlet}. All rights reserved.", "follow": "Follow {outlet} on Telegram",
           "alt": "{outlet}’s website can also be accessed at the following alternate addresses:"},
    "de": {"root": ("Nachrichten",), "sections": ("Politik", "Ausland", "Wirtschaft"), "ago": "vor {n} Stunden",
           "share": "ARTIKEL TEILEN", "also": "LESEN SIE AUCH:", "top": "Zurück nach oben", "home": "Zur Startseite",
           "rights": "© {year} {outlet}. Alle Rechte vorbehalten.", "follow": "Folgen Sie {outlet} auf Telegram",
           "alt": "Die Website von {outlet} ist auch unter folgenden Adressen erreichbar:"},
    "fr": {"root": ("Actualités",), "sections": ("Monde", "Politique", "Économie"), "ago": "il y a {n} heures",
           "share": "PARTAGER CET ARTICLE", "also": "À LIRE AUSSI :", "top": "Retour en haut", "home": "Accueil",
           "rights": "© {year} {outlet}. Tous droits réservés.", "follow": "Suivez {outlet} sur Telegram",
           "alt": "Le site de {outlet} est aussi accessible aux adresses suivantes :"},
    "es": {"root": ("Noticias",), "sections": ("Internacional", "Política", "Economía"), "ago": "hace {n} horas",
           "share": "COMPARTIR ESTE ARTÍCULO", "also": "LEA TAMBIÉN:", "top": "Volver arriba", "home": "Portada",
           "rights": "© {year} {outlet}. Todos los derechos reservados.", "follow": "Siga a {outlet} en Telegram",
           "alt": "El sitio de {outlet} también está disponible en las siguientes direcciones:"},
    "ru": {"root": ("Новости",), "sections": ("В мире", "Политика", "Экономика"), "ago": "{n} ч. назад",
           "share": "ПОДЕЛИТЬСЯ", "also": "ЧИТАЙТЕ ТАКЖЕ:", "top": "Наверх", "home": "На главную",
           "rights": "© {year} {outlet}. Все права защищены.", "follow": "Читайте {outlet} в Telegram",
           "alt": "Сайт {outlet} также доступен по адресам:"},
}
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
MONTHS_DOT = ["Jan.", "Feb.", "March", "April", "May", "June", "July", "Aug.", "Sept.", "Oct.", "Nov.", "Dec."]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
EN_DATE_FORMATS = ("dmy_hm", "mdy", "long_ampm", "iso_gmt", "published", "updated")
FOREIGN_DATE_FORMATS = {"de": "dotted", "ru": "dotted", "fr": "fr", "es": "es"}

# --------------------------------------------------------------------------- templates

# A template is a str.format string: "{C1}" is a cast slot, "{~said}" a synonym, "{#38}" a random number.
_MONTH_DAY = re.compile(r"\b((?:January|February|March|April|May|June|July|August|September|October|November|"
                        r"December|Jan\.|Feb\.|Aug\.|Sept\.|Oct\.|Nov\.|Dec\.) )(\d{1,2})\b")
_NUMBER = re.compile(r"(?<![\w\-.,{])\d+(?:[.,]\d+)?(?![\w\-])")
_YEAR = re.compile(r"(?:19|20)\d\d")


def _mark_numbers(text: str) -> str:
    """Turn days after month names, years and other numbers into number slots."""
    text = _MONTH_DAY.sub(lambda m: m.group(1) + "{#D}", text)

    def number(m: re.Match) -> str:
        """Slot for one number: years keep their value relative to the article's year."""
        digits = m.group()
        if _YEAR.fullmatch(digits):
            return "{#Y" + digits + "}"
        return "{#" + digits.replace(".", "p").replace(",", "c") + "}"  # "." would mean attribute access

    return _NUMBER.sub(number, text)


def _random_number(shape: str, year_shift: int, rng: random.Random) -> str:
    """A random number shaped like the seed's ("#38" -> two digits, "#Y2013" -> year shifted with the article)."""
    if shape == "#D":
        return str(rng.randint(1, 28))
    if shape.startswith("#Y"):
        return str(int(shape[2:]) + year_shift)
    digits = shape[1:]
    sep = "p" if "p" in digits else "c" if "c" in digits else ""
    whole, _, frac = digits.partition(sep) if sep else (digits, "", "")
    out = str(rng.randint(10 ** (len(whole) - 1) if len(whole) > 1 else 2, 10 ** len(whole) - 1))
    if not sep:
        return out
    return out + ("." if sep == "p" else ",") + "".join(str(rng.randint(0, 9)) for _ in frac)


class Cast(dict):
    """Slot values of one article; a number slot ("#38") draws a fresh random number at each use."""

    def __init__(self, rng: random.Random, year_shift: int):
        super().__init__()
        self.rng = rng
        self.year_shift = year_shift
        self._plain: dict | None = None

    def __missing__(self, key: str) -> str:
        """A fresh random number for a number slot; any other missing slot is a bug."""
        if key[0] == "#":
            return _random_number(key, self.year_shift, self.rng)
        raise KeyError(key)

    def fill(self, template: str) -> str:
        """The template with its slots filled (formatting against a plain dict is twice as fast)."""
        if "{#" in template:
            return template.format_map(self)
        if self._plain is None:  # every slot is set before the first fill
            self._plain = dict(self)
        return template.format_map(self._plain)


def _pick(rng: random.Random, seq):
    """A random element of seq; cheaper than rng.choice in the hot loops."""
    return seq[int(rng.random() * len(seq))]


# --------------------------------------------------------------------------- seeds

@dataclass(frozen=True)
class SeedPool:
    """Templates cut from the seed articles: sentences, paragraphs as sentence ids, subheads, headlines."""

    sentences: tuple  # templates
    paragraphs: tuple  # tuples of sentence ids
    subheads: tuple  # templates
    headlines: tuple  # templates


_RELATIVE = re.compile(r"\d+ (?:hours?|minutes?|days?) ago")
_DATE_LINE = re.compile(r"\d{1,2} \w{3} \d{4} \d{1,2}:\d{2}")
_CRUMBS = re.compile(r"[\w\s\xa0-]{1,30}(?:/[\w\s\xa0-]{1,30})+")
_CAPTION = re.compile(r"\((?:Photo|PHOTO)[^)]*\)\s*$")
_DATELINE = re.compile(r"^[^()]{0,40}\([A-Za-z]+\)\s*[-—–]\s*")
_SENTENCE_END = re.compile(r"(?<!Mr\.)(?<=[.!?])\s+(?=[“\"A-Z])|(?<=[.!?][”\"])\s+(?=[“\"A-Z])")


def _is_boilerplate(line: str) -> bool:
    """True for scraped header/footer lines of the seeds (breadcrumbs, dates, share/footer links)."""
    return bool(
        _RELATIVE.fullmatch(line) or _DATE_LINE.fullmatch(line) or _CRUMBS.fullmatch(line) or _CAPTION.search(line)
        or line == "SHARE THIS ARTICLE" or line.endswith("News Roku") or "alternate addresses" in line
        or line.startswith(("Go to home page", "Back to top", "www."))
    )


def _split_sentences(paragraph: str) -> list[str]:
    """Split a paragraph into sentences, never inside a quotation."""
    sentences, buffer = [], ""
    for piece in _SENTENCE_END.split(paragraph):
        buffer = f"{buffer} {piece}" if buffer else piece
        if buffer.count("“") <= buffer.count("”") and buffer.count('"') % 2 == 0:
            sentences.append(buffer)
            buffer = ""
    return sentences + [buffer] if buffer else sentences


def load_seed_pool(seeds_dir: Path) -> SeedPool:
    """Read the seed articles and cut them into templates with names, numbers and synonyms as slots."""
    paths = sorted(seeds_dir.glob("*.txt"))
    if not paths:
        raise SystemExit(f"no seed articles (*.txt) in {seeds_dir}")
    names = sorted(SEED_ENTITIES, key=len, reverse=True)
    entity_pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, names)) + r")\b")
    synonym_words = {w: group[0] for group in SYNONYMS for w in group}
    synonym_pattern = re.compile(r"(?<![{~])\b(?:" + "|".join(sorted(synonym_words, key=len, reverse=True)) + r")\b")

    def compile_seed(text: str) -> str:
        """Seed text as a template: literal braces escaped, then numbers, names and synonyms as slots."""
        text = _mark_numbers(text.replace("{", "{{").replace("}", "}}"))
        text = entity_pattern.sub(lambda m: SEED_ENTITIES[m.group()], text)
        # several words of one synonym group share the group's slot
        return synonym_pattern.sub(lambda m: "{~" + synonym_words[m.group()] + "}", text)

    sentences, paragraphs, subheads, headlines = [], [], [], []
    for path in paths:
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
        lines = [line for line in lines if line and not _is_boilerplate(line)]
        at_top = True
        for line in lines:
            if line.startswith("ALSO READ:"):
                headlines.append(compile_seed(line.removeprefix("ALSO READ:").strip()))
                continue
            unfinished = not re.search(r"[.!?:][”\"]?$", line) and len(line) < 140
            if unfinished and at_top:
                headlines.append(compile_seed(line))
                continue
            at_top = False
            if unfinished:
                subheads.append(compile_seed(line))
                continue
            ids = []
            for sentence in _split_sentences(_DATELINE.sub("", line)):
                ids.append(len(sentences))
                sentences.append(compile_seed(sentence))
            paragraphs.append(tuple(ids))
    return SeedPool(tuple(sentences), tuple(paragraphs), tuple(subheads), tuple(headlines))


# --------------------------------------------------------------------------- outlets

@dataclass(frozen=True)
class Outlet:
    """A fictional outlet: names, domain and the scraped layout of its pages."""

    name: str
    slug: str
    lang: str
    domain: str
    weight: float
    top_link: bool
    breadcrumb: str | None  # "sections", "countries" or None
    crumb_sep: str
    relative_time: bool
    date_format: str | None
    dateline: str | None  # "wire", "code" or None
    dateline_punct: str
    agency: str
    code: str
    caption: bool
    sep: str
    also_every: int  # an ALSO READ line after every n paragraphs; 0 for none
    footers: tuple  # footer blocks; "{year}" is filled per article
    footer_gap: str
    trailing_newline: bool


def make_outlets(seed: int) -> list[Outlet]:
    """The 50 outlets with layouts drawn from a seed-derived generator; weights are Zipf-like."""
    rng = random.Random(f"newsflow-outlets-{seed}")
    outlets = []
    for rank, (name, slug, lang) in enumerate(OUTLETS):
        labels = LABELS[lang]
        english = lang == "en"
        stem = slug.replace("-", "")
        footers = []
        if rng.random() < 0.3:
            footers.append(labels["alt"].format(outlet=name) + "\n\nwww." + stem + rng.choice(ALT_TLDS))
        if rng.random() < 0.5:
            footers.append(labels["share"])
        if english and rng.random() < 0.15:
            footers.append(f"{name} News Roku")
        if rng.random() < 0.2:
            footers.append(labels["top"] + (" clear" if rng.random() < 0.3 else ""))
        if rng.random() < 0.3:
            footers.append(labels["rights"].replace("{outlet}", name))
        if rng.random() < 0.15:
            footers.append(labels["follow"].format(outlet=name))
        outlets.append(Outlet(
            name=name, slug=slug, lang=lang, domain=stem + rng.choice(TLDS[lang]),
            weight=1.0 / (rank + 1) ** 0.8,  # only English outlets are drawn by weight
            top_link=rng.random() < 0.15,
            breadcrumb=rng.choice((None, None, "sections", "countries" if english else "sections")),
            crumb_sep=rng.choice((" / ", " \xa0/\xa0 ")),
            relative_time=rng.random() < 0.25,
            date_format=(rng.choice((None,) + EN_DATE_FORMATS) if english else FOREIGN_DATE_FORMATS[lang]),
            dateline=rng.choice((None, None, "wire", "code")) if english else None,
            dateline_punct=rng.choice((",", ".")),
            agency=rng.choice(AGENCIES),
            code="".join(w[0] for w in name.upper().split() if w[0].isalpha()) + "NS",
            caption=english and rng.random() < 0.4,
            sep="\n" if rng.random() < 0.2 else "\n\n",
            also_every=rng.choice((0, 0, 4, 5, 6)),
            footers=tuple(footers),
            footer_gap=rng.choice(("", "\n")),
            trailing_newline=rng.random() < 0.5,
        ))
    return outlets


# --------------------------------------------------------------------------- articles

@dataclass(frozen=True)
class Article:
    """An article's content, rendered with the boilerplate of outlets[outlet]."""

    lang: str
    outlet: int
    headline: str
    published: datetime
    paragraphs: tuple
    also_read: tuple
    caption: str | None
    crumbs: tuple
    relative_hours: int
    dateline_city: str
    wrap: bool = False
    quotes: str | None = None  # "straight" or "curly" to convert every quote mark


@dataclass(frozen=True)
class Run:
    """One invocation's index range with the settings that decide routing and duplicates in it."""

    start: int
    end: int
    dup_rate: float
    formats: tuple


@dataclass(frozen=True)
class Location:
    """Where an article is stored: format, path relative to OUT_DIR, JSONL line, url."""

    fmt: str
    path: str
    line: int
    url: str

    @property
    def ref(self) -> str:
        """The truth-file reference: the path, plus "#line" for a JSONL record."""
        return f"{self.path}#{self.line}" if self.fmt == "jsonl" else self.path


@dataclass(frozen=True)
class Planted:
    """A planted duplicate: the original's index, kind and a description of the edit."""

    source: int
    kind: str
    edit: str


_CURLY_TO_STRAIGHT = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})


def _straight_to_curly(text: str) -> str:
    """Replace straight quotes with curly ones, opening after whitespace or brackets."""
    text = re.sub(r'(^|[\s(\[])"', "\\1“", text).replace('"', "”")
    return re.sub(r"(^|[\s(\[])'", "\\1‘", text).replace("'", "’")


def _slugify(text: str) -> str:
    """ASCII file-name slug of a headline, at most 60 characters."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60].rstrip("-") or "article"


def _date_line(fmt: str, dt: datetime) -> str:
    """The outlet's visible date line, e.g. "22 Mar 2023 10:29"."""
    month = dt.month - 1
    if fmt == "dmy_hm":
        return f"{dt.day} {MONTHS[month][:3]} {dt.year} {dt:%H:%M}"
    if fmt == "mdy":
        return f"{MONTHS_DOT[month]} {dt.day}, {dt.year}"
    if fmt == "long_ampm":
        return f"{MONTHS[month]} {dt.day}, {dt.year} {(dt.hour - 1) % 12 + 1}:{dt:%M} {'AM' if dt.hour < 12 else 'PM'}"
    if fmt == "iso_gmt":
        return f"{dt:%Y-%m-%d %H:%M} GMT"
    if fmt == "published":
        return f"Published: {dt:%d/%m/%Y}"
    if fmt == "updated":
        return f"Updated {dt.day} {MONTHS[month]} {dt.year}"
    if fmt == "dotted":
        return f"{dt:%d.%m.%Y %H:%M}"
    if fmt == "fr":
        return f"{dt:%d/%m/%Y %Hh%M}"
    return f"{dt:%d/%m/%Y %H:%M}"


def _content(article: Article) -> tuple[str, list[str], list[str]]:
    """Headline, body paragraphs and also-read headlines after the article's quote edit."""
    texts = [article.headline, *article.paragraphs, *article.also_read]
    if article.quotes == "straight":
        texts = [t.translate(_CURLY_TO_STRAIGHT) for t in texts]
    elif article.quotes == "curly":
        texts = [_straight_to_curly(t) for t in texts]
    n = len(article.paragraphs)
    return texts[0], texts[1:1 + n], texts[1 + n:]


def _body_blocks(article: Article, outlet: Outlet, paragraphs: list[str], also_read: list[str]) -> list[str]:
    """Body paragraphs with the outlet's dateline and interleaved ALSO READ lines."""
    paragraphs = list(paragraphs)
    dt = article.published
    if outlet.dateline == "wire":
        paragraphs[0] = (f"{article.dateline_city.upper()}{outlet.dateline_punct} {MONTHS[dt.month - 1]} {dt.day} "
                         f"({outlet.agency}) - {paragraphs[0]}")
    elif outlet.dateline == "code":
        paragraphs[0] = f"{MONTHS_DOT[dt.month - 1]} {dt.day}, {dt.year} ({outlet.code})—{paragraphs[0]}"
    if article.wrap:
        paragraphs = [textwrap.fill(p, 72, break_long_words=False, break_on_hyphens=False) for p in paragraphs]
    if not outlet.also_every or not also_read:
        return paragraphs
    blocks, pending = [], list(also_read)
    for k, paragraph in enumerate(paragraphs, 1):
        blocks.append(paragraph)
        if k % outlet.also_every == 0 and pending and k < len(paragraphs):
            blocks.append(f"{LABELS[outlet.lang]['also']} {pending.pop(0)}")
    return blocks


def render_text(article: Article, outlet: Outlet) -> str:
    """The article as a scraper saves it: header lines, headline, body, footer."""
    labels = LABELS[outlet.lang]
    headline, paragraphs, also_read = _content(article)
    blocks = []
    if outlet.top_link:
        blocks.append(labels["home"])
    if outlet.breadcrumb:
        crumbs = article.crumbs[:2] if outlet.breadcrumb == "countries" else article.crumbs[2:]
        blocks.append(outlet.crumb_sep.join(dict.fromkeys((labels["root"][0], *crumbs))))
    if outlet.relative_time:
        blocks.append(labels["ago"].format(n=article.relative_hours))
    blocks.append(headline)
    if outlet.caption and article.caption:
        blocks.append(article.caption)
    if outlet.date_format:
        blocks.append(_date_line(outlet.date_format, article.published))
    blocks += _body_blocks(article, outlet, paragraphs, also_read)
    text = outlet.sep.join(blocks)
    if outlet.footers:
        footers = [f.replace("{year}", str(article.published.year)) for f in outlet.footers]
        text += outlet.sep + outlet.footer_gap + outlet.sep.join(footers)
    return text + "\n" if outlet.trailing_newline else text


def render_html(article: Article, outlet: Outlet, host: Outlet, published: datetime, url: str) -> str:
    """The article as a simple HTML page: metadata of the host outlet, boilerplate of the article's outlet."""
    labels = LABELS[outlet.lang]
    esc = html.escape
    headline, paragraphs, also_read = _content(article)
    iso = published.isoformat()
    out = [
        "<!DOCTYPE html>", f'<html lang="{article.lang}">', "<head>", '<meta charset="utf-8">',
        f"<title>{esc(headline)} | {esc(host.name)}</title>",
        f'<meta property="og:site_name" content="{esc(host.name)}">',
        f'<meta property="og:title" content="{esc(headline)}">',
        f'<meta property="og:url" content="{esc(url)}">',
        f'<meta property="article:published_time" content="{iso}">',
        f'<link rel="canonical" href="{esc(url)}">', "</head>", "<body>",
        "<nav><ul>" + "".join(f'<li><a href="/{_slugify(s)}/">{esc(s)}</a></li>'
                              for s in (labels["root"][-1], *labels["sections"])) + "</ul></nav>",
        "<article>", f"<h1>{esc(headline)}</h1>",
        f'<time datetime="{iso}">{esc(_date_line(outlet.date_format or "dmy_hm", article.published))}</time>',
    ]
    if outlet.caption and article.caption:
        out.append(f"<figure><figcaption>{esc(article.caption)}</figcaption></figure>")
    for block in _body_blocks(article, outlet, paragraphs, also_read):
        tag = "aside" if block.startswith(labels["also"]) else "p"
        out.append(f"<{tag}>{esc(block)}</{tag}>")
    out.append("</article>")
    footers = [f.replace("{year}", str(article.published.year)) for f in outlet.footers] or [labels["share"]]
    out.append("<footer>" + "".join(f"<p>{esc(f)}</p>" for f in footers) + "</footer>")
    out += ["</body>", "</html>", ""]
    return "\n".join(out)


# --------------------------------------------------------------------------- generator

def _format_at(position: int, formats: tuple) -> str:
    """Format of a shuffled block position: 10% JSONL, 5% HTML, the rest the first of txt, jsonl, html given."""
    if "jsonl" in formats and position < JSONL_SLOTS:
        return "jsonl"
    if "html" in formats and JSONL_SLOTS <= position < JSONL_SLOTS + HTML_SLOTS:
        return "html"
    return next(f for f in FORMATS if f in formats)


def _hash64(seed: int, index: int, salt: str) -> int:
    """A 64-bit hash of (seed, index, salt): the root of every per-article random choice."""
    return int.from_bytes(hashlib.blake2b(f"{seed}:{salt}:{index}".encode(), digest_size=8).digest(), "big")


class CorpusGenerator:
    """Builds article i, its storage location and its planted-duplicate status as pure functions of (seed, i)."""

    def __init__(self, seed: int, pool: SeedPool, runs: list[Run]):
        self.seed = seed
        self.pool = pool
        self.runs = sorted(runs, key=lambda r: r.start)
        self._run_starts = [r.start for r in self.runs]
        self.outlets = make_outlets(seed)
        world = random.Random(f"newsflow-world-{seed}")
        self.leaders = [(f"{world.choice(FIRST_NAMES)} {last}", last)
                        for last in world.sample(LAST_NAMES * 2, len(COUNTRIES))]
        self.by_lang: dict[str, list[int]] = {}
        for k, outlet in enumerate(self.outlets):
            self.by_lang.setdefault(outlet.lang, []).append(k)
        english = self.by_lang["en"]
        total = sum(self.outlets[k].weight for k in english)
        self._cum_weights = list(itertools.accumulate(self.outlets[k].weight / total for k in english))
        self.foreign = {lang: tuple(_mark_numbers(s) for s in FOREIGN[lang]) for lang in FOREIGN}
        self.foreign_headlines = {lang: tuple(_mark_numbers(s) for s in FOREIGN_HEADLINES[lang]) for lang in FOREIGN}
        self.en_headlines = tuple(_mark_numbers(s) for s in EN_HEADLINES) + pool.headlines
        self.captions = tuple(_mark_numbers(s) for s in EN_CAPTIONS)
        self._blocks: dict[tuple, tuple[list[str], dict[int, int]]] = {}
        # precomputed slot values, so building an article's cast is a few dict updates
        self._country_slots = [
            [{"C" + n: name, "A" + n: adjective, "K" + n: capital, "L" + n + "F": self.leaders[c][0],
              "L" + n: self.leaders[c][1]} for c, (name, adjective, capital) in enumerate(COUNTRIES)]
            for n in "123"
        ]
        self._synonym_keys = tuple("~" + group[0] for group in SYNONYMS)
        self._synonym_choices = tuple(itertools.product(*SYNONYMS))
        self._paragraph_templates = tuple(" ".join(pool.sentences[s] for s in ids) for ids in pool.paragraphs)

    # ---- routing

    def run_of(self, index: int) -> Run | None:
        """The run that writes article index, or None if no run covers it."""
        k = bisect.bisect_right(self._run_starts, index) - 1
        return self.runs[k] if k >= 0 and index < self.runs[k].end else None

    def _block(self, block_start: int, formats: tuple) -> tuple[list[str], dict[int, int]]:
        """Format of each offset of a block and the 1-based JSONL line of each JSONL offset."""
        key = (block_start, formats)
        if key not in self._blocks:
            if len(self._blocks) > 64:
                self._blocks.clear()
            positions = list(range(BLOCK))
            random.Random(_hash64(self.seed, block_start, "block")).shuffle(positions)
            fmts = [_format_at(pos, formats) for pos in positions]
            jsonl_offsets = [off for off, fmt in enumerate(fmts) if fmt == "jsonl"]
            self._blocks[key] = fmts, {off: line for line, off in enumerate(jsonl_offsets, 1)}
        return self._blocks[key]

    def route(self, index: int) -> tuple[str, int, int]:
        """Format of article index, the first index of its block and its JSONL line (0 if not JSONL)."""
        run = self.run_of(index)
        block_start = run.start + (index - run.start) // BLOCK * BLOCK
        fmts, lines = self._block(block_start, run.formats)
        offset = index - block_start
        return fmts[offset], block_start, lines.get(offset, 0)

    def location(self, index: int, headline: str, host: int, published: datetime) -> Location:
        """Storage location of article index published by outlets[host]."""
        fmt, block_start, line = self.route(index)
        outlet = self.outlets[host]
        ident = f"{_hash64(self.seed, index, 'id'):016x}"[:12]
        slug = _slugify(headline)
        url = f"https://www.{outlet.domain}/news/{published:%Y/%m/%d}/{slug}-{ident}"
        if fmt == "jsonl":
            return Location("jsonl", f"jsonl/part-{block_start:07d}.jsonl", line, url)
        return Location(fmt, f"{outlet.slug}/{published:%Y-%m}/{slug}-{ident}.{fmt}", 0, url)

    # ---- duplicates

    def _dup_candidate(self, index: int) -> bool:
        """True if index was drawn to be a planted duplicate (before looking for its original)."""
        run = self.run_of(index)
        return run is not None and _hash64(self.seed, index, "dup") < run.dup_rate * 2 ** 64

    def source_of(self, index: int) -> int | None:
        """The original article that index duplicates, or None if index is an original."""
        if not self._dup_candidate(index):
            return None
        rng = random.Random(_hash64(self.seed, index, "source"))
        back = int(rng.expovariate(1 / 400))
        j = index - 1 - back if back < index else rng.randrange(index) if index else -1
        while j >= 0 and (self.run_of(j) is None or self._dup_candidate(j)):
            j -= 1
        return j if j >= 0 else None

    # ---- content

    def original(self, index: int) -> Article:
        """Original article index, built from the seed pool (or a foreign-language pool)."""
        rng = random.Random(_hash64(self.seed, index, "article"))
        lang = "en"
        if rng.random() < FOREIGN_RATE:
            lang = _pick(rng, FOREIGN_LANGS)
        if lang == "en":
            outlet = self.by_lang["en"][min(bisect.bisect_left(self._cum_weights, rng.random()),
                                            len(self._cum_weights) - 1)]
        else:
            outlet = _pick(rng, self.by_lang[lang])
        published = EPOCH + timedelta(minutes=int(rng.random() * (SPAN_SECONDS // 60)))
        cast = self._cast(rng, published)
        if lang == "en":
            headline = cast.fill(_pick(rng, self.en_headlines))
            also = tuple(cast.fill(_pick(rng, self.en_headlines)) for _ in range(3))
            paragraphs = self._english_body(rng, cast)
            caption = cast.fill(_pick(rng, self.captions))
        else:
            headline = cast.fill(_pick(rng, self.foreign_headlines[lang]))
            also = tuple(cast.fill(_pick(rng, self.foreign_headlines[lang])) for _ in range(2))
            paragraphs = self._foreign_body(rng, cast, lang)
            caption = None
        sections = LABELS[lang]["sections"]
        return Article(
            lang=lang, outlet=outlet, headline=headline, published=published, paragraphs=paragraphs,
            also_read=also, caption=caption,
            crumbs=(cast["C1"], cast["C2"], _pick(rng, sections), _pick(rng, sections)),
            relative_hours=1 + int(rng.random() * 23), dateline_city=cast["K1"],
        )

    def _cast(self, rng: random.Random, published: datetime) -> Cast:
        """Per-article values for every template slot: countries, leaders, names, synonyms."""
        rand = rng.random
        cast = Cast(rng, published.year - 2022)
        n_countries = len(COUNTRIES)
        c1 = int(rand() * n_countries)
        c2 = (c1 + 1 + int(rand() * (n_countries - 1))) % n_countries
        c3 = c1
        while c3 in (c1, c2):
            c3 = int(rand() * n_countries)
        for slots, c in zip(self._country_slots, (c1, c2, c3)):
            cast.update(slots[c])
        for n in "123":
            cast["P" + n] = f"{_pick(rng, FIRST_NAMES)} {_pick(rng, LAST_NAMES)}"
        cast["ORG"], cast["ORGA"] = _pick(rng, ORGS)
        cast["VC"], cast["VN"] = _pick(rng, VENUES)
        cast["TOPIC"] = _pick(rng, TOPICS)
        cast["AGENCY"] = _pick(rng, AGENCIES)
        cast["AGENCYUP"] = cast["AGENCY"].upper()
        cast["DATE"] = f"{MONTHS[published.month - 1]} {published.day}, {published.year}"
        cast["WEEKDAY"] = WEEKDAYS[published.weekday()]
        cast.update(zip(self._synonym_keys, _pick(rng, self._synonym_choices)))
        return cast

    def _english_body(self, rng: random.Random, cast: Cast) -> tuple:
        """Body paragraphs recombined from whole seed paragraphs, sentence pairs/triples and subheads."""
        rand, fill = rng.random, cast.fill
        sentences, seed_paragraphs, joined = self.pool.sentences, self.pool.paragraphs, self._paragraph_templates
        subheads = self.pool.subheads
        n_sentences, n_paragraphs = len(sentences), len(seed_paragraphs)
        target = min(12000, max(900, rng.lognormvariate(BODY_LOG_MEDIAN, 0.35)))
        used = bytearray(n_sentences)
        is_used = used.__getitem__
        paragraphs, size, n_used = [], 0, 0
        for _ in range(400):
            if size >= target or n_used >= n_sentences - 3:
                break
            roll = rand()
            if roll < 0.41:  # a whole seed paragraph
                k = int(rand() * n_paragraphs)
                ids = seed_paragraphs[k]
                template = joined[k]
            elif roll < 0.45 and paragraphs and subheads:
                paragraphs.append(fill(subheads[int(rand() * len(subheads))]))
                continue
            else:  # one to three random sentences
                ids = {int(rand() * n_sentences) for _ in range(1 + int(rand() * 3))}
                template = None
            if any(map(is_used, ids)):
                continue
            for s in ids:
                used[s] = 1
            n_used += len(ids)
            text = fill(template or " ".join([sentences[s] for s in ids]))
            paragraphs.append(text)
            size += len(text) + 2
        return tuple(paragraphs)

    def _foreign_body(self, rng: random.Random, cast: Cast, lang: str) -> tuple:
        """Body paragraphs of one to three sentences drawn without repetition from the language's pool."""
        sentences = self.foreign[lang]
        order = rng.sample(range(len(sentences)), rng.randint(9, 20))
        paragraphs = []
        while order:
            take = min(len(order), _pick(rng, (1, 2, 2, 3)))
            paragraphs.append(cast.fill(" ".join([sentences[s] for s in order[:take]])))
            order = order[take:]
        return tuple(paragraphs)

    def article(self, index: int) -> tuple[Article, int, datetime, Planted | None]:
        """Article index with its host outlet and date, and how it was planted if it is a duplicate."""
        source = self.source_of(index)
        if source is None:
            article = self.original(index)
            return article, article.outlet, article.published, None
        original = self.original(source)
        rng = random.Random(_hash64(self.seed, index, "plant"))
        same_lang = self.by_lang[original.lang]
        others = [k for k in same_lang if k != original.outlet] or same_lang
        published = original.published + timedelta(minutes=rng.randint(10, 72 * 60))
        if rng.random() < EXACT_SHARE:
            host = rng.choice(others)
            return original, host, published, Planted(source, "exact", f"verbatim repost by {self.outlets[host].name}")
        host = rng.choice(others) if rng.random() < 0.5 else original.outlet
        edits = [e for e in NEAR_EDITS if e != "boilerplate" or len(same_lang) > 1]
        article, edit = self._near_edit(original, rng.choice(edits), rng)
        if edit.startswith("header/footer"):
            host = article.outlet
        return article, host, published, Planted(source, "near", edit)

    def _near_edit(self, original: Article, kind: str, rng: random.Random) -> tuple[Article, str]:
        """Apply one near-duplicate edit; falls back to changing one word if the edit would change nothing."""
        paragraphs = list(original.paragraphs)
        body_size = sum(map(len, paragraphs))
        # a paragraph of at most a fifth of the body, so the copy stays a near-duplicate
        droppable = [k for k, p in enumerate(paragraphs) if k and len(p) <= body_size / 5]
        if kind == "drop_paragraph" and len(paragraphs) >= 5 and droppable:
            k = _pick(rng, droppable)
            del paragraphs[k]
            return replace(original, paragraphs=tuple(paragraphs)), f"dropped paragraph {k + 1} of {len(paragraphs) + 1}"
        if kind == "rewrap" and any(len(p) > 72 for p in paragraphs):
            return replace(original, wrap=True), "paragraphs re-wrapped at 72 columns"
        text = "".join(paragraphs) + original.headline
        curly, straight = bool(re.search("[“”‘’]", text)), bool(re.search("[\"']", text))
        if kind == "quotes" and curly and (not straight or rng.random() < 0.5):
            return replace(original, quotes="straight"), "curly quotes made straight"
        if kind == "quotes" and straight:
            return replace(original, quotes="curly"), "straight quotes made curly"
        if kind == "boilerplate":
            host = rng.choice([k for k in self.by_lang[original.lang] if k != original.outlet])
            return (replace(original, outlet=host),
                    f"header/footer of {self.outlets[host].name} instead of {self.outlets[original.outlet].name}")
        return self._change_word(original, rng)

    def _change_word(self, original: Article, rng: random.Random) -> tuple[Article, str]:
        """Replace one word of one paragraph with a different word taken from elsewhere in the article."""
        paragraphs = list(original.paragraphs)
        vocabulary = sorted({w for p in paragraphs for w in re.findall(r"\b[^\W\d_]{5,}\b", p)})
        candidates = [k for k, p in enumerate(paragraphs) if re.search(r"\b[^\W\d_]{5,}\b", p)]
        k = rng.choice(candidates)
        match = rng.choice(list(re.finditer(r"\b[^\W\d_]{5,}\b", paragraphs[k])))
        old = match.group()
        new = rng.choice([w for w in vocabulary if w != old] or [old[::-1]])
        paragraphs[k] = paragraphs[k][:match.start()] + new + paragraphs[k][match.end():]
        return replace(original, paragraphs=tuple(paragraphs)), f"word '{old}' -> '{new}' in paragraph {k + 1}"


# --------------------------------------------------------------------------- writing

@dataclass
class Stats:
    """Counts and sizes of one generation run."""

    articles: int = 0
    exact: int = 0
    near: int = 0
    foreign: int = 0
    text_bytes: int = 0
    disk_bytes: int = 0
    files: int = 0
    by_format: dict = field(default_factory=lambda: dict.fromkeys(FORMATS, 0))


def _write_new(out_dir: str, rel_path: str, data: bytes, made_dirs: set) -> None:
    """Write a file that must not exist yet, creating its directory once."""
    parent = rel_path.rpartition("/")[0]
    if parent not in made_dirs:
        os.makedirs(os.path.join(out_dir, parent), exist_ok=True)
        made_dirs.add(parent)
    fd = os.open(os.path.join(out_dir, rel_path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def generate(gen: CorpusGenerator, out_dir: Path, start: int, end: int, truth_file) -> Stats:
    """Write articles start..end-1 under out_dir and their planted duplicates to truth_file."""
    stats = Stats()
    root = str(out_dir)
    made_dirs: set = set()
    pending: list[str] = []  # JSONL lines of the current block, in line order
    pending_path = None

    def flush() -> None:
        """Write the pending JSONL records as one file."""
        if pending:
            data = "".join(pending).encode()
            _write_new(root, pending_path, data, made_dirs)
            stats.disk_bytes += len(data)
            stats.files += 1
            pending.clear()

    for index in range(start, end):
        article, host, published, planted = gen.article(index)
        loc = gen.location(index, article.headline, host, published)
        text = render_text(article, gen.outlets[article.outlet])
        stats.articles += 1
        stats.by_format[loc.fmt] += 1
        stats.foreign += article.lang != "en"
        stats.text_bytes += len(text.encode())
        if loc.fmt == "jsonl":
            if loc.path != pending_path:
                flush()
                pending_path = loc.path
            if loc.line != len(pending) + 1:
                raise AssertionError(f"JSONL line {loc.line} out of order in {loc.path}")
            record = {"text": text, "title": _content(article)[0], "url": loc.url,
                      "published": published.isoformat(), "outlet": gen.outlets[host].name}
            pending.append(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            if loc.fmt == "html":
                text = render_html(article, gen.outlets[article.outlet], gen.outlets[host], published, loc.url)
            data = text.encode()
            _write_new(root, loc.path, data, made_dirs)
            stats.disk_bytes += len(data)
            stats.files += 1
        if planted:
            original = gen.original(planted.source)
            src = gen.location(planted.source, original.headline, original.outlet, original.published)
            setattr(stats, planted.kind, getattr(stats, planted.kind) + 1)
            truth_file.write(json.dumps({
                "path": loc.ref, "duplicate_of": src.ref, "kind": planted.kind, "edit": planted.edit,
                "url": loc.url, "duplicate_of_url": src.url,
            }, ensure_ascii=False) + "\n")
    flush()
    return stats


# --------------------------------------------------------------------------- CLI

def _manifest_path(out_dir: Path) -> Path:
    """Where the manifest of out_dir lives: beside it, not inside it."""
    return out_dir.parent / f"{out_dir.name}-manifest.json"


def _parse_formats(value: str) -> tuple:
    """Comma-separated subset of txt,jsonl,html."""
    formats = tuple(f.strip() for f in value.split(",") if f.strip())
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise argparse.ArgumentTypeError(f"formats must be a comma-separated subset of {','.join(FORMATS)}")
    return formats


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    summary, _, details = __doc__.partition("\n\n")
    parser = argparse.ArgumentParser(description=summary, epilog=details,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path, help="corpus directory to create (or to append to)")
    parser.add_argument("--n", type=int, default=10000, help="articles to write (default 10000)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default 0, or the manifest's)")
    parser.add_argument("--dup-rate", type=float, help="share of planted duplicates (default 0.05, or the corpus's)")
    parser.add_argument("--formats", type=_parse_formats,
                        help="subset of txt,jsonl,html (default all three, or the corpus's)")
    parser.add_argument("--seeds", type=Path, default=DEFAULT_SEEDS, help=f"seed articles (default {DEFAULT_SEEDS})")
    parser.add_argument("--truth", type=Path, help="truth file (default OUT_DIR/../<name>-truth.jsonl)")
    parser.add_argument("--append", action="store_true", help="add --n new articles to an existing corpus")
    parser.add_argument("--add-fraction", type=float, help="append this fraction of the existing count, e.g. 0.01")
    parser.add_argument("--start-index", type=int, help="first new article index (default: 0, or the manifest's end)")
    args = parser.parse_args(argv)
    if args.dup_rate is not None and not 0 <= args.dup_rate < 1:
        parser.error("--dup-rate must be in [0, 1)")
    return args


def main(argv: list[str] | None = None) -> int:
    """Generate (or extend) a corpus and print what was written."""
    args = parse_args(argv)
    out_dir: Path = args.out_dir
    manifest_path = _manifest_path(out_dir)
    truth_path = args.truth or out_dir.parent / f"{out_dir.name}-truth.jsonl"
    appending = args.append or args.add_fraction is not None
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() and appending else None

    if appending:
        if manifest is None and args.start_index is None:
            raise SystemExit(f"append mode needs {manifest_path} or --start-index")
        seed = args.seed if args.seed is not None else (manifest["seed"] if manifest else 0)
        if manifest and seed != manifest["seed"]:
            raise SystemExit(f"--seed {seed} differs from the corpus seed {manifest['seed']}")
        runs = ([Run(r["start"], r["end"], r["dup_rate"], tuple(r["formats"])) for r in manifest["runs"]]
                if manifest else [Run(0, args.start_index, 0.05 if args.dup_rate is None else args.dup_rate, args.formats or FORMATS)])
        existing_end = max(r.end for r in runs)
        start = args.start_index if args.start_index is not None else existing_end
        if start < existing_end and manifest:
            raise SystemExit(f"--start-index {start} overlaps articles already written (up to {existing_end})")
        existing = sum(r.end - r.start for r in runs)
        count = max(1, round(args.add_fraction * existing)) if args.add_fraction is not None else args.n
    else:
        if out_dir.exists() and any(out_dir.iterdir()):
            raise SystemExit(f"{out_dir} is not empty; use --append or --add-fraction to extend it")
        seed = args.seed if args.seed is not None else 0
        runs, start, count = [], args.start_index or 0, args.n

    last = runs[-1] if runs else Run(0, 0, 0.05, FORMATS)
    run = Run(start, start + count, last.dup_rate if args.dup_rate is None else args.dup_rate,
              args.formats or last.formats)
    runs.append(run)
    began = time.perf_counter()
    gen = CorpusGenerator(seed, load_seed_pool(args.seeds), runs)
    out_dir.mkdir(parents=True, exist_ok=True)
    truth_path.parent.mkdir(parents=True, exist_ok=True)
    with open(truth_path, "a" if appending else "w", encoding="utf-8") as truth_file:
        stats = generate(gen, out_dir, run.start, run.end, truth_file)
    elapsed = time.perf_counter() - began

    manifest = {"seed": seed, "seeds_dir": str(args.seeds),
                "runs": [{"start": r.start, "end": r.end, "dup_rate": r.dup_rate, "formats": list(r.formats)}
                         for r in runs]}
    tmp = manifest_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    tmp.replace(manifest_path)

    formats = ", ".join(f"{f} {n}" for f, n in stats.by_format.items() if n)
    print(f"wrote {stats.articles} articles (indices {run.start}..{run.end - 1}) to {out_dir} in {elapsed:.1f} s "
          f"({stats.articles / elapsed:,.0f} articles/s)")
    print(f"  formats: {formats}; files: {stats.files}; non-English: {stats.foreign}")
    print(f"  average article text: {stats.text_bytes / max(stats.articles, 1):,.0f} bytes; "
          f"on disk: {stats.disk_bytes / 1e6:,.1f} MB")
    print(f"  planted duplicates: {stats.exact} exact, {stats.near} near -> {truth_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
