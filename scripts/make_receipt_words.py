"""Make the receipt-code word lists: haven/replies/words/{en,ru,uk}.txt.

Run from the repository root in a throwaway environment holding exactly the
pinned sources below (they are not Haven dependencies; the lists are committed):

    python3 -m venv /tmp/words && /tmp/words/bin/pip install \
        wordfreq==3.1.1 pymorphy3==2.0.6 pymorphy3-dicts-ru==2.4.417150.4580142 \
        pymorphy3-dicts-uk==2.4.1.1.1663094765 mnemonic==0.21
    /tmp/words/bin/python scripts/make_receipt_words.py

The rules are written down in docs/replies-v1.md section 1.2, and
tests/haven/replies/test_words.py checks the committed lists against them.
Every choice here is a filter in code, so a reviewer can rerun it and get the
same bytes (the script refuses other versions of its sources).

A requester reads these words off a screen, may say them aloud or write
them on paper, and types them on a phone months later, possibly at a border
with the phone in someone else's hands. So a word must be:
- common and short (4 to 8 letters): easy to read, say and type;
- a noun in its dictionary form (Russian and Ukrainian), not a name, brand,
  abbreviation, slang or obscenity;
- harmless if found: nothing about war, weapons, police, courts, prisons,
  politics, death or crime, which a code written on paper must not suggest;
- distinct: its first four letters name it alone (so no word is a prefix of
  another and autocompletion needs at most four letters), and no other word
  is one typing slip away (one letter changed, added, dropped, or two
  neighbours swapped), which also removes near-homophones like код/кот.
"""

from __future__ import annotations

import importlib.metadata
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

LIST_SIZE = 2048
MIN_LEN, MAX_LEN = 4, 8
PREFIX = 4
OUT = Path(__file__).resolve().parent.parent / "haven" / "replies" / "words"

PINNED = {
    "wordfreq": "3.1.1",
    "pymorphy3": "2.0.6",
    "pymorphy3-dicts-ru": "2.4.417150.4580142",
    "pymorphy3-dicts-uk": "2.4.1.1.1663094765",
    "mnemonic": "0.21",
    "xkcdpass": "1.30.0",
}

# Letters a word may use. Russian: no ё (typed as е by most people, and the
# parser folds it), no ъ (rare, and confused with ь on phone keyboards).
# Ukrainian: no ґ (often typed as г) and no apostrophe (several look-alike
# characters, and phone keyboards hide it).
ALPHABETS = {
    "en": frozenset("abcdefghijklmnopqrstuvwxyz"),
    "ru": frozenset("абвгдежзийклмнопрстуфхцчшщыьэюя"),
    "uk": frozenset("абвгдеєжзиіїйклмнопрстуфхцчшщьюя"),
}

# OpenCorpora grammemes of words that are no good in a code: names,
# surnames, patronymics, places, organisations, trademarks, abbreviations,
# informal, slang, archaic, literary, misspelt or dialect forms.
BAD_GRAMMEMES = frozenset(
    "Name Surn Patr Geox Orgn Trad Abbr Infr Slng Arch Litr Erro Dist Init".split()
)

# Topics a code found on paper or on a phone must not suggest. A word is
# dropped if it starts with one of these stems.
BLOCKED_STEMS = {
    "ru": """
        войн воен вооруж арми солдат оруж бомб ракет танк пул снаряд взрыв выстрел
        стрел пистол автомат граната мина штык смерт убий убит убийц труп кров казн
        пытк тюрьм тюрем камер зона суд судь прокур адвокат полиц милиц арест розыск
        преступ бандит вор краж террор фашист нацист фюрер путин кремл президент
        власт парти выбор протест митинг революц бунт мятеж дезерт мобилиз призыв
        повестк фронт генерал капитан офицер сержант майор полков батальон рота взвод
        штаб шпион развед агент паспорт виза границ беженц наркот героин кокаин секс
        порн проститут суицид самоубий резн расизм насил жертв рвот жоп хуй пизд бляд
        еба дерьм сук гей лесби негр жид хохол москал чечен еврей украин росси русск
        америк немец нем министр депутат санкц оккупац плен заложн враг атак удар бой
        боец бойц конфликт операц флот авиац самолет вертолет дрон батар пушк
        чекист фсб кгб донос следов допрос обыск конфиск прав закон ислам христ церк
        религ бог дьявол черт ад рай мусульм стерв твар гетто колхоз британ барби дур
        грех гроб губерн калибр конвой бункер вампир бардак кладбищ покойн мертв
        свидетел подозр иск приговор хунт генштаб обстрел нардеп курв срач сран говн
        пьян водк алкогол сигарет табак кур ксенофоб педик лох член мигрант эмигр
        таможн допинг насмерт мент зэк урк боевик войск арсенал трибунал банд мошен
        инфаркт опухол рак тойот боинг диас стоун гага сьерр библи морд пив кайф косяк
        наркоз ракш пират маф бандер петух петушок опущен параш бомж шлюх
    """.split(),
    "uk": """
        війн воєн воєнн військ озбро армі солдат зброя зброї бомб ракет танк кул снаряд
        вибух постріл стріл пістолет автомат граната мін багнет смерт вбив вбит вбивц
        труп кров страт катув тюрм тюрем камер зона суд судд прокур адвокат поліц
        міліц арешт розшук злочин бандит злодій крадіж терор фашист нацист фюрер путін
        кремл президент влад парті вибор протест мітинг революц бунт заколот дезерт
        мобіліз призов повістк фронт генерал капітан офіцер сержант майор полков
        батальйон рота взвод штаб шпигун розвід агент паспорт віза кордон біженц
        наркот героїн кокаїн секс порн повія суїцид самогуб різанин расизм насильс
        жертв блюв дуп хуй пизд бляд єба лайн сук гей лесбі негр жид москал чечен
        єврей україн росі русск америк німець німц міністр депутат санкц окупац полон
        заручн ворог атак удар бій бійц боєць конфлікт операц флот авіац літак
        гелікоптер дрон батаре гармат сбу кдб донос слідч допит обшук конфіск прав
        закон іслам христ церк релігі бог диявол чорт пекл рай мусульм кацап курв
        срач барига вилуп дурен дурн нардеп генштаб обстріл хунт покійн мертв цвинтар
        вирок свідок підозр позов буча урал корея сомалі сперм лайно гівн сран
        п'ян горілк алкогол цигарк тютюн курін ксенофоб член мігрант емігр митн
        допінг гетто колгосп британ грізн гріх труна губерн калібр конвой бункер
        вампір безвіз опоблок кндр ескадр воїн гарнізон гвард клинок торпед кілер анус
        збочен байстрюк бордель знищ каліц бостон глум маразм бандер пират маф рак
        пиво бомж повія
    """.split(),
    "en": """
        army armed arms soldier weapon bomb rocket missile tank bullet shell explo
        shot gun pistol rifle grenade mine death dead die kill murder corpse blood
        execut tortur prison jail cell court judge lawyer police cop arrest crime
        criminal thief steal terror fascis nazi putin kremlin president power party
        elect protest riot revolt rebel desert mobil draft front general captain
        officer sergeant major battal spy agent passport visa border refugee drug
        heroin cocaine sex porn suicide massacre racis violen victim vomit ass shit
        fuck damn bitch gay negro jew russia ukrain americ german minister sanction
        occup hostage enemy attack strike battle fight conflict warfare navy fleet
        plane drone cannon church god devil hell heaven islam christ religio sin
        stupid ugly fat naked kiss drunk coffin grave funeral corpse beer wine vodka
        whisk cigar tobacco smok casino gambl smith apache java skype inmate ambush
        brigade bunker alcohol autism cancer tumor pirate mafia bandit xbox yahoo destroy
    """.split(),
}

# Words that pass every rule above yet are still poor choices (named one by
# one, with the reason in the heading).
EXCLUDED = {
    "ru": set(),
    "uk": set(),
    "en": set(),
}


def _check_sources() -> None:
    for name, version in PINNED.items():
        found = importlib.metadata.version(name)
        if found != version:
            sys.exit(f"{name} {found} is installed; this script makes the lists from {version}")


def _close(a: str, b: str) -> bool:
    """True if b is one typing slip from a (optimal string alignment distance <= 1)."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long_ = (a, b) if la < lb else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def _blocked(word: str, lang: str) -> bool:
    return word in EXCLUDED[lang] or any(word.startswith(s) for s in BLOCKED_STEMS[lang])


def _grammemes(parse: object) -> list[str]:
    return str(parse.tag).replace(" ", ",").split(",")  # type: ignore[attr-defined]


def _is_plain_noun(morph: object, word: str, lang: str) -> bool:
    if not morph.word_is_known(word):  # type: ignore[attr-defined]
        return False  # guessed by the predictor: a name, a loan word, a typo
    parses = morph.parse(word)  # type: ignore[attr-defined]
    if any(BAD_GRAMMEMES & set(_grammemes(p)) for p in parses):
        return False
    # Only a noun, in every reading: no adjective used as a noun (левый),
    # no verb form (печь), no adverb (вільно).
    if any(p.tag.POS != "NOUN" for p in parses):
        return False
    if lang == "uk":
        # The Ukrainian dictionary has no grammeme for proper names; its
        # common nouns carry animacy first (NOUN,inan ...), while the names
        # of places, firms and people it lists do not (NOUN,masc,inan).
        parses = [p for p in parses if _grammemes(p)[1:2] in (["inan"], ["anim"])]
    return any(
        "nomn" in p.tag and "plur" not in p.tag and p.normal_form == word for p in parses
    )


def _candidates(lang: str) -> Iterator[str]:
    import wordfreq

    if lang == "en":
        # Two lists already chosen for this job: BIP-39's English list (MIT,
        # via python-mnemonic) and the EFF's long passphrase list (CC BY 3.0
        # US, via xkcdpass), both free of names, taken together in
        # wordfreq's frequency order (most common first).
        from importlib.resources import files

        from mnemonic import Mnemonic

        eff = files("xkcdpass").joinpath("static/eff-long").read_text(encoding="utf-8")
        pool = set(Mnemonic("english").wordlist) | {
            line.split()[-1] for line in eff.splitlines() if line.strip()
        }
        rank = {w: i for i, w in enumerate(wordfreq.top_n_list("en", 200_000))}
        yield from sorted(pool, key=lambda w: (rank.get(w, len(rank)), w))
        return
    import pymorphy3

    morph = pymorphy3.MorphAnalyzer(lang=lang)
    for word in wordfreq.top_n_list(lang, 100_000):
        if MIN_LEN <= len(word) <= MAX_LEN and set(word) <= ALPHABETS[lang]:
            if _is_plain_noun(morph, word, lang):
                yield word


def select(lang: str, candidates: Iterable[str], taken: set[str]) -> list[str]:
    chosen: list[str] = []
    prefixes: set[str] = set()
    seen: set[str] = set()
    for word in candidates:
        if word in seen:
            continue
        seen.add(word)
        if not (MIN_LEN <= len(word) <= MAX_LEN) or not set(word) <= ALPHABETS[lang]:
            continue
        if word in taken or _blocked(word, lang) or word[:PREFIX] in prefixes:
            continue
        if any(_close(word, other) for other in chosen):
            continue
        chosen.append(word)
        prefixes.add(word[:PREFIX])
        if len(chosen) == LIST_SIZE:
            return sorted(chosen)
    sys.exit(f"{lang}: only {len(chosen)} words pass the rules; {LIST_SIZE} are needed")


def main() -> None:
    _check_sources()
    OUT.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    # Russian before Ukrainian, and Ukrainian leaves out every Russian word:
    # the two lists share no word, so a code names its own list.
    for lang in ("en", "ru", "uk"):
        words = select(lang, _candidates(lang), taken)
        taken |= set(words)
        (OUT / f"{lang}.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
        print(f"{lang}: {len(words)} words")


if __name__ == "__main__":
    main()
