"""Asylum and documents abroad.

Never asked: the evidence itself, only which kinds of it exist. Documents
and their contents would put the requester and everyone named in them at
risk if a phone or partner laptop were seized; they go later, through the
lawyer.
"""

from __future__ import annotations

from schemas.base import ChoiceField, CountryField, DateField, MultiChoiceField
from schemas.categories.common import (
    CategorySchema,
    contact_channel_field,
    contact_handle_field,
    message_field,
)
from schemas.countries import COUNTRIES, DUBLIN_STATES
from schemas.i18n import tr

STATUSES = (
    ("visa_free", tr(ru="Безвизовый въезд", uk="Безвізовий в’їзд", en="Visa-free stay")),
    ("visa", tr(ru="По визе", uk="За візою", en="On a visa")),
    (
        "residence_permit",
        tr(
            ru="Вид на жительство или разрешение на пребывание",
            uk="Посвідка на проживання або дозвіл на перебування",
            en="Residence permit",
        ),
    ),
    (
        "asylum_seeker",
        tr(
            ru="Заявление на убежище подано, решения ещё нет",
            uk="Заяву на притулок подано, рішення ще немає",
            en="Asylum claim made, no decision yet",
        ),
    ),
    (
        "protection",
        tr(
            ru="Убежище или защита предоставлены",
            uk="Притулок або захист надано",
            en="Asylum or protection granted",
        ),
    ),
    ("refused", tr(ru="В убежище отказали", uk="У притулку відмовили", en="Asylum refused")),
    (
        "no_status",
        tr(ru="Законного статуса нет", uk="Законного статусу немає", en="No legal status"),
    ),
    ("other", tr(ru="Другое", uk="Інше", en="Other")),
)

EVIDENCE = (
    ("summons", tr(ru="Повестка", uk="Повістка", en="Call-up papers")),
    (
        "case_documents",
        tr(
            ru="Документы уголовного или административного дела",
            uk="Документи кримінальної чи адміністративної справи",
            en="Papers from a criminal or administrative case",
        ),
    ),
    ("court_decisions", tr(ru="Решения суда", uk="Рішення суду", en="Court decisions")),
    (
        "detention_records",
        tr(
            ru="Документы о задержании или обыске",
            uk="Документи про затримання чи обшук",
            en="Records of an arrest or search",
        ),
    ),
    (
        "medical_records",
        tr(
            ru="Медицинские документы о травмах",
            uk="Медичні документи про травми",
            en="Medical records of injuries",
        ),
    ),
    (
        "wanted_listing",
        tr(ru="Сведения о розыске", uk="Відомості про розшук", en="A wanted listing"),
    ),
    (
        "military_papers",
        tr(
            ru="Военные документы (военный билет, контракт)",
            uk="Військові документи (військовий квиток, контракт)",
            en="Military papers (military ID, contract)",
        ),
    ),
    (
        "publications",
        tr(
            ru="Публикации в СМИ или у правозащитников",
            uk="Публікації в ЗМІ або в правозахисників",
            en="Reports in the media or by human-rights groups",
        ),
    ),
    ("other", tr(ru="Другое", uk="Інше", en="Other")),
    ("none", tr(ru="Ничего из этого", uk="Нічого з цього", en="None of these")),
)


class AsylumSchema(CategorySchema):
    category = "asylum"
    warning = tr(
        ru="Не прикладывайте и не пересказывайте сами доказательства: позже их передадут через "
        "юриста.",
        uk="Не додавайте й не переказуйте самих доказів: пізніше їх передадуть через юриста.",
        en="Do not attach or retell the evidence itself: it goes later, through a lawyer.",
    )

    current_country = CountryField(
        required=True,
        countries=COUNTRIES,
        label=tr(
            ru="В какой стране вы сейчас", uk="У якій країні ви зараз", en="Country you are in now"
        ),
        hint=tr(
            ru="Только страна, без города и адреса.",
            uk="Лише країна, без міста й адреси.",
            en="Only the country.",
        ),
    )
    status = ChoiceField(
        required=True,
        choices=STATUSES,
        label=tr(
            ru="Ваш статус в этой стране",
            uk="Ваш статус у цій країні",
            en="Your status in this country",
        ),
        hint=tr(
            ru="Выберите ближайший вариант.",
            uk="Оберіть найближчий варіант.",
            en="Choose the closest option.",
        ),
    )
    visa_expiry = DateField(
        label=tr(
            ru="До какого числа действует виза или разрешение",
            uk="До якої дати діє віза або дозвіл",
            en="Visa or permit valid until",
        ),
        hint=tr(
            ru="Если у вас есть виза или разрешение на пребывание.",
            uk="Якщо у вас є віза або дозвіл на перебування.",
            en="If you have a visa or a residence permit.",
        ),
    )
    first_eu_country = CountryField(
        countries=DUBLIN_STATES,
        label=tr(
            ru="Первая страна ЕС, в которую вы въехали",
            uk="Перша країна ЄС, до якої ви в’їхали",
            en="First EU country you entered",
        ),
        hint=tr(
            ru="Швейцария, Норвегия, Исландия и Лихтенштейн тоже считаются. "
            "От этого зависит, какая страна рассматривает заявление на убежище.",
            uk="Швейцарія, Норвегія, Ісландія та Ліхтенштейн теж рахуються. "
            "Від цього залежить, яка країна розглядає заяву на притулок.",
            en="Switzerland, Norway, Iceland and Liechtenstein count too. "
            "It decides which country handles an asylum claim.",
        ),
    )
    evidence_available = MultiChoiceField(
        choices=EVIDENCE,
        label=tr(
            ru="Какие доказательства у вас есть", uk="Які докази у вас є", en="What evidence exists"
        ),
        hint=tr(
            ru="Только отметьте, что есть. Сами документы сейчас не отправляйте: "
            "их позже передадут через юриста.",
            uk="Лише позначте, що є. Самих документів зараз не надсилайте: "
            "їх пізніше передадуть через юриста.",
            en="Only tick what exists. Do not send the documents now: they go later, through a "
            "lawyer.",
        ),
    )
    contact_channel = contact_channel_field()
    contact_handle = contact_handle_field()
    message = message_field(
        tr(
            ru="Коротко, что ещё важно. Не пересказывайте доказательства и не называйте других "
            "людей.",
            uk="Коротко, що ще важливо. Не переказуйте доказів і не називайте інших людей.",
            en="Briefly, anything else that matters. Do not retell the evidence, and name no one "
            "else.",
        )
    )
