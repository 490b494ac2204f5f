"""Running the webhook delivery: one deliverer thread per webhook partner of the verified directory."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from haven.broker.settings import SettingsError
from schemas.directory import Directory
from worker.directory import DirectoryLoader, reload_or_keep
from worker.webhook.address import Resolver, system_resolver
from worker.webhook.client import tls_context
from worker.webhook.metrics import WebhookMetrics
from worker.webhook.partner import PartnerDeliverer
from worker.webhook.settings import WebhookSettings

log = logging.getLogger(__name__)


def webhook_partners(directory: Directory) -> dict[str, str]:
    """Partner id -> webhook URL, for the partners whose delivery is a webhook."""
    return {
        partner.id: partner.delivery.url
        for partner in directory.partners
        if partner.delivery.kind == "webhook" and partner.delivery.url is not None
    }


@dataclass
class _Running:
    url: str
    stop: threading.Event
    thread: threading.Thread


class _Readiness:
    """Calls `on_consuming` once every partner thread of the current set consumes."""

    def __init__(self, on_consuming: Callable[[], None] | None) -> None:
        self._on_consuming = on_consuming
        self._lock = threading.Lock()
        self._wanted: frozenset[str] = frozenset()
        self._ready: set[str] = set()
        self._told = False

    def expect(self, partner_ids: frozenset[str]) -> None:
        with self._lock:
            self._wanted = partner_ids
            self._ready &= partner_ids
        self._maybe_tell()

    def ready(self, partner_id: str) -> None:
        with self._lock:
            self._ready.add(partner_id)
        self._maybe_tell()

    def _maybe_tell(self) -> None:
        with self._lock:
            tell = not self._told and self._wanted <= self._ready
            self._told = self._told or tell
        if tell and self._on_consuming is not None:
            self._on_consuming()


def run_deliverer(
    settings: WebhookSettings,
    directory_loader: DirectoryLoader,
    stop_event: threading.Event,
    *,
    metrics: WebhookMetrics | None = None,
    on_consuming: Callable[[], None] | None = None,
    resolver: Resolver = system_resolver,
) -> WebhookMetrics:
    """Deliver to every webhook partner of the verified directory until `stop_event` is set.

    The directory is reloaded every `directory_refresh` seconds (a failing
    reload keeps the last verified one); a partner whose URL changes, or who
    leaves, has its thread stopped (after its in-flight delivery), and a new
    one started. If the very first load fails its error propagates.
    """
    metrics = metrics if metrics is not None else WebhookMetrics()
    context = tls_context(settings.ca_file)
    settings.username()  # fail now, not in every thread, if the URL names no user
    if settings.allow_private:
        log.warning(
            "HAVEN_WEBHOOK_ALLOW_PRIVATE=1: webhooks may reach loopback and private "
            "addresses; for tests only, never in production"
        )
    directory = directory_loader()
    readiness = _Readiness(on_consuming)
    running: dict[str, _Running] = {}

    def start(partner_id: str, url: str) -> _Running:
        stop = threading.Event()
        deliverer = PartnerDeliverer(
            settings,
            partner_id,
            url,
            context,
            metrics,
            stop_event=stop,
            on_consuming=lambda: readiness.ready(partner_id),
            resolver=resolver,
        )
        thread = threading.Thread(target=deliverer.run, name=f"deliver-{partner_id}", daemon=True)
        thread.start()
        return _Running(url, stop, thread)

    try:
        while True:
            wanted = webhook_partners(directory)
            changed = [pid for pid, run in running.items() if wanted.get(pid) != run.url]
            for partner_id in changed:
                running[partner_id].stop.set()
            for partner_id in changed:
                running.pop(partner_id).thread.join()
            for partner_id, url in wanted.items():
                if partner_id not in running:
                    try:
                        running[partner_id] = start(partner_id, url)
                    except SettingsError as exc:
                        log.error("partner %s: %s; not delivering", partner_id, exc)
            readiness.expect(frozenset(running))
            if stop_event.wait(settings.directory_refresh):
                break
            directory = reload_or_keep(directory_loader, directory)
    finally:
        # Each thread finishes its in-flight delivery, acks nothing unfinished, closes.
        for run in running.values():
            run.stop.set()
        for run in running.values():
            run.thread.join()
    log.info("deliverer stopped")
    return metrics
