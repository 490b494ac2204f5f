"""What every request category shares: the strict base, yes/no answers, contact, message."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from marshmallow import ValidationError, validates_schema

from schemas.base import ChoiceField, Choices, StrictSchema, TextAreaField, TextField
from schemas.i18n import Tr, tr
from schemas.messages import en

YES_NO_UNKNOWN: Choices = (
    ("yes", tr(ru="Да", uk="Так", en="Yes")),
    ("no", tr(ru="Нет", uk="Ні", en="No")),
    ("unknown", tr(ru="Не знаю", uk="Не знаю", en="I don’t know")),
)

# A reply through Haven comes first and is the one recommended: it needs no
# phone number, username or address, so nothing on the requester's phone or
# in a messenger's records ties them to the request (docs/replies-v1.md).
CONTACT_CHANNELS: Choices = (
    (
        "haven_reply",
        tr(
            ru="Ответ через Haven (советуем): без телефона и мессенджера",
            uk="Відповідь через Haven (радимо): без телефону й месенджера",
            en="A reply through Haven (recommended): no phone, no messenger",
        ),
    ),
    ("signal", tr(ru="Signal", uk="Signal", en="Signal")),
    ("telegram", tr(ru="Telegram", uk="Telegram", en="Telegram")),
    ("threema", tr(ru="Threema", uk="Threema", en="Threema")),
    ("email", tr(ru="Электронная почта", uk="Електронна пошта", en="Email")),
)
# A reply through Haven is sealed to the requester's own reply key: there is
# no address to write down.
CHANNELS_WITH_HANDLE = frozenset({"signal", "telegram", "threema", "email"})
HANDLE_MAX = 128
MESSAGE_MAX = 2000


class CategorySchema(StrictSchema):
    """The fields of one request category."""

    category: ClassVar[str]
    # Shown above the form: what never to write, and why.
    warning: ClassVar[Tr]

    @validates_schema
    def _contact_is_complete(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        channel, handle = data.get("contact_channel"), data.get("contact_handle")
        if handle is not None and channel is None:
            raise ValidationError(en("channel_required"), "contact_channel")
        if channel in CHANNELS_WITH_HANDLE and handle is None:
            raise ValidationError(en("handle_required"), "contact_handle")
        if channel == "haven_reply" and handle is not None:
            raise ValidationError(en("handle_not_needed"), "contact_handle")


def contact_channel_field() -> ChoiceField:
    return ChoiceField(
        choices=CONTACT_CHANNELS,
        label=tr(
            ru="Как с вами связаться",
            uk="Як із вами зв’язатися",
            en="How to contact you",
        ),
        hint=tr(
            ru="Безопаснее всего ответ через Haven: после отправки вы получите кодовую фразу "
            "и по ней прочитаете ответы на этом сайте. Имя в Signal или Telegram, номер "
            "телефона или адрес почты опаснее: если телефон обыщут и найдут это имя, оно "
            "свяжет вас с запросом, а Telegram выдаёт властям IP-адреса и номера телефонов.",
            uk="Найбезпечніше — відповідь через Haven: після надсилання ви отримаєте кодову "
            "фразу й за нею читатимете відповіді на цьому сайті. Ім’я в Signal чи Telegram, "
            "номер телефону або адреса пошти небезпечніші: якщо телефон обшукають і знайдуть "
            "це ім’я, воно пов’яже вас із запитом, а Telegram видає владі IP-адреси й номери "
            "телефонів.",
            en="A reply through Haven is safest: after sending you get a receipt code, and "
            "with it you read the answers on this site. A Signal or Telegram name, a phone "
            "number or an email address is riskier: if your phone is searched and the name "
            "is found, it ties you to this request, and Telegram gives the authorities IP "
            "addresses and phone numbers.",
        ),
    )


def contact_handle_field() -> TextField:
    return TextField(
        max_length=HANDLE_MAX,
        label=tr(
            ru="Ваш адрес или имя пользователя",
            uk="Ваша адреса або ім’я користувача",
            en="Your address or username",
        ),
        hint=tr(
            ru="Не нужно для ответа через Haven. Иначе, например, @имя в Telegram или адрес "
            "почты: лучше отдельный аккаунт, не связанный с вашим настоящим именем и "
            "номером. Это имя попадёт к организации и может связать вас с запросом.",
            uk="Не потрібно для відповіді через Haven. Інакше, наприклад, @ім’я в Telegram "
            "або адреса пошти: краще окремий акаунт, не пов’язаний із вашим справжнім "
            "ім’ям і номером. Це ім’я потрапить до організації й може пов’язати вас із запитом.",
            en="Not needed for a reply through Haven. Otherwise, for example a Telegram @name "
            "or an email address: a separate account, not linked to your real name or "
            "number, is best. The organisation gets this name, and it can tie you to this "
            "request.",
        ),
    )


def message_field(hint: Tr) -> TextAreaField:
    return TextAreaField(
        max_length=MESSAGE_MAX,
        label=tr(
            ru="Что ещё важно знать",
            uk="Що ще важливо знати",
            en="Anything else we should know",
        ),
        hint=hint,
    )
