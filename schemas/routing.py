"""Routing metadata: the only facts about a request that travel in the clear.

Four enumerated tokens (category, region, language, urgency), each matching
[a-z0-9_-]{1,32}: no free text can ride outside the sealed envelope. Regions
are never finer than a macro-region, so the label alone cannot narrow a
requester down to a town.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import RAISE, Schema, post_load, validate

from schemas.base import StrictString
from schemas.i18n import tr

# The enumerations are the keys of their label tables, so a token without
# labels in all three languages cannot exist.
CATEGORY_LABELS: dict[str, dict[str, str]] = {
    "evacuation": tr(ru="Эвакуация", uk="Евакуація", en="Evacuation"),
    "legal_aid": tr(ru="Юридическая помощь", uk="Юридична допомога", en="Legal aid"),
    "desertion": tr(
        ru="Отказ от участия в войне",
        uk="Відмова від участі у війні",
        en="Refusing to fight (desertion, objection)",
    ),
    "political_prisoner": tr(
        ru="Помощь политзаключённому",
        uk="Допомога політв’язню",
        en="Political prisoner support",
    ),
    "asylum": tr(ru="Убежище и документы", uk="Притулок і документи", en="Asylum and documents"),
}

# Russia by federal district (Crimea and the other occupied parts of Ukraine
# are "ua-occupied", whatever Russia's own map says); abroad by group of
# countries. A request needs a partner who knows the local courts or the
# border, not the requester's town.
REGION_LABELS: dict[str, dict[str, str]] = {
    "ru-central": tr(
        ru="Центр России (Москва, Воронеж, Ярославль…)",
        uk="Центр Росії (Москва, Воронеж, Ярославль…)",
        en="Central Russia (Moscow, Voronezh, Yaroslavl…)",
    ),
    "ru-northwest": tr(
        ru="Северо-Запад России (Петербург, Калининград, Мурманск…)",
        uk="Північний захід Росії (Петербург, Калінінград, Мурманськ…)",
        en="Northwest Russia (St Petersburg, Kaliningrad, Murmansk…)",
    ),
    "ru-south": tr(
        ru="Юг России (Краснодар, Ростов-на-Дону, Волгоград…)",
        uk="Південь Росії (Краснодар, Ростов-на-Дону, Волгоград…)",
        en="Southern Russia (Krasnodar, Rostov-on-Don, Volgograd…)",
    ),
    "ru-north-caucasus": tr(
        ru="Северный Кавказ (Дагестан, Чечня, Ставрополь…)",
        uk="Північний Кавказ (Дагестан, Чечня, Ставрополь…)",
        en="North Caucasus (Dagestan, Chechnya, Stavropol…)",
    ),
    "ru-volga": tr(
        ru="Поволжье (Казань, Нижний Новгород, Самара, Уфа…)",
        uk="Поволжя (Казань, Нижній Новгород, Самара, Уфа…)",
        en="Volga region (Kazan, Nizhny Novgorod, Samara, Ufa…)",
    ),
    "ru-urals": tr(
        ru="Урал (Екатеринбург, Челябинск, Тюмень…)",
        uk="Урал (Єкатеринбург, Челябінськ, Тюмень…)",
        en="Urals (Yekaterinburg, Chelyabinsk, Tyumen…)",
    ),
    "ru-siberia": tr(
        ru="Сибирь (Новосибирск, Красноярск, Омск…)",
        uk="Сибір (Новосибірськ, Красноярськ, Омськ…)",
        en="Siberia (Novosibirsk, Krasnoyarsk, Omsk…)",
    ),
    "ru-far-east": tr(
        ru="Дальний Восток (Владивосток, Хабаровск, Якутск, Бурятия…)",
        uk="Далекий Схід (Владивосток, Хабаровськ, Якутськ, Бурятія…)",
        en="Far East (Vladivostok, Khabarovsk, Yakutsk, Buryatia…)",
    ),
    "ua-occupied": tr(
        ru="Оккупированные территории Украины, включая Крым",
        uk="Окуповані території України, зокрема Крим",
        en="Occupied territories of Ukraine, including Crimea",
    ),
    "ua-controlled": tr(
        ru="Украина (территория под контролем Украины)",
        uk="Україна (територія під контролем України)",
        en="Ukraine (government-controlled territory)",
    ),
    "by": tr(ru="Беларусь", uk="Білорусь", en="Belarus"),
    "abroad-caucasus": tr(
        ru="Грузия, Армения или Азербайджан",
        uk="Грузія, Вірменія або Азербайджан",
        en="Georgia, Armenia or Azerbaijan",
    ),
    "abroad-central-asia": tr(
        ru="Казахстан или другая страна Центральной Азии",
        uk="Казахстан або інша країна Центральної Азії",
        en="Kazakhstan or elsewhere in Central Asia",
    ),
    "abroad-eu": tr(
        ru="Страна Евросоюза, Швейцария, Норвегия или Исландия",
        uk="Країна Євросоюзу, Швейцарія, Норвегія або Ісландія",
        en="An EU country, Switzerland, Norway or Iceland",
    ),
    "abroad-other": tr(ru="Другая страна", uk="Інша країна", en="Another country"),
    "undisclosed": tr(ru="Не хочу указывать", uk="Не хочу вказувати", en="I prefer not to say"),
}

LANGUAGE_LABELS: dict[str, dict[str, str]] = {
    "ru": tr(ru="Русский", uk="Російська", en="Russian"),
    "uk": tr(ru="Украинский", uk="Українська", en="Ukrainian"),
    "en": tr(ru="Английский", uk="Англійська", en="English"),
}

URGENCY_LABELS: dict[str, dict[str, str]] = {
    "normal": tr(ru="Не срочно", uk="Не терміново", en="Not urgent"),
    "urgent": tr(ru="Срочно", uk="Терміново", en="Urgent"),
}

# The envelope's label alphabet (docs/envelope-v1.md): every token above
# matches it (tests/schemas/test_routing.py), so a client that checks only
# the alphabet still sends nothing free-form in the clear.
LABEL_PATTERN = r"^[a-z0-9_-]{1,32}$"

CATEGORIES = tuple(CATEGORY_LABELS)
REGIONS = tuple(REGION_LABELS)
LANGUAGES = tuple(LANGUAGE_LABELS)
URGENCIES = tuple(URGENCY_LABELS)

LABELS: dict[str, dict[str, dict[str, str]]] = {
    "category": CATEGORY_LABELS,
    "region": REGION_LABELS,
    "language": LANGUAGE_LABELS,
    "urgency": URGENCY_LABELS,
}


@dataclass(frozen=True)
class Routing:
    """The four labels of one request."""

    category: str
    region: str
    language: str
    urgency: str


def _token(choices: tuple[str, ...], description: str) -> StrictString:
    return StrictString(
        required=True,
        validate=validate.OneOf(choices, error="not one of: {choices}"),
        error_messages={"required": "missing", "invalid": "must be a string"},
        # For the OpenAPI and JSON Schema documents; OneOf is the stricter check.
        metadata={"description": description, "pattern": LABEL_PATTERN},
    )


class RoutingSchema(Schema):
    """Loads the four labels into `Routing`; dumps a `Routing` back to them."""

    class Meta:
        unknown = RAISE

    category = _token(CATEGORIES, "The kind of help asked for.")
    region = _token(
        REGIONS,
        "Where the requester is, never finer than a Russian federal district or a group of countries.",
    )
    language = _token(LANGUAGES, "The language the requester writes and wants an answer in.")
    urgency = _token(URGENCIES, "Whether a partner should act first on this request.")

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Routing:
        return Routing(**data)
