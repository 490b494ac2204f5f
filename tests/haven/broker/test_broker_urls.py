"""HAVEN_AMQP_URL as a list of nodes: how it is split, what is refused, and the failover order."""

from __future__ import annotations

import pytest

from haven.broker import BrokerSettings
from haven.broker.reconnect import Backoff, BackoffPolicy, Failover
from haven.broker.settings import SettingsError, split_urls

A = "amqp://haven-intake:s3cret@rabbitmq:5672/%2F"
B = "amqp://haven-intake:s3cret@rabbitmq-2:5672/%2F"
C = "amqp://haven-intake:s3cret@rabbitmq-3:5673/%2F"


@pytest.mark.parametrize(
    "raw",
    [f"{A},{B},{C}", f"{A}, {B} ,{C},", f"{A} {B}\n{C}", f"\n{A}\n{B}\n{C}\n", f"{A},\n{B}\t{C}"],
)
def test_a_list_of_urls_is_read_in_order_whatever_separates_them(raw: str) -> None:
    settings = BrokerSettings.from_env({"HAVEN_AMQP_URL": raw})
    assert settings.urls == (A, B, C)
    assert settings.username == "haven-intake"
    assert settings.virtual_host == "/"


def test_one_url_is_a_list_of_one_and_a_comma_inside_a_password_stays() -> None:
    with_comma = "amqp://u:pa%2Css,word@h1/v"
    assert split_urls(with_comma) == (with_comma,)
    assert split_urls(f"{with_comma},amqp://u:pa%2Css,word@h2/v") == (
        with_comma,
        "amqp://u:pa%2Css,word@h2/v",
    )
    assert BrokerSettings.from_env({"HAVEN_AMQP_URL": A}).urls == (A,)


@pytest.mark.parametrize(
    ("second", "part"),
    [
        ("amqp://haven-router:s3cret@rabbitmq-2:5672/%2F", "user"),
        ("amqp://haven-intake:other-Pass@rabbitmq-2:5672/%2F", "password"),
        ("amqp://haven-intake:s3cret@rabbitmq-2:5672/network", "vhost"),
        # Failing over must never drop TLS, nor change its options.
        ("amqps://haven-intake:s3cret@rabbitmq-2:5671/%2F", "scheme"),
        ("amqp://haven-intake:s3cret@rabbitmq-2:5672/%2F?heartbeat=5", "query"),
    ],
)
def test_nodes_naming_another_user_password_vhost_scheme_or_options_are_refused(
    second: str, part: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        BrokerSettings.from_env({"HAVEN_AMQP_URL": f"{A},{second}"})
    message = str(refused.value)
    assert message.startswith("HAVEN_AMQP_URL: URL 2 names another " + part)
    assert "s3cret" not in message and "other-Pass" not in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        (f"{A},http://rabbitmq-2/", "URL 2 must be an amqp:// or amqps:// URL"),
        (f"{A},amqp://haven-intake:s3cret@rabbitmq-2:port/%2F", "URL 2 is not a valid AMQP URL"),
        (" , ", "holds no broker URL"),
        ("ftp://x", "URL 1 must be an amqp:// or amqps:// URL"),
    ],
)
def test_a_url_that_is_not_amqp_is_refused_by_its_position(raw: str, said: str) -> None:
    with pytest.raises(SettingsError, match=r"^HAVEN_AMQP_URL") as refused:
        BrokerSettings.from_env({"HAVEN_AMQP_URL": raw})
    assert said in str(refused.value)
    assert "s3cret" not in str(refused.value)


def test_a_list_of_tls_nodes_is_one_cluster() -> None:
    tls = tuple(url.replace("amqp://", "amqps://") for url in (A, B))
    assert BrokerSettings.from_env({"HAVEN_AMQP_URL": ",".join(tls)}).urls == tls


def test_an_empty_list_is_refused() -> None:
    with pytest.raises(SettingsError, match="HAVEN_AMQP_URL holds no broker URL"):
        BrokerSettings(urls=())


def test_failover_tries_the_next_node_at_once_and_backs_off_only_after_a_whole_round() -> None:
    failover = Failover(3, Backoff(BackoffPolicy(initial=1, maximum=8, jitter=0), lambda: 0.0))
    assert failover.node == 0
    # Node 0 and 1 fail: the next is tried at once; all three failed: wait.
    assert [failover.next_delay(), failover.node] == [0.0, 1]
    assert [failover.next_delay(), failover.node] == [0.0, 2]
    assert [failover.next_delay(), failover.node] == [1.0, 0]
    assert [failover.next_delay(), failover.next_delay(), failover.next_delay()] == [0, 0, 2.0]
    # Node 0 works, then its connection is lost: the short first wait, then node 1.
    failover.connected()
    assert [failover.next_delay(), failover.node] == [1.0, 1]
    assert [failover.next_delay(), failover.next_delay(), failover.node] == [0.0, 0.0, 0]
    assert failover.next_delay() == 2.0


def test_with_one_node_failover_is_the_plain_backoff() -> None:
    failover = Failover(1, Backoff(BackoffPolicy(initial=1, maximum=8, jitter=0), lambda: 0.0))
    assert [failover.next_delay() for _ in range(3)] == [1.0, 2.0, 4.0]
    assert failover.node == 0
    failover.connected()
    assert failover.next_delay() == 1.0
