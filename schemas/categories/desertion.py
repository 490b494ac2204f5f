"""Desertion and conscientious objection: leaving the war.

Never asked: the unit number, commanders' names, coordinates or places,
photos, anything about weapons. Each would turn a seized phone or partner
laptop into evidence against the soldier and the people around them.
"""

from __future__ import annotations

from schemas.base import ChoiceField, CountryField, MultiChoiceField
from schemas.categories.common import (
    YES_NO_UNKNOWN,
    CategorySchema,
    contact_channel_field,
    contact_handle_field,
    message_field,
)
from schemas.countries import COUNTRIES
from schemas.i18n import tr

STATUSES = (
    (
        "contract_before_2022",
        tr(
            ru="Контракт до 2022 года", uk="Контракт до 2022 року", en="Contract signed before 2022"
        ),
    ),
    (
        "contract_from_2022",
        tr(
            ru="Контракт с 2022 года или позже",
            uk="Контракт з 2022 року або пізніше",
            en="Contract signed in 2022 or later",
        ),
    ),
    ("mobilised", tr(ru="Мобилизация", uk="Мобілізація", en="Mobilised")),
    ("conscript", tr(ru="Срочная служба", uk="Строкова служба", en="Conscript")),
    ("other", tr(ru="Другое", uk="Інше", en="Other")),
)

SITUATIONS = (
    ("in_unit", tr(ru="В части", uk="У частині", en="In the unit")),
    ("hospital", tr(ru="В госпитале или больнице", uk="У шпиталі або лікарні", en="In hospital")),
    ("leave", tr(ru="В отпуске", uk="У відпустці", en="On leave")),
    (
        "awol",
        tr(
            ru="Вне части без разрешения (СОЧ)",
            uk="Поза частиною без дозволу (СЗЧ)",
            en="Away from the unit without permission",
        ),
    ),
    ("abroad", tr(ru="Уже за границей", uk="Уже за кордоном", en="Already abroad")),
)

PASSPORTS = (
    (
        "internal_passport",
        tr(ru="Внутренний паспорт РФ", uk="Внутрішній паспорт РФ", en="Russian internal passport"),
    ),
    (
        "foreign_passport",
        tr(
            ru="Загранпаспорт РФ на руках",
            uk="Закордонний паспорт РФ на руках",
            en="Russian international passport, in hand",
        ),
    ),
    (
        "foreign_passport_surrendered",
        tr(
            ru="Загранпаспорт сдан или изъят",
            uk="Закордонний паспорт здано або вилучено",
            en="International passport handed in or taken away",
        ),
    ),
    (
        "other_citizenship",
        tr(ru="Паспорт другой страны", uk="Паспорт іншої країни", en="Passport of another country"),
    ),
    ("none", tr(ru="Паспортов нет", uk="Паспортів немає", en="No passport")),
)

NEEDS = (
    ("legal", tr(ru="Юридическая помощь", uk="Юридична допомога", en="Legal help")),
    (
        "psychological",
        tr(ru="Психологическая поддержка", uk="Психологічна підтримка", en="Psychological support"),
    ),
    ("money", tr(ru="Деньги", uk="Гроші", en="Money")),
    ("shelter", tr(ru="Жильё", uk="Житло", en="Shelter")),
    ("evacuation", tr(ru="Помощь с выездом", uk="Допомога з виїздом", en="Help to get out")),
)


class DesertionSchema(CategorySchema):
    category = "desertion"
    warning = tr(
        ru="Не пишите номер части, имена командиров, координаты и ничего об оружии. Не "
        "отправляйте фото.",
        uk="Не пишіть номер частини, імена командирів, координати й нічого про зброю. Не "
        "надсилайте фото.",
        en="Never write the unit number, commanders’ names, coordinates or anything about weapons. "
        "Do not send photos.",
    )

    status = ChoiceField(
        required=True,
        choices=STATUSES,
        label=tr(ru="Как оформлена служба", uk="Як оформлено службу", en="Type of service"),
        hint=tr(
            ru="Выберите ближайший вариант.",
            uk="Оберіть найближчий варіант.",
            en="Choose the closest option.",
        ),
    )
    situation = ChoiceField(
        required=True,
        choices=SITUATIONS,
        label=tr(ru="Где сейчас", uk="Де зараз", en="Where now"),
        hint=tr(
            ru="Только положение, без номера части и места.",
            uk="Лише становище, без номера частини й місця.",
            en="Only the situation: no unit number, no place.",
        ),
    )
    criminal_case = ChoiceField(
        required=True,
        choices=YES_NO_UNKNOWN,
        label=tr(
            ru="Есть ли уголовное дело", uk="Чи є кримінальна справа", en="Is there a criminal case"
        ),
        hint=tr(
            ru="Например, за самовольное оставление части или дезертирство.",
            uk="Наприклад, за самовільне залишення частини або дезертирство.",
            en="For example for leaving the unit without permission, or for desertion.",
        ),
    )
    wanted_listing = ChoiceField(
        required=True,
        choices=YES_NO_UNKNOWN,
        label=tr(ru="Объявлен ли розыск", uk="Чи оголошено розшук", en="Is there a wanted listing"),
        hint=tr(
            ru="Например, в базе розыска МВД.",
            uk="Наприклад, у базі розшуку МВС Росії.",
            en="For example in the Russian interior ministry’s wanted list.",
        ),
    )
    passports_held = MultiChoiceField(
        required=True,
        choices=PASSPORTS,
        label=tr(ru="Какие паспорта есть", uk="Які паспорти є", en="Passports held"),
        hint=tr(
            ru="Фото паспортов не отправляйте.",
            uk="Фото паспортів не надсилайте.",
            en="Do not send photos of passports.",
        ),
    )
    current_country = CountryField(
        required=True,
        countries=COUNTRIES,
        label=tr(ru="В какой стране сейчас", uk="У якій країні зараз", en="Country you are in now"),
        hint=tr(
            ru="Только страна, без города и адреса.",
            uk="Лише країна, без міста й адреси.",
            en="Only the country: no city, no address.",
        ),
    )
    needs = MultiChoiceField(
        required=True,
        choices=NEEDS,
        label=tr(ru="Какая помощь нужна", uk="Яка допомога потрібна", en="Help needed"),
        hint=tr(
            ru="Можно выбрать несколько.", uk="Можна вибрати кілька.", en="You can choose several."
        ),
    )
    contact_channel = contact_channel_field()
    contact_handle = contact_handle_field()
    message = message_field(
        tr(
            ru="Коротко, что ещё важно. Не пишите номер части, имена командиров, места "
            "и ничего об оружии.",
            uk="Коротко, що ще важливо. Не пишіть номер частини, імена командирів, місця "
            "й нічого про зброю.",
            en="Briefly, anything else that matters. Never the unit number, commanders’ names, "
            "places or anything about weapons.",
        )
    )
