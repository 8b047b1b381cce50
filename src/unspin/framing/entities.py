"""Group entity mentions into entities: which mentions in one article name the same actor, and what to call it.

Pure text logic, no model. The input is the mention spans another stage found (character offsets into the
article, end exclusive); the output is one `Entity` per actor, with its mentions untouched and sorted.

How two mentions come to be the same entity, in order:

1. **Same name after normalisation** (`normalise_name`): case, accents on Latin letters, quotes and punctuation,
   dotted acronyms (`U.S.` = `US`), an English possessive (`Zelensky's`), leading articles (English `the/a/an`,
   Portuguese `o/a/os/as/do/da/...`). Per language, for matching only:
   - Russian and Bulgarian: one case ending (Russian) or up to two article/plural endings (Bulgarian) are cut
     from each word, so `Путин/Путина/Путину` and `Западът/Запада/Запад` meet. Words written in capitals
     (`США`, `ВСУ`, `НАТО`) are acronyms and are never cut. Surnames in `-ов/-ев` keep those letters (`Песков`
     and `Пескова` meet), so the genitive plural of common nouns is listed where needed (`Соединенных Штатов`).
   - Hindi: postpositions written as separate words after a name (`का की के ने को से में पर`) are dropped;
     attached ones are not cut, because many names end in the same letters (`मास्को`, `श्रीलंका`, `तुर्की`).
     Spelling variants of transliterated names meet: nukta, candrabindu and a half nasal before a consonant
     (`नरेन्द्र` = `नरेंद्र`), `ॉ` = `ा`, long = short i/u, virama; the oblique plural `-ों` is cut (`देशों` = `देश`).
   - Latin script: Slavic surname endings `-iy/-yy/-yi/-ij` read as `-y` (`Zelenskiy` = `Zelensky`).
2. **A parenthesis**: `Organização do Tratado do Atlântico Norte (NATO)` joins both the long name and `NATO`.
3. **The alias table** (`ALIASES`, 15 actors in the five languages): `the US / United States / America`,
   `Russia / Russian Federation / the Kremlin`, ... Each entity so found carries the actor's id in
   `Entity.actor`, the same in every language, so a corpus can count actors across languages.
   *Capitals* (Washington, Moscow, Kyiv/Kiev, Brussels, Beijing, London, ...) name a government only where the
   text uses them as an actor: "Moscow said", "Washington's sanctions", "arms for Kyiv". A capital is also
   a place: "a concert in Moscow", "shelling near Kyiv" is about the city, and the city as a victim is not the
   state as an actor. The rule (simple and testable): a capital joins its country unless the word right before
   it is a locative preposition (`in, at, near, outside, ...`, `em, no, na, perto`, `в, во, под, около`,
   `в, във, около, край`) or, in Hindi, the word right after it is `में` or `के पास`. A locative capital stays
   an entity of its own (its mentions grouped by name). A positive cue (a following speech verb) was not
   chosen: it would miss most political uses ("Washington's support", "sanctions imposed by Moscow").
   A multi-word name is matched whole: `Washington Post` and `Minsk agreements` are not aliases.
4. **People**: names whose words are capitalised (any word in Devanagari), without function words, organisation
   words (`government`, `армия`, `सरकार`, ...) or a trailing acronym, are compared by their last word (the
   surname) and their given names, titles set aside (`President`, `राष्ट्रपति`, `PM`, ...): given names must
   agree word for word (equal, an initial, a prefix, or a near spelling: `Dmitry/Dmitri`). A surname alone
   (`Putin`) or a title and surname (`President Putin`) joins the one full name it fits (`Vladimir Putin`);
   when two people in the article share the surname (`Joe Biden`, `Hunter Biden`) it stays apart.

The entity's name is the most complete form seen in the article, taken from the mention text itself (trimmed
of quotes, articles, a possessive, a person's titles and trailing punctuation; never rewritten): the country's
own name before its capital or the Kremlin, a form in no oblique case (Russian), then the most name words, the
fewest titles, the least inflected, the longest, the most frequent, the first. Entities come sorted by first
mention; mentions by offset; offsets are never changed.

Cost: every distinct mention text is parsed once; people are compared only within a surname, so the work grows
with the number of mentions plus the square of the number of distinct names sharing one surname (capped at
200 forms per surname; past the cap, forms meet only when equal).
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

LANGUAGES = ("en", "bg", "hi", "pt", "ru")


@dataclass
class Mention:
    """One mention of an entity: `text[start:end]` of the article (end exclusive)."""

    start: int
    end: int
    text: str
    score: float = 1.0


@dataclass
class Entity:
    """An actor and its mentions in one article; `actor` is the alias table's id (e.g. "US") or None."""

    name: str
    mentions: list[Mention] = field(default_factory=list)
    actor: str | None = None


# --- the alias table -------------------------------------------------------------------------------------------
# actor id -> language -> (names, places standing for the government: the capital, the Kremlin). Forms are
# matched whole after normalisation (so inflected Russian forms need not be listed); places only where the
# context is not locative (see the module docstring). Spelling variants of Hindi names meet after folding.
ALIASES: dict[str, dict[str, tuple[str, str]]] = {
    "US": {
        "en": ("United States|United States of America|US|USA|America", "Washington"),
        "bg": ("САЩ|Съединените щати|Съединени щати|Съединените американски щати|Америка|Щатите", "Вашингтон"),
        "ru": ("США|Соединенные Штаты|Соединенные Штаты Америки|Соединенных Штатов|Соединенных Штатов Америки"
               "|Америка|Штаты|Штатов", "Вашингтон"),
        "pt": ("Estados Unidos|Estados Unidos da América|EUA|América", "Washington|Washington DC"),
        "hi": ("अमेरिका|अमरीका|संयुक्त राज्य अमेरिका|संयुक्त राज्य|यूएसए|USA|US", "वॉशिंगटन|वाशिंगटन"),
    },
    "RU": {
        "en": ("Russia|Russian Federation", "Moscow|Kremlin"),
        "bg": ("Русия|Руската федерация|Руска федерация|РФ", "Москва|Кремъл"),
        "ru": ("Россия|Российская Федерация|РФ", "Москва|Кремль"),
        "pt": ("Rússia|Federação Russa|Federação da Rússia", "Moscovo|Moscou|Kremlin"),
        "hi": ("रूस|रशिया|रूसी संघ|रूसी फेडरेशन", "मॉस्को|क्रेमलिन"),
    },
    "UA": {
        "en": ("Ukraine", "Kyiv|Kiev"),
        "bg": ("Украйна", "Киев"),
        "ru": ("Украина", "Киев"),
        "pt": ("Ucrânia", "Kiev|Kyiv|Quieve"),
        "hi": ("यूक्रेन|उक्रेन", "कीव|कीएव"),
    },
    "EU": {
        "en": ("EU|European Union", "Brussels"),
        "bg": ("ЕС|Европейският съюз|Европейски съюз|Евросъюз", "Брюксел"),
        "ru": ("ЕС|Евросоюз|Европейский союз", "Брюссель"),
        "pt": ("UE|União Europeia", "Bruxelas"),
        "hi": ("यूरोपीय संघ|ईयू|EU", "ब्रसेल्स|ब्रुसेल्स"),
    },
    "NATO": {
        "en": ("NATO|North Atlantic Treaty Organization|North Atlantic Alliance", ""),
        "bg": ("НАТО|Северноатлантическият алианс|Северноатлантически алианс", ""),
        "ru": ("НАТО|Североатлантический альянс", ""),
        "pt": ("NATO|OTAN|Organização do Tratado do Atlântico Norte|Aliança Atlântica", ""),
        "hi": ("नाटो|NATO|उत्तर अटलांटिक संधि संगठन", ""),
    },
    "UN": {
        "en": ("UN|United Nations", ""),
        "bg": ("ООН|Организацията на обединените нации", ""),
        "ru": ("ООН|Организация Объединенных Наций", ""),
        "pt": ("ONU|Nações Unidas|Organização das Nações Unidas", ""),
        "hi": ("संयुक्त राष्ट्र|यूएन|UN", ""),
    },
    "CN": {
        "en": ("China|People's Republic of China|PRC", "Beijing"),
        "bg": ("Китай|КНР", "Пекин"),
        "ru": ("Китай|КНР", "Пекин"),
        "pt": ("China|República Popular da China", "Pequim"),
        "hi": ("चीन", "बीजिंग"),
    },
    "UK": {
        "en": ("UK|United Kingdom|Britain|Great Britain", "London"),
        "bg": ("Великобритания|Обединеното кралство|Британия", "Лондон"),
        "ru": ("Великобритания|Британия|Соединенное Королевство", "Лондон"),
        "pt": ("Reino Unido|Grã-Bretanha", "Londres"),
        "hi": ("ब्रिटेन|यूनाइटेड किंगडम|यूके|UK", "लंदन"),
    },
    "WEST": {
        "en": ("West|Western countries|Western nations", ""),
        "bg": ("Запад|западните страни|западни страни|западни държави", ""),
        "ru": ("Запад|западные страны", ""),
        "pt": ("Ocidente|países ocidentais", ""),
        "hi": ("पश्चिम|पश्चिमी देश", ""),
    },
    "DE": {
        "en": ("Germany", "Berlin"), "bg": ("Германия", "Берлин"), "ru": ("Германия|ФРГ", "Берлин"),
        "pt": ("Alemanha", "Berlim"), "hi": ("जर्मनी", "बर्लिन"),
    },
    "FR": {
        "en": ("France", "Paris"), "bg": ("Франция", "Париж"), "ru": ("Франция", "Париж"),
        "pt": ("França", "Paris"), "hi": ("फ्रांस", "पेरिस"),
    },
    "IN": {
        "en": ("India", "New Delhi"), "bg": ("Индия", "Ню Делхи"), "ru": ("Индия", "Нью-Дели"),
        "pt": ("Índia", "Nova Deli|Nova Délhi"), "hi": ("भारत|हिंदुस्तान", "नई दिल्ली"),
    },
    "IL": {
        "en": ("Israel", ""), "bg": ("Израел", ""), "ru": ("Израиль", ""), "pt": ("Israel", ""),
        "hi": ("इज़राइल|इजरायल|इसराइल|इस्राइल", ""),
    },
    "BR": {
        "en": ("Brazil", "Brasília"), "bg": ("Бразилия", ""), "ru": ("Бразилия", ""),
        "pt": ("Brasil", "Brasília"), "hi": ("ब्राज़ील", ""),
    },
    "BY": {
        "en": ("Belarus", "Minsk"), "bg": ("Беларус", "Минск"), "ru": ("Беларусь|Белоруссия", "Минск"),
        "pt": ("Bielorrússia|Belarus", "Minsk"), "hi": ("बेलारूस", "मिन्स्क"),
    },
}

# --- word lists (matched after normalisation and stemming, so inflected forms count) ----------------------------
_ARTICLES = {"en": "the a an", "pt": "o a os as do da dos das no na nos nas ao aos à às pelo pela um uma"}
_TITLES = {
    "en": "president prime minister pm mr mrs ms dr chancellor mayor general gen senator sen secretary ambassador"
          " spokesman spokeswoman spokesperson king queen pope sir lord governor commander leader vice deputy"
          " foreign defence defense premier former late",
    "pt": "presidente primeiro ministro ministra sr sra dr chanceler prefeito presidenta governador general"
          " porta voz rei rainha papa líder vice secretário secretária embaixador",
    "ru": "президент премьер министр глава мэр генерал госсекретарь посол пресс секретарь спикер лидер"
          " канцлер губернатор командующий экс бывший господин",
    "bg": "президент президентът премиер министър министърът кмет генерал посланик говорител лидер канцлер"
          " губернатор бившият бивш господин",
    "hi": "राष्ट्रपति प्रधानमंत्री प्रधानमन्त्री पीएम pm श्री श्रीमती मंत्री विदेश रक्षा जनरल राजदूत प्रवक्ता नेता"
          " चांसलर पूर्व",
}
_FUNCTION_WORDS = {
    "en": "of and for in on to by with at from",
    "pt": "de da do dos das e para em com por no na",
    "ru": "и в во на по для с со из от о об к у",
    "bg": "на и в във за от с със по към до",
    "hi": "का की के ने को से में पर और तथा द्वारा तक",
}
# Allowed inside a person's name (never as its last word): "Ursula von der Leyen", "Lula da Silva".
_PARTICLES = set("von van der den de da di du del dos das do bin ibn al el la le ter ten".split())
_ORG_WORDS = {
    "en": "government administration army forces force military ministry party group council committee union"
          " republic federation kingdom states court bank agency service services office department commission"
          " organization organisation alliance regime troops officials authorities police navy command fund"
          " parliament congress senate institute university movement front region city oblast province county"
          " district sea river gulf island islands people media company corporation",
    "pt": "governo exército forças força ministério partido grupo conselho comissão união república federação"
          " reino estados tribunal banco agência serviço serviços procuradoria organização aliança regime tropas"
          " autoridades polícia estado departamento assembleia parlamento câmara instituto universidade"
          " movimento frente região cidade rio mar golfo ilha povo media empresa",
    "ru": "правительство администрация армия силы войска министерство партия группа совет комитет союз"
          " республика федерация королевство штаты суд банк агентство служба спецслужбы ведомство комиссия"
          " организация альянс режим власти полиция парламент дума госдума конгресс сенат движение фронт"
          " область город регион край море река народ сми компания",
    "bg": "правителство администрация армия сили войски министерство партия група съвет комитет съюз"
          " република федерация кралство щати съд банка агенция служба служби комисия организация алианс"
          " режим власти полиция парламент събрание движение фронт област град регион море река народ медии"
          " компания",
    "hi": "सरकार सेना मंत्रालय पार्टी दल समूह परिषद समिति संघ गणराज्य न्यायालय अदालत बैंक एजेंसी सेवा विभाग आयोग"
          " संगठन गठबंधन शासन अधिकारी पुलिस संसद देश राज्य क्षेत्र शहर मीडिया बल सैनिक लड़ाके जनता लोग",
}
_LOCATIVE_BEFORE = {
    "en": "in at near outside inside around across within central downtown",
    "pt": "em no na nos nas perto junto arredores",
    "ru": "в во под около возле вблизи близ",
    "bg": "в във около край близо",
    "hi": "",
}
_HI_LOCATIVE_AFTER = ("में", "मे", "के पास", "के निकट", "के बाहर")
_HI_TRAILING = "का की के ने को से में पर तक द्वारा जी"

# One Russian case ending is cut; "-ов/-ев" and "-ей" are left to surnames (Песков, Сергей).
_RU_ENDINGS = sorted(
    "иями ями ами ией ием ого его ому ему ыми ими ой ий ый ая яя ое ее ые ие ых их ым им ую юю ом ем ам ям ах ях"
    " ью ия ии ию а я ы и у ю е о ь й".split(), key=len, reverse=True)
_RU_NOMINATIVE = {"", "ий", "ый", "ой", "ия", "ая", "ое", "ые", "ие", "ь", "й"}
_BG_ENDINGS = sorted("ите ове ът ят та то те а я и е".split(), key=len, reverse=True)
_HI_ENDINGS = ("ों", "ओं")
_MIN_STEM = 3
_MAX_NAMES_PER_SURNAME = 200  # distinct name forms compared pairwise within one surname


def _language(language: str | None) -> str | None:
    if not language:
        return None
    code = re.split(r"[-_]", language.strip().lower())[0]
    return code if code in LANGUAGES else None


# --- normalisation ---------------------------------------------------------------------------------------------
_QUOTES = "\"'`´«»“”„‟‘’‚‛‹›「」"
_EDGE = _QUOTES + " \t\r\n.,;:!?()[]{}-–—/|*•…"
_DOTTED_ACRONYM = re.compile(r"(?<!\w)((?:\w\.)+\w)\.?(?!\.?\w)")
_POSSESSIVE = re.compile(r"(?<=\w)['’]s\b|(?<=s)['’](?=\s|$)", re.IGNORECASE)
_HALF_NASAL = re.compile("[ङञणनम]\u094d(?=[क-ह])")
_DEVANAGARI_MAP = str.maketrans({
    "\u093c": None, "\u094d": None, "\u200c": None, "\u200d": None,  # nukta, virama, ZWNJ, ZWJ
    "\u0901": "\u0902", "\u0949": "\u093e", "\u0940": "\u093f", "\u0942": "\u0941",  # ँ→ं ॉ→ा ी→ि ू→ु
    "\u0908": "\u0907", "\u090a": "\u0909",  # ई→इ ऊ→उ
})
_LATIN_SLAVIC = re.compile(r"(?<=[a-z])(?:iy|yy|yi|ij)$")


def _fold(token: str) -> str:
    """Case, accents on Latin letters, ё, and the Devanagari spelling variants (see the module docstring)."""
    token = unicodedata.normalize("NFD", token.casefold())
    out: list[str] = []
    for ch in token:
        if unicodedata.combining(ch) and out and "a" <= out[-1] <= "z" and ch != "\u093c":
            continue  # an accent on a Latin letter; Cyrillic й/ё keep theirs
        out.append(ch)
    token = unicodedata.normalize("NFC", "".join(out)).replace("ё", "е")
    if any("\u0900" <= ch <= "\u097f" for ch in token):
        token = _HALF_NASAL.sub("\u0902", unicodedata.normalize("NFD", token)).translate(_DEVANAGARI_MAP)
    return _LATIN_SLAVIC.sub("y", token)


def _cut(token: str, endings: Iterable[str]) -> tuple[str, str]:
    for ending in endings:
        if token.endswith(ending) and len(token) - len(ending) >= _MIN_STEM:
            return token[: -len(ending)], ending
    return token, ""


def _stem(token: str, language: str | None) -> tuple[str, int]:
    """The matching stem of a folded word and how far it looks from a citation form (0: nominative, 3: oblique)."""
    if language == "ru":
        stem, ending = _cut(token, _RU_ENDINGS)
        if ending in _RU_NOMINATIVE:
            return stem, 0
        return stem, 1 if ending in ("а", "я") else 2 if ending in ("ы", "и") else 3  # 1-2: maybe nominative
    if language == "bg":
        stem, first = _cut(token, _BG_ENDINGS)
        stem, second = _cut(stem, _BG_ENDINGS) if first else (stem, "")
        return stem, 0 if first in ("", "ът", "ят") else 1
    if language == "hi" or (language is None and any("\u0900" <= ch <= "\u097f" for ch in token)):
        stem, ending = _cut(token, _HI_ENDINGS)
        return stem, 1 if ending else 0
    return token, 0


def _raw_tokens(surface: str, language: str | None) -> list[str]:
    """Words of a trimmed mention, punctuation removed; dotted acronyms and possessives undone first."""
    s = _DOTTED_ACRONYM.sub(lambda m: m.group(1).replace(".", ""), surface)
    if language in (None, "en"):
        s = _POSSESSIVE.sub("", s)
    s = s.replace("'", "").replace("’", "")
    kept = [ch if unicodedata.category(ch)[0] in "LMN" else " " for ch in s]
    return "".join(kept).split()


def _is_acronym(raw: str) -> bool:
    return len(raw) >= 2 and raw.isupper()


@dataclass
class _Name:
    """One distinct mention text, parsed once."""

    surface: str  # the displayable form: a slice of the mention text
    raw: list[str]  # its words as written
    key: tuple[str, ...]  # stemmed, folded words: what "the same name" means
    penalty: int = 0  # inflection distance from a citation form
    oblique: bool = False  # a word in a clearly oblique case (Russian "Соединенных Штатов")
    inner: _Name | None = None  # the part in parentheses, if any
    person: bool = False
    given: tuple[str, ...] = ()  # given names (titles removed), for people
    name_words: int = 0
    titles: int = 0


class _Rules:
    """Word lists and the alias table for one language (None: every language's lists, and of the stemmers only
    the Hindi one, which its script selects)."""

    def __init__(self, language: str | None) -> None:
        self.language = language
        langs = [language] if language else list(LANGUAGES)

        def words(table: dict[str, str]) -> set[str]:
            return {self.stem_word(w) for lang in langs for w in table.get(lang, "").split()}

        self.articles = {_fold(w) for lang in langs for w in _ARTICLES.get(lang, "").split()}
        self.titles = words(_TITLES)
        self.function_words = words(_FUNCTION_WORDS)
        self.org_words = words(_ORG_WORDS)
        self.locative_words = {_fold(w) for lang in langs for w in _LOCATIVE_BEFORE[lang].split()}
        self.hi_trailing = {_fold(w) for w in _HI_TRAILING.split()} if "hi" in langs else set()
        # key -> (actor, is capital, needs capitals: an all-caps form like "US" is not the pronoun "us")
        self.aliases: dict[tuple[str, ...], tuple[str, bool, bool]] = {}
        for actor, per_language in ALIASES.items():
            for lang in langs:
                names, capitals = per_language.get(lang, ("", ""))
                for form, is_capital in [(n, False) for n in names.split("|") if n] + [
                    (c, True) for c in capitals.split("|") if c
                ]:
                    key = self.parse(form).key
                    self.aliases.setdefault(key, (actor, is_capital, form.isupper()))

    def stem_word(self, word: str) -> str:
        return _stem(_fold(word), self.language)[0]

    def parse(self, text: str) -> _Name:
        surface, inner_text = _split_parenthesis(_trim(text))
        if self.language in (None, "en"):
            surface = re.sub(r"(?<=\w)['’]s$|(?<=s)['’]$", "", surface)
        raw = _raw_tokens(surface, self.language)
        folded = [_fold(w) for w in raw]
        while len(folded) > 1 and folded[0] in self.articles:
            raw, folded = raw[1:], folded[1:]
            surface = _drop_leading_word(surface)
        while len(folded) > 1 and folded[-1] in self.hi_trailing:
            raw, folded = raw[:-1], folded[:-1]
            surface = _drop_trailing_word(surface)
        if not surface:
            surface = text.strip() or text
        key: list[str] = []
        penalty, oblique = 0, False
        for word, fold in zip(raw, folded, strict=True):
            stem, distance = (fold, 0) if _is_acronym(word) else _stem(fold, self.language)
            key.append(stem)
            penalty += distance
            oblique = oblique or distance >= 3
        name = _Name(surface=surface, raw=raw, key=tuple(key), penalty=penalty, oblique=oblique)
        if inner_text:
            name.inner = self.parse(inner_text)
        self._describe_person(name)
        return name

    def _describe_person(self, name: _Name) -> None:
        pairs = list(zip(name.raw, name.key, strict=True))
        titles = [i for i, (_, key) in enumerate(pairs) if key in self.titles]
        name.titles = len(titles)
        name.name_words = sum(1 for _, key in pairs if key not in self.titles and key not in self.function_words)
        # a person's name is what follows the last title: "Kyiv Mayor Vitali Klitschko" -> "Vitali Klitschko"
        words = pairs[titles[-1] + 1:] if titles else pairs
        if not words or name.inner is not None:
            return
        last_raw, last_key = words[-1]
        if _is_acronym(last_raw) or last_key in self.function_words or any(ch.isdigit() for ch in last_raw):
            return
        for i, (raw, key) in enumerate(words):
            if key in self.org_words:
                return
            if (raw.casefold() in _PARTICLES or (len(raw) == 1 and raw.isupper())) and i < len(words) - 1:
                continue  # "von der Leyen", "В. Зеленски"
            if key in self.function_words or (raw[0].isalpha() and raw[0].lower() != raw[0].upper()
                                              and not raw[0].isupper()):
                return
        if self.language == "hi" and name.penalty:
            return  # an oblique plural ("मुसलमानों", "एजेंटों") is a common noun, not a name
        name.person = True
        name.given = tuple(key for _, key in words[:-1])
        if titles:  # show the name without the titles before it
            name.surface, name.titles = _after_word(name.surface, name.raw[: titles[-1] + 1]), 0

    def alias(self, name: _Name) -> tuple[str, bool] | None:
        hit = self.aliases.get(name.key)
        if hit is None:
            return None
        actor, is_capital, needs_caps = hit
        if needs_caps and all(w == w.lower() for w in name.raw):
            return None
        return actor, is_capital

    def locative(self, text: str, mention: Mention) -> bool:
        """Is the capital at this mention a place ("in Moscow") rather than a government ("Moscow said")?"""
        before = [_fold(w) for w in re.findall(r"[^\W\d_]+", text[max(0, mention.start - 30): mention.start])]
        if before and before[-1] in self.articles:  # "in the Kremlin"
            before.pop()
        if before and before[-1] in self.locative_words:
            return True
        if "hi" in ([self.language] if self.language else LANGUAGES):
            after = " ".join(text[mention.end: mention.end + 20].split())
            return any(after.startswith(w) and (len(after) == len(w) or not after[len(w)].isalpha()
                                                and unicodedata.category(after[len(w)])[0] != "M")
                       for w in _HI_LOCATIVE_AFTER)
        return False


def _trim(text: str) -> str:
    return text.strip(_EDGE)  # "(NATO)" loses its closing parenthesis here; _split_parenthesis allows for it


def _split_parenthesis(text: str) -> tuple[str, str]:
    m = re.fullmatch(r"(.*?\S)\s*\(([^()]+)\)?", text, flags=re.DOTALL)
    if m and m.group(2).strip(_EDGE):
        return m.group(1).strip(_EDGE), m.group(2).strip(_EDGE)
    return text, ""


def _after_word(surface: str, words: list[str]) -> str:
    """The part of `surface` after the last of `words` (found in order); `surface` itself if they are not there."""
    pos = 0
    for word in words:
        found = surface.find(word, pos)
        if found < 0:
            return surface
        pos = found + len(word)
    return surface[pos:].strip(_EDGE) or surface


def _drop_leading_word(surface: str) -> str:
    return surface.split(None, 1)[1].lstrip(_EDGE) if len(surface.split(None, 1)) > 1 else surface


def _drop_trailing_word(surface: str) -> str:
    return surface.rsplit(None, 1)[0].rstrip(_EDGE) if len(surface.rsplit(None, 1)) > 1 else surface


_RULES: dict[str | None, _Rules] = {}


def _rules(language: str | None) -> _Rules:
    code = _language(language)
    if code not in _RULES:
        _RULES[code] = _Rules(code)
    return _RULES[code]


def normalise_name(text: str, language: str | None = None) -> str:
    """The matching form of a name: `"the U.S.'s"` → `"us"`, `"Путина"` → `"путин"` (ru). For matching only."""
    return " ".join(_rules(language).parse(text).key)


# --- grouping --------------------------------------------------------------------------------------------------
class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, node: str) -> str:
        self.parent.setdefault(node, node)
        root = node
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[node] != root:
            self.parent[node], node = root, self.parent[node]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)  # "actor:..." sorts before "key:...": actors stay roots


def _edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _same_given_name(a: str, b: str) -> bool:
    short, long = sorted((a, b), key=len)
    if short == long or (len(short) == 1 and long.startswith(short)):
        return True
    if len(short) >= 2 and long.startswith(short):  # Vlad / Vladimir, Al / Albert
        return True
    return len(short) >= 4 and _edit_distance(short, long) <= len(long) // 4  # Dmitry / Dmitri


def _fits(given: tuple[str, ...], fuller: tuple[str, ...]) -> bool:
    """Every given name of the shorter form agrees with a different given name of the fuller form."""
    free = list(fuller)
    for word in given:
        match = next((i for i, other in enumerate(free) if _same_given_name(word, other)), None)
        if match is None:
            return False
        free.pop(match)
    return True


def _cluster_people(people: dict[str, _Name], uf: _UnionFind) -> None:
    """Join forms of one person's name that share a surname; a form that fits two people stays apart."""
    by_surname: dict[str, list[tuple[str, _Name]]] = defaultdict(list)
    for node, name in people.items():
        by_surname[name.key[-1]].append((node, name))
    for forms in by_surname.values():
        if not 2 <= len(forms) <= _MAX_NAMES_PER_SURNAME:
            continue  # beyond the cap (a list, not an article), forms of a name meet only when they are equal
        forms.sort(key=lambda f: (-len(f[1].given), -sum(map(len, f[1].given)), f[0]))
        clusters: list[tuple[tuple[str, ...], str, bool]] = []  # (fullest given names, node, ambiguous)
        for node, name in forms:
            fitting = [c for c in clusters if not c[2] and _fits(name.given, c[0])]
            if len(fitting) == 1:
                uf.union(fitting[0][1], node)
                continue
            ambiguous = len(fitting) > 1
            same = next((c for c in clusters if c[2] == ambiguous and c[0] == name.given), None) if ambiguous else None
            if same is not None:  # "Biden" and "Mr Biden" beside two Bidens: together, apart from both
                uf.union(same[1], node)
            else:
                clusters.append((name.given, node, ambiguous))


def _check(text: str, mentions: list[Mention]) -> None:
    for i, m in enumerate(mentions):
        if m.start < 0 or m.end < m.start or (text and m.end > len(text)):
            raise ValueError(
                f"mention {i} ({m.text!r}): offsets {m.start}..{m.end} do not fit a text of {len(text)} characters"
            )


def _node(rules: _Rules, name: _Name, text: str, mention: Mention) -> tuple[str, bool]:
    """The grouping node of one name (an actor or a normalised name) and whether it is a place for an actor."""
    hit = rules.alias(name)
    if hit is not None:
        actor, is_place = hit
        if not (is_place and text and rules.locative(text, mention)):
            return "actor:" + actor, is_place
    return "key:" + "\x1f".join(name.key), False


def group_mentions(text: str, mentions: list[Mention], language: str | None = None) -> list[Entity]:
    """Group the mentions of one article into entities (see the module docstring for the rules).

    `text` is the article the offsets refer to (used only to read the words around a capital; may be empty when
    each mention carries its text). A mention without `text` is read from `text[start:end]`. Raises ValueError
    naming the mention whose offsets do not fit the text. The mentions themselves are returned unchanged.
    """
    _check(text, mentions)
    rules = _rules(language)
    parsed: dict[str, _Name] = {}
    uf = _UnionFind()
    node_of: list[str] = []
    is_place: list[bool] = []
    people: dict[str, _Name] = {}
    for i, mention in enumerate(mentions):
        written = mention.text or text[mention.start: mention.end]
        name = parsed.get(written)
        if name is None:
            name = parsed[written] = rules.parse(written)
        if not name.key:
            node, place = f"solo:{i}", False
        else:
            node, place = _node(rules, name, text, mention)
            if name.inner is not None and name.inner.key:
                uf.union(node, _node(rules, name.inner, text, mention)[0])
            if name.person and node.startswith("key:") and name.key not in rules.aliases:
                people[node] = name
        uf.find(node)
        node_of.append(node)
        is_place.append(place)
    _cluster_people(people, uf)

    groups: dict[str, list[int]] = defaultdict(list)
    for i, node in enumerate(node_of):
        groups[uf.find(node)].append(i)
    entities = []
    for root, members in groups.items():
        members.sort(key=lambda i: (mentions[i].start, mentions[i].end))
        name = _entity_name([(parsed[mentions[i].text or text[mentions[i].start: mentions[i].end]],
                              is_place[i], mentions[i].start) for i in members])
        actor = root[len("actor:"):] if root.startswith("actor:") else None
        entities.append(Entity(name=name, mentions=[mentions[i] for i in members], actor=actor))
    entities.sort(key=lambda e: (e.mentions[0].start, e.mentions[0].end))
    return entities


def _entity_name(forms: list[tuple[_Name, bool, int]]) -> str:
    """The most complete form: a country's name before its capital, a form in no oblique case, then the most
    name words, the fewest titles, the least inflected, the longest, the most frequent, the first."""
    counts: dict[str, int] = defaultdict(int)
    for name, _, _ in forms:
        counts[name.surface] += 1

    def rank(form: tuple[_Name, bool, int]) -> tuple[int, ...]:
        name, place, start = form
        return (not place, not name.oblique, name.name_words, -name.titles, -name.penalty, len(name.surface),
                counts[name.surface], -start)

    best = max(forms, key=rank)[0]
    return best.surface
