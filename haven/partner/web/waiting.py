"""While the inbox is locked: how many requests wait in the partner's queue, as the broker counts them.

Nothing is taken and nothing is opened: a passive declare of the partner's
own queue, with the partner's own broker user (its permissions let it read
only that queue, and a passive declare changes nothing), answers one number.
That number is all a locked inbox can tell the team's alert hook.
"""

from __future__ import annotations

import contextlib

import pika
from pika.exceptions import AMQPError

from haven.broker.connection import connection_parameters
from haven.broker.topology import partner_queue
from haven.partner.pull import PartnerSettings


class WaitingError(Exception):
    """The broker could not be asked; one line, never content."""


def waiting(settings: PartnerSettings) -> int:
    """Messages in this partner's queue now."""
    try:
        connection = pika.BlockingConnection(connection_parameters(settings.broker))
    except (AMQPError, OSError) as exc:
        raise WaitingError(f"cannot connect to the broker: {type(exc).__name__}") from None
    try:
        declared = connection.channel().queue_declare(
            partner_queue(settings.partner_id), passive=True
        )
        return int(declared.method.message_count or 0)
    except pika.exceptions.ChannelClosedByBroker as exc:
        raise WaitingError(f"the broker refused: {exc.reply_code}") from None
    except (AMQPError, OSError) as exc:
        raise WaitingError(f"the broker connection failed ({type(exc).__name__})") from None
    finally:
        with contextlib.suppress(AMQPError, OSError):
            if connection.is_open:
                connection.close()
