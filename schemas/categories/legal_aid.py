"""Legal aid for someone detained or prosecuted.

Never asked: what the person did or is accused of doing (a seized phone or
partner laptop would hold a confession), and names of anyone else (they
would become the next suspects).
"""

from __future__ import annotations

from schemas.base import ChoiceField, DateField, MonthField, TextField
from schemas.categories.common import (
    YES_NO_UNKNOWN,
    CategorySchema,
    contact_channel_field,
    contact_handle_field,
    message_field,
)
from schemas.i18n import tr

ARTICLE_MAX = 60


def article_field() -> TextField:
    """The article only, never the story behind it."""
    return TextField(
        max_length=ARTICLE_MAX,
        label=tr(ru="Статья", uk="Стаття", en="Criminal code article"),
        hint=tr(
            ru="Только номер статьи, например: ч. 3 ст. 207.3 УК РФ. Не описывайте, что сделал "
            "человек.",
            uk="Лише номер статті, наприклад: ч. 3 ст. 207.3 КК РФ. Не описуйте, що зробила "
            "людина.",
            en="Only the article number, for example Art. 207.3 part 3. "
            "Do not describe what the person did.",
        ),
    )


class LegalAidSchema(CategorySchema):
    category = "legal_aid"
    warning = tr(
        ru="Не пишите, что сделал человек, и не называйте других людей.",
        uk="Не пишіть, що зробила людина, і не називайте інших людей.",
        en="Do not write what the person did, and do not name anyone else.",
    )

    person = TextField(
        required=True,
        max_length=100,
        label=tr(
            ru="Кому нужна помощь: имя или псевдоним",
            uk="Кому потрібна допомога: ім’я або псевдонім",
            en="Who needs help: name or pseudonym",
        ),
        hint=tr(
            ru="Настоящее имя или псевдоним, которым вы будете называть этого человека и дальше.",
            uk="Справжнє ім’я або псевдонім, яким ви й надалі називатимете цю людину.",
            en="A real name, or a pseudonym you will keep using for this person.",
        ),
    )
    where_held = TextField(
        required=True,
        max_length=120,
        label=tr(
            ru="Где находится: учреждение или город",
            uk="Де перебуває: установа або місто",
            en="Where held: facility or city",
        ),
        hint=tr(
            ru="Например: СИЗО-1, Екатеринбург. Если не знаете, напишите город.",
            uk="Наприклад: СІЗО-1, Єкатеринбург. Якщо не знаєте, напишіть місто.",
            en="For example: SIZO-1, Yekaterinburg. If you don’t know, write the city.",
        ),
    )
    held_since = MonthField(
        required=True,
        label=tr(ru="С какого времени", uk="З якого часу", en="Held since"),
        hint=tr(
            ru="Достаточно года и месяца.",
            uk="Досить року й місяця.",
            en="The year and month are enough.",
        ),
    )
    article = article_field()
    lawyer_present = ChoiceField(
        required=True,
        choices=YES_NO_UNKNOWN,
        label=tr(ru="Есть ли адвокат", uk="Чи є адвокат", en="Is there a lawyer"),
        hint=tr(
            ru="Любой адвокат, в том числе назначенный государством.",
            uk="Будь-який адвокат, зокрема призначений державою.",
            en="Any lawyer, including one appointed by the state.",
        ),
    )
    next_hearing = DateField(
        label=tr(
            ru="Следующее заседание суда", uk="Наступне засідання суду", en="Next court hearing"
        ),
        hint=tr(ru="Если знаете дату.", uk="Якщо знаєте дату.", en="If you know the date."),
    )
    contact_channel = contact_channel_field()
    contact_handle = contact_handle_field()
    message = message_field(
        tr(
            ru="Коротко, что ещё нужно знать юристу. Не описывайте, что сделал человек, "
            "и не называйте других людей.",
            uk="Коротко, що ще треба знати юристу. Не описуйте, що зробила людина, "
            "і не називайте інших людей.",
            en="Briefly, what else the lawyer should know. Do not describe what the person did, "
            "and name no one else.",
        )
    )
