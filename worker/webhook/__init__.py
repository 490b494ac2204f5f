"""Webhook delivery: POST each request in a webhook partner's queue to its https URL, still sealed.

One thread per webhook partner, each with its own blocking pika connection
(pika connections are not thread-safe), consuming `haven.partner.<id>`
with prefetch 1:

    2xx                          -> ack (the partner has it)
    4xx except 408 and 429       -> decline "webhook-refused": the router
                                    gives it to the next eligible partner
    anything else (5xx, 408, 429, 3xx, timeout, connection or TLS error,
    a host that resolves to a non-public address)
                                 -> retry tier `attempts`, then back to the
                                    same partner through the router; after
                                    the last tier, decline "webhook-failed":
                                    the router gives it to the next eligible
                                    partner, or quarantines it (reason
                                    "webhook-failed") if none is left

Every onward publish is mandatory, persistent and confirmed, and the
source delivery is acked only after the confirm. A refused publish is not
acked: the connection is closed and rebuilt after a backoff, and the broker
redelivers (at-least-once; the partner may see the same webhook-id twice).

Prefetch 1: a slow partner holds one request; the others wait in its queue
with their deadlines running, so an unresponsive webhook's requests expire
back to the router and go to the next partner.

Logs and metrics name message ids, partner ids, status codes and error
class names only: never the body, never the URL's path or query (it may
hold the partner's token), never the secret. The host is logged at start
and when it resolves to a refused address (the kind, never the address).

Modules: `settings` (WebhookSettings), `client` (the HTTPS POST),
`address` (which addresses a POST may connect to),
`partner` (one partner's delivery loop), `run` (a thread per partner of
the verified directory), `metrics`, `signing` (the Standard Webhooks
signature partners verify).
"""

from worker.webhook.client import Answer, Target, classify, tls_context
from worker.webhook.metrics import WebhookMetrics
from worker.webhook.partner import FAILED, REFUSED, PartnerDeliverer
from worker.webhook.run import run_deliverer, webhook_partners
from worker.webhook.settings import WebhookSettings

__all__ = [
    "FAILED",
    "REFUSED",
    "Answer",
    "PartnerDeliverer",
    "Target",
    "WebhookMetrics",
    "WebhookSettings",
    "classify",
    "run_deliverer",
    "tls_context",
    "webhook_partners",
]
