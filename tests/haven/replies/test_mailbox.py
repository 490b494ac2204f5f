"""The mailbox's proof-of-work target and the fetch answer's padding, from docs/replies-v1.md section 4.2."""

from __future__ import annotations

import hashlib
import json

import pytest

from haven.replies import FETCH_BUCKETS, fetch_bucket, fetch_response, mailbox_work_target


def test_the_work_target_is_the_spec_s_hash() -> None:
    mailbox_id = bytes(range(32))
    for action in ("fetch", "delete"):
        expected = hashlib.sha256(
            b"haven/replies/v1 mailbox" + b"\x00" + action.encode() + b"\x00" + mailbox_id
        ).digest()
        assert mailbox_work_target(action, mailbox_id) == expected
    # One solution pays for one action on one mailbox.
    assert mailbox_work_target("fetch", mailbox_id) != mailbox_work_target("delete", mailbox_id)
    assert mailbox_work_target("fetch", mailbox_id) != mailbox_work_target("fetch", bytes(32))


def test_the_work_target_refuses_what_the_spec_does_not_name() -> None:
    with pytest.raises(ValueError, match="action"):
        mailbox_work_target("read", bytes(32))
    with pytest.raises(ValueError, match="32 bytes"):
        mailbox_work_target("fetch", bytes(31))


def test_the_answer_is_padded_to_its_bucket_and_reads_back() -> None:
    assert FETCH_BUCKETS == (65536, 262144, 1048576, 4194304)
    empty = fetch_response([])
    assert len(empty) == 65536
    assert json.loads(empty)["messages"] == []
    message = json.dumps({"partner": "lawyers", "sealed": "A" * 70_000, "signature": "B"}).encode()
    body = fetch_response([message, message])
    assert len(body) == 262144
    document = json.loads(body)
    assert document["messages"] == [json.loads(message)] * 2
    assert set(document["padding"]) == {" "}
    assert set(document) == {"messages", "padding"}


def test_the_bucket_edges() -> None:
    assert fetch_bucket(0) == 65536
    assert fetch_bucket(65536) == 65536
    assert fetch_bucket(65537) == 262144
    assert fetch_bucket(4194304) == 4194304
    assert fetch_bucket(4194305) == 2 * 4194304
    # A body exactly at a bucket gets an empty padding, still one document.
    overhead = len(b'{"messages":[],"padding":""}')
    exact = b'"' + b"x" * (65536 - overhead - 2) + b'"'
    body = fetch_response([exact])
    assert len(body) == 65536
    assert json.loads(body)["padding"] == ""
