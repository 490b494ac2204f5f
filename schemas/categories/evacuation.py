"""Evacuation: getting people out to safety.

Never asked: an address (a seized phone or partner laptop would lead straight
to the door), scans or photos of documents (they identify everyone in them),
names of helpers inside Russia (they would be prosecuted).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError, validates_schema

from schemas.base import (
    ChoiceField,
    IntegerField,
    IntegerListField,
    MultiChoiceField,
    TextAreaField,
    TextField,
)
from schemas.categories.common import (
    CategorySchema,
    contact_channel_field,
    contact_handle_field,
    message_field,
)
from schemas.i18n import tr
from schemas.messages import en

DOCUMENTS = (
    (
        "internal_passport",
        tr(ru="Внутренний паспорт РФ", uk="Внутрішній паспорт РФ", en="Russian internal passport"),
    ),
    (
        "foreign_passport",
        tr(
            ru="Заграничный паспорт РФ",
            uk="Закордонний паспорт РФ",
            en="Russian international passport",
        ),
    ),
    (
        "ukrainian_passport",
        tr(
            ru="Паспорт Украины (любой)",
            uk="Паспорт України (будь-який)",
            en="Ukrainian passport (any)",
        ),
    ),
    (
        "birth_certificate",
        tr(ru="Свидетельство о рождении", uk="Свідоцтво про народження", en="Birth certificate"),
    ),
    ("other", tr(ru="Другой документ", uk="Інший документ", en="Another document")),
    ("none", tr(ru="Документов нет", uk="Документів немає", en="No documents")),
)

TIMEFRAMES = (
    (
        "now",
        tr(
            ru="Как можно скорее: опасность прямо сейчас",
            uk="Якнайшвидше: небезпека просто зараз",
            en="As soon as possible: in danger now",
        ),
    ),
    ("days", tr(ru="В ближайшие дни", uk="Найближчими днями", en="Within days")),
    ("weeks", tr(ru="В ближайшие недели", uk="Найближчими тижнями", en="Within weeks")),
    ("planning", tr(ru="Пока только планирую", uk="Поки що лише планую", en="Still planning")),
)


class EvacuationSchema(CategorySchema):
    category = "evacuation"
    warning = tr(
        ru="Не пишите точный адрес, не прикладывайте фото документов и не называйте тех, "
        "кто помогает вам в России.",
        uk="Не пишіть точну адресу, не додавайте фото документів і не називайте тих, "
        "хто допомагає вам у Росії.",
        en="Do not write your exact address, do not add photos of documents, and do not name "
        "anyone helping you inside Russia.",
    )

    location = TextField(
        required=True,
        max_length=100,
        label=tr(
            ru="Где вы сейчас: город или область",
            uk="Де ви зараз: місто або область",
            en="Where you are now: city or region",
        ),
        hint=tr(
            ru="Только город или область. Не пишите адрес, улицу или где вы живёте.",
            uk="Лише місто або область. Не пишіть адресу, вулицю чи де ви живете.",
            en="Only a city or region. Never an address, a street or where you are staying.",
        ),
    )
    people_count = IntegerField(
        required=True,
        min=1,
        max=50,
        label=tr(
            ru="Сколько человек едет, включая вас",
            uk="Скільки людей їде, включно з вами",
            en="How many people are leaving, including you",
        ),
        hint=tr(
            ru="Считайте всех, кто поедет вместе, и детей тоже.",
            uk="Рахуйте всіх, хто поїде разом, і дітей теж.",
            en="Count everyone travelling together, children too.",
        ),
    )
    children_ages = IntegerListField(
        min=0,
        max=17,
        max_items=20,
        label=tr(ru="Возраст детей", uk="Вік дітей", en="Children’s ages"),
        hint=tr(
            ru="Сколько полных лет каждому ребёнку до 18 лет. Имена не нужны.",
            uk="Скільки повних років кожній дитині до 18 років. Імена не потрібні.",
            en="The age in years of each child under 18. No names.",
        ),
    )
    mobility_or_medical_needs = TextAreaField(
        max_length=1000,
        label=tr(
            ru="Здоровье и передвижение", uk="Здоров’я та пересування", en="Health and mobility"
        ),
        hint=tr(
            ru="Например: инвалидная коляска, нужен инсулин, беременность. "
            "Имена и медицинские документы не нужны.",
            uk="Наприклад: інвалідний візок, потрібен інсулін, вагітність. "
            "Імена та медичні документи не потрібні.",
            en="For example: a wheelchair, needs insulin, pregnancy. No names, no medical "
            "documents.",
        ),
    )
    documents_held = MultiChoiceField(
        required=True,
        choices=DOCUMENTS,
        label=tr(ru="Какие документы есть", uk="Які документи є", en="Documents you have"),
        hint=tr(
            ru="Отметьте документы, которые есть у вас и у тех, кто едет с вами. "
            "Не отправляйте фото или сканы документов.",
            uk="Позначте документи, які є у вас і в тих, хто їде з вами. "
            "Не надсилайте фото чи скани документів.",
            en="Tick the documents you and those travelling with you have. "
            "Never send photos or scans of documents.",
        ),
    )
    timeframe = ChoiceField(
        choices=TIMEFRAMES,
        label=tr(ru="Когда нужно уехать", uk="Коли треба виїхати", en="When you need to leave"),
        hint=tr(
            ru="Это помогает понять, кому помочь в первую очередь.",
            uk="Це допомагає зрозуміти, кому допомогти насамперед.",
            en="This helps to decide whom to help first.",
        ),
    )
    contact_channel = contact_channel_field()
    contact_handle = contact_handle_field()
    message = message_field(
        tr(
            ru="Коротко о том, что ещё важно для поездки. Не пишите адрес и имена тех, "
            "кто помогает вам в России.",
            uk="Коротко про те, що ще важливо для поїздки. Не пишіть адресу та імена тих, "
            "хто допомагає вам у Росії.",
            en="Briefly, anything else that matters for the journey. No address, and no names "
            "of people helping you inside Russia.",
        )
    )

    @validates_schema
    def _children_are_people(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if len(data.get("children_ages", ())) > data["people_count"]:
            raise ValidationError(en("too_many_children"), "children_ages")
