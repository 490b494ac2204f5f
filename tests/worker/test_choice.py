"""Choosing a partner, the headers, the seen-set, backoff and settings: no broker needed."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from pathlib import Path

import pytest

from haven.broker import BrokerSettings, SettingsError
from haven.broker.limits import RoutingLimits
from haven.broker.reconnect import Backoff, BackoffPolicy
from haven.directory import with_partner, without_partner
from haven.envelope import Labels, PrivateKey, inspect, seal
from haven.store import StoreSettings
from schemas.directory import Directory
from tests.worker.conftest import NOW, ROUTER_KEYS, partner_entry, router_key_file, sealed
from worker import choice
from worker.choice import (
    CandidateCache,
    candidates,
    choose_partner,
    deadline_seconds,
    stable_uniform,
)
from worker.headers import BadHeadersError, RoutingState, death_reason
from worker.metrics import RouterMetrics
from worker.seen import SeenIds
from worker.settings import RouterSettings


def test_choice_prefers_language_then_falls_back(directory: Directory) -> None:
    header = inspect(sealed(directory))
    first = choose_partner(directory, header, (), "id")
    assert first is not None and first.id in ("alpha", "bravo")
    second = choose_partner(directory, header, (first.id,), "id")
    assert second is not None and second.id in ("alpha", "bravo") and second.id != first.id
    third = choose_partner(directory, header, ("alpha", "bravo"), "id")
    assert third is not None and third.id == "charlie"
    assert choose_partner(directory, header, ("alpha", "bravo", "charlie"), "id") is None


def test_choice_is_weighted_by_capacity_through_the_random_seam(directory: Directory) -> None:
    header = inspect(sealed(directory))
    rng = random.Random(7)  # noqa: S311 - a seeded test seam, not a secret
    picks = Counter(
        choose_partner(directory, header, (), "id", lambda _key: rng.random()).id  # type: ignore[union-attr]
        for _ in range(4000)
    )
    # alpha 10, bravo 30: about one in four for alpha.
    assert set(picks) == {"alpha", "bravo"}
    assert 0.2 < picks["alpha"] / 4000 < 0.3


def test_stable_choice_is_the_same_for_the_same_request_and_state(directory: Directory) -> None:
    header = inspect(sealed(directory))
    picks = {choose_partner(directory, header, ("charlie",), "abc") for _ in range(20)}
    assert len(picks) == 1
    assert 0 <= stable_uniform("x") < 1 and stable_uniform("x") == stable_uniform("x")


def test_partner_that_cannot_open_the_envelope_is_never_chosen(
    directory: Directory, partner_keys: dict
) -> None:
    # Sealed to alpha's key only (an older directory, say): only alpha can be chosen.
    envelope = seal(
        b"x", Labels("desertion", "ru-central", "ru", "normal"), [partner_keys["alpha"].public_key]
    )
    header = inspect(envelope)
    assert {choose_partner(directory, header, (), str(i)).id for i in range(50)} == {"alpha"}  # type: ignore[union-attr]
    assert choose_partner(directory, header, ("alpha",), "x") is None


def test_cached_choice_is_the_uncached_choice(directory: Directory, partner_keys: dict) -> None:
    cache = CandidateCache()
    headers = [
        inspect(sealed(directory)),
        inspect(sealed(directory, category="legal_aid", urgency="urgent")),
        # Same labels, other kids: a pool of its own.
        inspect(
            seal(
                b"x",
                Labels("desertion", "ru-central", "ru", "normal"),
                [partner_keys["alpha"].public_key],
            )
        ),
    ]
    for header in headers * 2:
        assert cache.candidates(directory, header, ()) == candidates(directory, header, ())
        for i in range(30):
            expected = choose_partner(directory, header, (), str(i))
            assert choose_partner(directory, header, (), str(i), cache=cache) == expected
    assert len(cache) == 3
    assert [p.id for p in cache.candidates(directory, headers[2], ())] == ["alpha"]


def test_a_new_directory_empties_the_candidate_cache(
    directory: Directory, partner_keys: dict
) -> None:
    cache = CandidateCache()
    header = inspect(sealed(directory))
    assert [p.id for p in cache.candidates(directory, header, ())] == ["alpha", "bravo"]
    # alpha leaves, and charlie learns Russian: nothing of the old pool may survive.
    changed = without_partner(directory, "alpha", now=NOW)
    changed = with_partner(
        changed, partner_entry("charlie", partner_keys["charlie"], languages=["ru"]), now=NOW
    )
    assert [p.id for p in cache.candidates(changed, header, ())] == ["bravo", "charlie"]
    assert len(cache) == 1
    # An equal directory that is another object (a reload) starts afresh too.
    reloaded = Directory(**vars(changed))
    assert reloaded == changed and reloaded is not changed
    assert cache.candidates(reloaded, header, ()) == candidates(reloaded, header, ())
    assert len(cache) == 1
    assert [p.id for p in cache.candidates(directory, header, ())] == ["alpha", "bravo"]


def test_a_tried_list_bypasses_the_candidate_cache(directory: Directory) -> None:
    cache = CandidateCache()
    header = inspect(sealed(directory))
    for tried in (("alpha",), ("bravo",), ("alpha", "bravo"), ("alpha", "bravo", "charlie")):
        assert cache.candidates(directory, header, tried) == candidates(directory, header, tried)
        for i in range(20):
            expected = choose_partner(directory, header, tried, str(i))
            assert choose_partner(directory, header, tried, str(i), cache=cache) == expected
    assert len(cache) == 0
    # ...and leaves the untried pool whole.
    assert [p.id for p in cache.candidates(directory, header, ())] == ["alpha", "bravo"]
    assert [p.id for p in cache.candidates(directory, header, ("bravo",))] == ["alpha"]
    assert [p.id for p in cache.candidates(directory, header, ())] == ["alpha", "bravo"]


def test_the_candidate_cache_is_bounded(
    directory: Directory, partner_keys: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(choice, "MAX_CACHED_POOLS", 2)
    cache = CandidateCache()
    labels = Labels("desertion", "ru-central", "ru", "normal")
    keys = [partner_keys[name].public_key for name in ("alpha", "bravo", "charlie")]
    for subset in ([keys[0]], [keys[1]], [keys[2]], keys[:2], keys):
        header = inspect(seal(b"x", labels, subset))
        assert cache.candidates(directory, header, ()) == candidates(directory, header, ())
        assert 1 <= len(cache) <= 2


def test_labelled_counters_are_remembered_and_count() -> None:
    metrics = RouterMetrics()
    child = metrics.child(metrics.routed, "desertion", "alpha")
    assert metrics.child(metrics.routed, "desertion", "alpha") is child
    assert metrics.child(metrics.rerouted, "desertion", "alpha") is not child
    assert metrics.child(metrics.routed, "desertion", "bravo") is not child
    child.inc()
    metrics.child(metrics.routed, "desertion", "alpha").inc()
    metrics.child(metrics.rerouted, "desertion", "alpha").inc()
    assert metrics.value("routed", category="desertion", partner="alpha") == 2
    assert metrics.value("rerouted", category="desertion", partner="alpha") == 1
    assert metrics.value("routed", category="desertion", partner="bravo") == 0


def test_deadline_urgent_is_shorter_and_capped(directory: Directory) -> None:
    partner = directory.partners[0]
    assert deadline_seconds(partner, "urgent", None) == 6 * 3600
    assert deadline_seconds(partner, "normal", None) == 72 * 3600
    assert deadline_seconds(partner, "normal", 60) == 60


def test_routing_state_round_trips_and_refuses_forgeries() -> None:
    state = RoutingState(("alpha", "bravo"), 0, "partner", "bravo")
    assert RoutingState.from_headers(state.headers()) == state
    assert RoutingState.from_headers(None) == RoutingState()
    for bad in (
        {"x-haven-tried": "alpha,alpha"},
        {"x-haven-tried": "../etc"},
        {"x-haven-retries": "1"},
        {"x-haven-retries": 99},
        {"x-haven-stage": "elsewhere"},
        {"x-haven-tried": "alpha", "x-haven-stage": "partner", "x-haven-partner": "bravo"},
    ):
        with pytest.raises(BadHeadersError):
            RoutingState.from_headers(bad)


def test_death_reason_reads_3_10_and_4_x_headers() -> None:
    assert death_reason({"x-first-death-reason": "expired"}) == "expired"
    assert death_reason({"x-death": [{"reason": b"rejected"}]}) == "rejected"
    assert death_reason({}) is None


def test_seen_ids_are_bounded() -> None:
    seen = SeenIds(2)
    for message_id in ("a", "b", "c"):
        seen.add(message_id)
    assert "a" not in seen and "b" in seen and "c" in seen and len(seen) == 2


def test_backoff_grows_to_its_maximum_and_resets() -> None:
    backoff = Backoff(BackoffPolicy(initial=1, maximum=5, factor=2, jitter=0.5), lambda: 0.0)
    assert [backoff.next_delay() for _ in range(5)] == [1, 2, 4, 5, 5]
    backoff.reset()
    assert backoff.next_delay() == 1
    jittered = Backoff(BackoffPolicy(initial=4, maximum=4, jitter=0.5), lambda: 1.0)
    assert jittered.next_delay() == 2


def test_settings_from_env_read_every_variable_the_router_documents(tmp_path: Path) -> None:
    # Operators tune the router through these variables alone: each one set
    # to a value no default has must arrive, or a limit they set is ignored.
    settings = RouterSettings.from_env(
        {
            "HAVEN_AMQP_URL": "amqp://u:p@broker:5672/haven",
            "HAVEN_PUBLISH_TIMEOUT": "7.5",
            "HAVEN_CONNECT_TIMEOUT": "4.5",
            "HAVEN_RETRY_AFTER": "11",
            "HAVEN_DELIVERY_LIMIT": "9",
            "HAVEN_INTAKE_MAX_LENGTH": "1234",
            "HAVEN_QUARANTINE_MAX_LENGTH": "2345",
            "HAVEN_PARTNER_MAX_LENGTH": "345",
            "HAVEN_PARTNER_DELIVERY_LIMIT": "3",
            "HAVEN_RETURNED_MAX_LENGTH": "456",
            "HAVEN_UNASSIGNED_MAX_LENGTH": "567",
            "HAVEN_RETRY_MAX_LENGTH": "678",
            "HAVEN_RETRY_DELAYS": "2,20",
            "HAVEN_ROUTER_PREFETCH": "7",
            "HAVEN_ROUTER_SEEN_CAPACITY": "4321",
            "HAVEN_ROUTER_MAX_DEADLINE": "900",
            "HAVEN_ROUTER_SHUTDOWN_TIMEOUT": "12.5",
            "HAVEN_DIRECTORY_REFRESH": "42",
            "HAVEN_SERVICE_USERS": "haven-deliver,haven-other",
            "HAVEN_DECLINES_PER_MINUTE": "33",
            "HAVEN_STORE_URL": "postgresql://haven@db/haven",
            "HAVEN_ROUTER_CONSUMED_RETENTION": "1300000",
            **router_key_file(tmp_path),
        }
    )
    expected = RouterSettings(
        broker=BrokerSettings(
            urls=("amqp://u:p@broker:5672/haven",),
            publish_timeout=7.5,
            connect_timeout=4.5,
            retry_after=11,
            delivery_limit=9,
            intake_max_length=1234,
            quarantine_max_length=2345,
        ),
        limits=RoutingLimits(
            partner_max_length=345,
            partner_delivery_limit=3,
            returned_max_length=456,
            unassigned_max_length=567,
            retry_max_length=678,
            retry_delays=(2, 20),
        ),
        prefetch=7,
        seen_capacity=4321,
        max_deadline=900,
        shutdown_timeout=12.5,
        directory_refresh=42,
        service_users=frozenset({"haven-deliver", "haven-other"}),
        declines_per_minute=33,
        store=StoreSettings(url="postgresql://haven@db/haven"),
        consumed_retention=1_300_000,
        keys=ROUTER_KEYS,
    )
    assert settings == expected
    # Every value above differs from its default: a variable that is not
    # read cannot pass unnoticed behind a default that happens to match.
    defaults = RouterSettings(keys=ROUTER_KEYS)
    for group, default_group in (
        (expected.broker, defaults.broker),
        (expected.limits, defaults.limits),
        (expected, defaults),
    ):
        for name in (f.name for f in dataclasses.fields(group)):
            # consumed_capacity: only for a router without a store, never from the environment.
            if name not in {"broker", "limits", "backoff", "keys", "consumed_capacity"}:
                assert getattr(group, name) != getattr(default_group, name), name
    keyed = {**router_key_file(tmp_path), "HAVEN_STORE_URL": "sqlite:///store.sqlite3"}
    assert RouterSettings.from_env(keyed).max_deadline is None
    with pytest.raises(SettingsError):
        RouterSettings.from_env({**keyed, "HAVEN_ROUTER_PREFETCH": "0"})
    with pytest.raises(SettingsError, match="HAVEN_ROUTER_KEY_FILE"):
        RouterSettings.from_env({})
    # Without the store a router would keep used assignments to itself.
    without_store = {k: v for k, v in keyed.items() if k != "HAVEN_STORE_URL"}
    with pytest.raises(SettingsError, match="HAVEN_STORE_URL is not set"):
        RouterSettings.from_env(without_store)
    for days in ("1000000", "40000000", "30d"):
        with pytest.raises(SettingsError, match="HAVEN_ROUTER_CONSUMED_RETENTION"):
            RouterSettings.from_env({**keyed, "HAVEN_ROUTER_CONSUMED_RETENTION": days})
    with pytest.raises(SettingsError):
        RoutingLimits.from_env({"HAVEN_RETRY_DELAYS": "5,x"})


def test_a_follow_up_has_one_candidate_the_partner_it_names_and_only_once(
    directory: Directory, partner_keys: dict[str, PrivateKey]
) -> None:
    # delta serves asylum only and alpha has a third of bravo's capacity:
    # a follow-up goes to the partner named, whatever it serves.
    for name in ("alpha", "delta"):
        header = inspect(
            seal(b"{}", Labels("follow_up", name, "en", "normal"), [partner_keys[name].public_key])
        )
        assert [p.id for p in candidates(directory, header, ())] == [name]
        assert [p.id for p in CandidateCache().candidates(directory, header, ())] == [name]
        # Once tried (declined, expired), nobody is left.
        assert candidates(directory, header, (name,)) == ()
        assert choose_partner(directory, header, (name,), "id") is None
    alpha, bravo = partner_keys["alpha"].public_key, partner_keys["bravo"].public_key
    unknown = inspect(seal(b"{}", Labels("follow_up", "zulu", "ru", "normal"), [alpha]))
    shared = inspect(seal(b"{}", Labels("follow_up", "alpha", "ru", "normal"), [alpha, bravo]))
    assert candidates(directory, unknown, ()) == ()
    assert candidates(directory, shared, ()) == ()
