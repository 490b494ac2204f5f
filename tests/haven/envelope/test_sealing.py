"""Sealing and opening with real keys: round trips, bindings, sizes."""

from __future__ import annotations

import pytest

from haven.envelope import (
    MAX_CONTENT_BYTES,
    MAX_ENVELOPE_BYTES,
    MAX_RECIPIENTS,
    Labels,
    OpenError,
    PrivateKey,
    digest,
    inspect,
    is_message_id,
    open_envelope,
    seal,
)


def test_every_recipient_opens_the_same_content(
    partner_keys: list[PrivateKey], labels: Labels
) -> None:
    content = "Мобилизован, сейчас в Казахстане. Нужен юрист.".encode()
    envelope = seal(content, labels, [k.public_key for k in partner_keys])
    for key in partner_keys:
        opened = open_envelope(envelope, [key])
        assert opened.content == content
        assert opened.labels == labels
        assert opened.server_sealed is False


def test_partner_with_several_keys_finds_its_stanza(
    partner_keys: list[PrivateKey], labels: Labels
) -> None:
    envelope = seal(b"x", labels, [partner_keys[1].public_key])
    rotated_out = PrivateKey.generate()
    assert open_envelope(envelope, [rotated_out, partner_keys[1]]).content == b"x"


def test_server_sealed_flag_travels(partner_keys: list[PrivateKey], labels: Labels) -> None:
    envelope = seal(b"x", labels, [partner_keys[0].public_key], server_sealed=True)
    assert inspect(envelope).server_sealed
    assert open_envelope(envelope, [partner_keys[0]]).server_sealed


def test_short_and_long_requests_seal_to_the_same_size(
    partner_keys: list[PrivateKey], labels: Labels
) -> None:
    recipients = [k.public_key for k in partner_keys[:2]]
    short = seal(("я" * 10).encode(), labels, recipients)
    long = seal(("я" * 900).encode(), labels, recipients)
    assert len(short) == len(long)


def test_buckets_grow_in_steps(partner_keys: list[PrivateKey], labels: Labels) -> None:
    recipient = [partner_keys[0].public_key]
    sizes = {
        inspect(seal(b"a" * n, labels, recipient)).bucket for n in (0, 4092, 4093, 16380, 16381)
    }
    assert sizes == {4096, 16384, 65536}


def test_largest_envelope_is_the_stated_maximum(labels: Labels) -> None:
    wide = Labels("c" * 32, "r" * 32, "l" * 32, "u" * 32)
    keys = [PrivateKey.generate().public_key for _ in range(MAX_RECIPIENTS)]
    envelope = seal(b"z" * MAX_CONTENT_BYTES, wide, keys)
    assert len(envelope) == MAX_ENVELOPE_BYTES


def test_limits_are_refused_before_sealing(partner_keys: list[PrivateKey], labels: Labels) -> None:
    key = partner_keys[0].public_key
    with pytest.raises(ValueError, match="at most"):
        seal(b"z" * (MAX_CONTENT_BYTES + 1), labels, [key])
    with pytest.raises(ValueError, match="recipients"):
        seal(b"z", labels, [])
    with pytest.raises(ValueError, match="twice"):
        seal(b"z", labels, [key, key])


def test_stanzas_are_in_kid_order_whatever_the_caller_gave(
    partner_keys: list[PrivateKey], labels: Labels
) -> None:
    keys = [k.public_key for k in partner_keys]
    envelope = seal(b"z", labels, list(reversed(keys)))
    assert list(inspect(envelope).kids) == sorted(k.kid for k in keys)


def test_every_single_byte_change_is_detected(
    partner_keys: list[PrivateKey], labels: Labels
) -> None:
    key = partner_keys[0]
    envelope = seal(b"payload", labels, [key.public_key])
    # One position in each region: magic, flags, labels, count, kid, enc, wrapped key, body.
    header = inspect(envelope)
    prefix = len(header.prefix)
    positions = [0, 3, 4, 6, prefix, prefix + 1, prefix + 40, prefix + 1170, len(envelope) - 1]
    for position in positions:
        tampered = bytearray(envelope)
        tampered[position] ^= 0x01
        with pytest.raises(OpenError):
            open_envelope(bytes(tampered), [key])


def test_digest_is_the_sha256_of_the_bytes(partner_keys: list[PrivateKey], labels: Labels) -> None:
    envelope = seal(b"z", labels, [partner_keys[0].public_key])
    assert len(digest(envelope)) == 64
    assert digest(envelope) == digest(bytes(envelope))
    assert digest(envelope) != digest(seal(b"z", labels, [partner_keys[0].public_key]))


def test_message_ids_are_exactly_the_shape_of_a_digest(
    partner_keys: list[PrivateKey], labels: Labels
) -> None:
    assert is_message_id(digest(seal(b"z", labels, [partner_keys[0].public_key])))
    good = "0123456789abcdef" * 4
    assert is_message_id(good)
    # Each of these would put sender-chosen text into a log line or an inbox path.
    for bad in (
        good.upper(),
        good[:-1],
        good + "0",
        good + "\n",
        "../" + good[3:],
        good.encode(),
        None,
        64,
    ):
        assert not is_message_id(bad), bad


def test_labels_refuse_free_text() -> None:
    with pytest.raises(ValueError, match="category"):
        Labels("Иван Петров", "ru-central", "ru", "urgent")
    with pytest.raises(ValueError, match="region"):
        Labels("desertion", "x" * 33, "ru", "urgent")


def test_open_error_carries_no_trace_of_the_failing_step(
    partner_keys: list[PrivateKey], labels: Labels
) -> None:
    envelope = seal(b"secret", labels, [partner_keys[0].public_key])
    tampered = envelope[:-1] + bytes([envelope[-1] ^ 1])
    for candidate, keys in (
        (tampered, [partner_keys[0]]),
        (b"junk", [partner_keys[0]]),
        (envelope, [partner_keys[1]]),
    ):
        with pytest.raises(OpenError) as failure:
            open_envelope(candidate, keys)
        assert failure.value.__cause__ is None
        assert failure.value.__context__ is None
        assert failure.value.__traceback__ is not None
        # The frame that raised holds no file key or plaintext.
        frame = failure.traceback[-1].frame
        assert set(frame.f_locals) <= {"envelope", "keys", "opened"}


def test_open_accepts_any_bytes_like_and_refuses_garbage_keys(
    partner_keys: list[PrivateKey], labels: Labels
) -> None:
    envelope = seal(b"x", labels, [partner_keys[0].public_key])
    assert open_envelope(memoryview(envelope), [partner_keys[0]]).content == b"x"  # type: ignore[arg-type]
    with pytest.raises(OpenError):
        open_envelope(envelope, ["not a key"])  # type: ignore[list-item]
