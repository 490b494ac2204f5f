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

CONTACT_CHANNELS: Choices = (
    ("signal", tr(ru="Signal", uk="Signal", en="Signal")),
    ("telegram", tr(ru="Telegram", uk="Telegram", en="Telegram")),
    ("threema", tr(ru="Threema", uk="Threema", en="Threema")),
    ("email", tr(ru="Электронная почта", uk="Електронна пошта", en="Email")),
    (
        "haven_reply",
        tr(
            ru="Ответ через Haven, без мессенджера",
            uk="Відповідь через Haven, без месенджера",
            en="A reply through Haven, no messenger",
        ),
    ),
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
            ru="Лучше всего Signal с именем пользователя вместо номера телефона.",
            uk="Найкраще Signal з ім’ям користувача замість номера телефону.",
            en="Signal with a username instead of a phone number is best.",
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
            ru="Например, @имя в Telegram или адрес почты. Лучше отдельный аккаунт, "
            "не связанный с вашим настоящим именем.",
            uk="Наприклад, @ім’я в Telegram або адреса пошти. Краще окремий акаунт, "
            "не пов’язаний із вашим справжнім ім’ям.",
            en="For example a Telegram @name or an email address. A separate account, "
            "not linked to your real name, is best.",
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
