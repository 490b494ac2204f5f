"""Validation messages, one table for the server and the forms.

The schemas raise the English text; forms get the whole table and show the
requester's language. Placeholders ({min}, {max}) are filled by both.
"""

from __future__ import annotations

from schemas.i18n import tr

MESSAGES: dict[str, dict[str, str]] = {
    "required": tr(
        ru="Заполните это поле.",
        uk="Заповніть це поле.",
        en="This field is required.",
    ),
    "null": tr(
        ru="Заполните это поле или уберите его.",
        uk="Заповніть це поле або приберіть його.",
        en="Fill in this field or leave it out.",
    ),
    "blank": tr(
        ru="Поле не может быть пустым.",
        uk="Поле не може бути порожнім.",
        en="Must not be empty.",
    ),
    "not_text": tr(
        ru="Здесь нужен текст.",
        uk="Тут потрібен текст.",
        en="Must be text.",
    ),
    "too_long": tr(
        ru="Не больше {max} символов.",
        uk="Не більше ніж {max} символів.",
        en="At most {max} characters.",
    ),
    "single_line": tr(
        ru="Напишите в одну строку.",
        uk="Напишіть в один рядок.",
        en="Must be a single line.",
    ),
    "control_chars": tr(
        ru="Уберите невидимые служебные символы.",
        uk="Приберіть невидимі службові символи.",
        en="Remove invisible control characters.",
    ),
    "not_an_integer": tr(
        ru="Введите целое число.",
        uk="Введіть ціле число.",
        en="Enter a whole number.",
    ),
    "out_of_range": tr(
        ru="Введите число от {min} до {max}.",
        uk="Введіть число від {min} до {max}.",
        en="Enter a number from {min} to {max}.",
    ),
    "not_a_choice": tr(
        ru="Выберите один из вариантов.",
        uk="Оберіть один із варіантів.",
        en="Choose one of the options.",
    ),
    "not_a_list": tr(
        ru="Выберите один или несколько вариантов.",
        uk="Оберіть один або кілька варіантів.",
        en="Choose one or more options.",
    ),
    "too_many": tr(
        ru="Не больше {max}.",
        uk="Не більше ніж {max}.",
        en="At most {max}.",
    ),
    "duplicate": tr(
        ru="Каждый вариант можно выбрать только один раз.",
        uk="Кожен варіант можна вибрати лише один раз.",
        en="Each option can be chosen only once.",
    ),
    "none_exclusive": tr(
        ru="«Нет» нельзя выбрать вместе с другими вариантами.",
        uk="«Немає» не можна вибрати разом з іншими варіантами.",
        en="“None” cannot be combined with other options.",
    ),
    "not_a_date": tr(
        ru="Введите дату в виде ГГГГ-ММ-ДД.",
        uk="Введіть дату у вигляді РРРР-ММ-ДД.",
        en="Enter a date as YYYY-MM-DD.",
    ),
    "not_a_month": tr(
        ru="Введите месяц в виде ГГГГ-ММ.",
        uk="Введіть місяць у вигляді РРРР-ММ.",
        en="Enter a month as YYYY-MM.",
    ),
    "not_a_country": tr(
        ru="Выберите страну из списка.",
        uk="Оберіть країну зі списку.",
        en="Choose a country from the list.",
    ),
    "unknown": tr(
        ru="Такого поля нет в форме.",
        uk="Такого поля немає у формі.",
        en="This field is not part of the form.",
    ),
    "not_an_object": tr(
        ru="Форма заполнена неправильно.",
        uk="Форму заповнено неправильно.",
        en="Must be an object of fields.",
    ),
    "too_many_children": tr(
        ru="Детей не может быть больше, чем всех людей.",
        uk="Дітей не може бути більше, ніж усіх людей.",
        en="There cannot be more children than people.",
    ),
    "channel_required": tr(
        ru="Сначала выберите способ связи.",
        uk="Спочатку оберіть спосіб зв’язку.",
        en="Choose a way to contact you first.",
    ),
    "handle_required": tr(
        ru="Напишите ваш адрес или имя пользователя в этом мессенджере.",
        uk="Напишіть вашу адресу або ім’я користувача в цьому месенджері.",
        en="Write your address or username for this channel.",
    ),
    "handle_not_needed": tr(
        ru="Для ответа через Haven адрес не нужен.",
        uk="Для відповіді через Haven адреса не потрібна.",
        en="A reply through Haven needs no address.",
    ),
}


def en(code: str, **values: int) -> str:
    """The English message `code`, placeholders filled: the text schemas raise."""
    return MESSAGES[code]["en"].format(**values)
