"""Support for a political prisoner and their family.

Never asked: details of the case or of what the person did (the file is the
prosecution's; a seized phone or partner laptop must not add to it), and
names of anyone else (relatives and co-defendants are pressured too).
"""

from __future__ import annotations

from schemas.base import ChoiceField, MultiChoiceField, TextField, YearField
from schemas.categories.common import (
    CategorySchema,
    contact_channel_field,
    contact_handle_field,
    message_field,
)
from schemas.categories.legal_aid import article_field
from schemas.i18n import tr

# Wide on purpose: an unusual but possible year is never refused. Criminal
# liability in Russia starts at 14.
BIRTH_YEAR_MIN = 1920
BIRTH_YEAR_MAX = 2015

STAGES = (
    (
        "pre_trial",
        tr(
            ru="Под стражей до суда (СИЗО)",
            uk="Під вартою до суду (СІЗО)",
            en="Pre-trial detention",
        ),
    ),
    ("trial", tr(ru="Идёт суд", uk="Триває суд", en="On trial")),
    ("appeal", tr(ru="Апелляция", uk="Апеляція", en="Appeal")),
    (
        "serving_sentence",
        tr(ru="Отбывает наказание", uk="Відбуває покарання", en="Serving a sentence"),
    ),
    ("other", tr(ru="Другое", uk="Інше", en="Other")),
)

LAWYER = (
    ("has", tr(ru="Адвокат есть", uk="Адвокат є", en="Has a lawyer")),
    ("needs", tr(ru="Нужен адвокат", uk="Потрібен адвокат", en="Needs a lawyer")),
    ("unknown", tr(ru="Не знаю", uk="Не знаю", en="I don’t know")),
)

NEEDS = (
    ("lawyer", tr(ru="Адвокат", uk="Адвокат", en="A lawyer")),
    (
        "letters_parcels",
        tr(ru="Письма и передачи", uk="Листи й передачі", en="Letters and parcels"),
    ),
    ("family_money", tr(ru="Деньги для семьи", uk="Гроші для родини", en="Money for the family")),
    ("publicity", tr(ru="Огласка", uk="Розголос", en="Publicity")),
    ("medical", tr(ru="Медицинская помощь", uk="Медична допомога", en="Medical help")),
)


class PoliticalPrisonerSchema(CategorySchema):
    category = "political_prisoner"
    warning = tr(
        ru="Не пишите подробности дела и имена других людей: это может навредить человеку и его "
        "близким.",
        uk="Не пишіть подробиць справи та імен інших людей: це може зашкодити людині та її "
        "близьким.",
        en="Do not write details of the case or names of other people: "
        "it could harm the person and those close to them.",
    )

    full_name = TextField(
        required=True,
        max_length=120,
        label=tr(ru="Фамилия, имя, отчество", uk="Прізвище, ім’я, по батькові", en="Full name"),
        hint=tr(
            ru="Как в документах: так правозащитники найдут дело.",
            uk="Як у документах: так правозахисники знайдуть справу.",
            en="As in official documents, so that human-rights workers can find the case.",
        ),
    )
    birth_year = YearField(
        min=BIRTH_YEAR_MIN,
        max=BIRTH_YEAR_MAX,
        label=tr(ru="Год рождения", uk="Рік народження", en="Year of birth"),
        hint=tr(
            ru="Помогает не спутать человека с однофамильцами.",
            uk="Допомагає не сплутати людину з однофамільцями.",
            en="Helps to tell the person apart from others with the same name.",
        ),
    )
    facility = TextField(
        required=True,
        max_length=120,
        label=tr(
            ru="Где находится: СИЗО, колония или город",
            uk="Де перебуває: СІЗО, колонія або місто",
            en="Where held: remand prison, penal colony or city",
        ),
        hint=tr(
            ru="Например: ИК-6, Владимирская область. Если не знаете, напишите город.",
            uk="Наприклад: ІК-6, Владимирська область. Якщо не знаєте, напишіть місто.",
            en="For example: IK-6, Vladimir region. If you don’t know, write the city.",
        ),
    )
    article = article_field()
    stage = ChoiceField(
        required=True,
        choices=STAGES,
        label=tr(ru="Стадия дела", uk="Стадія справи", en="Stage of the case"),
        hint=tr(
            ru="Выберите ближайший вариант.",
            uk="Оберіть найближчий варіант.",
            en="Choose the closest option.",
        ),
    )
    lawyer = ChoiceField(
        required=True,
        choices=LAWYER,
        label=tr(ru="Адвокат", uk="Адвокат", en="Lawyer"),
        hint=tr(
            ru="Адвокат, назначенный государством, тоже считается.",
            uk="Адвокат, призначений державою, теж рахується.",
            en="A state-appointed lawyer counts too.",
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
            ru="Коротко, что ещё важно. Без подробностей дела и имён других людей.",
            uk="Коротко, що ще важливо. Без подробиць справи та імен інших людей.",
            en="Briefly, anything else that matters. No details of the case, no names of other "
            "people.",
        )
    )
