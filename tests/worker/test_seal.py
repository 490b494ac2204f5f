"""The routing seal: made by a router key holder for one message id, and by nobody else."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from haven.broker import SettingsError
from worker.headers import ATTEMPTS, SEAL, TRIED, RoutingState
from worker.seal import KEY_BYTES, BadSealError, RouterKey, RouterKeys, canonical

MESSAGE_ID = "ab" * 32
OTHER_ID = "cd" * 32
STATE = RoutingState(tried=("alpha", "bravo"), retries=0, stage="partner", partner="bravo")


@pytest.fixture
def keys() -> RouterKeys:
    return RouterKeys(RouterKey.generate())


def test_a_seal_verifies_for_its_message_and_gives_back_the_state(keys: RouterKeys) -> None:
    headers = keys.seal(MESSAGE_ID, STATE)
    sealed = keys.verify(MESSAGE_ID, headers)
    assert sealed.state == STATE
    assert len(sealed.nonce) == 16
    # Every assignment gets a nonce of its own, even for the same state.
    assert keys.verify(MESSAGE_ID, keys.seal(MESSAGE_ID, STATE)).nonce != sealed.nonce


def test_bytes_headers_as_pika_may_deliver_them_verify(keys: RouterKeys) -> None:
    headers = {
        k: v.encode() if isinstance(v, str) else v for k, v in keys.seal(MESSAGE_ID, STATE).items()
    }
    assert keys.verify(MESSAGE_ID, headers).state == STATE


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h: {**h, TRIED: "alpha"},  # a tried list the sender chose
        lambda h: {**h, TRIED: "bravo,alpha"},  # the same partners, in another order
        lambda h: {**h, ATTEMPTS: 3},
        lambda h: {**h, "x-haven-partner": "alpha"},
        lambda h: {**h, SEAL: h[SEAL][:-1] + ("0" if h[SEAL][-1] != "0" else "1")},
        lambda h: {k: v for k, v in h.items() if k != SEAL},
        lambda h: {**h, SEAL: "v2" + h[SEAL][2:]},
        lambda h: {**h, SEAL: 12},
    ],
    ids=["tried", "order", "attempts", "partner", "mac", "no-seal", "version", "not-text"],
)
def test_any_change_to_the_state_or_the_seal_is_refused(keys: RouterKeys, tamper: object) -> None:
    headers = keys.seal(MESSAGE_ID, STATE)
    with pytest.raises(BadSealError):
        keys.verify(MESSAGE_ID, tamper(headers))  # type: ignore[operator]


def test_a_seal_is_for_one_message_id_only(keys: RouterKeys) -> None:
    with pytest.raises(BadSealError):
        keys.verify(OTHER_ID, keys.seal(MESSAGE_ID, STATE))


def test_another_deployments_key_is_refused_and_the_previous_key_still_verifies() -> None:
    old, new = RouterKey.generate(), RouterKey.generate()
    sealed_before = RouterKeys(old).seal(MESSAGE_ID, STATE)
    with pytest.raises(BadSealError, match="unknown key"):
        RouterKeys(new).verify(MESSAGE_ID, sealed_before)
    rotating = RouterKeys(new, previous=(old,))
    assert rotating.verify(MESSAGE_ID, sealed_before).state == STATE
    assert rotating.seal(MESSAGE_ID, STATE)[SEAL].split(".")[1] == new.key_id


def test_the_canonical_encoding_tells_states_apart() -> None:
    states = [
        STATE,
        dataclasses.replace(STATE, tried=("alpha,bravo",)),
        dataclasses.replace(STATE, retries=1),
        dataclasses.replace(STATE, stage="redeliver"),
        dataclasses.replace(STATE, attempts=1),
        RoutingState(),
    ]
    assert len({canonical(state) for state in states}) == len(states)


def test_key_files_are_read_strictly_and_never_shown(tmp_path: Path) -> None:
    path = tmp_path / "router.key"
    secret = bytes(range(KEY_BYTES))
    path.write_bytes(secret)
    keys = RouterKeys.from_env({"HAVEN_ROUTER_KEY_FILE": str(path)})
    assert keys.current.secret == secret
    assert secret.hex() not in repr(keys) and str(secret) not in repr(keys)
    for wrong in (secret[:-1], secret + b"\n", b""):
        path.write_bytes(wrong)
        with pytest.raises(SettingsError, match="HAVEN_ROUTER_KEY_FILE") as raised:
            RouterKeys.from_env({"HAVEN_ROUTER_KEY_FILE": str(path)})
        assert secret[:8].hex() not in str(raised.value)
    path.write_bytes(secret + b"\n")
    with pytest.raises(SettingsError) as raised:
        RouterKeys.from_env({"HAVEN_ROUTER_KEY_FILE": str(path)})
    # The words every setting that names a file uses (haven.files.read_setting_file).
    assert str(raised.value) == f"HAVEN_ROUTER_KEY_FILE: {path} is larger than {KEY_BYTES} bytes"
    absent = tmp_path / "absent"
    with pytest.raises(SettingsError) as raised:
        RouterKeys.from_env({"HAVEN_ROUTER_KEY_FILE": str(absent)})
    assert str(raised.value) == (
        f"HAVEN_ROUTER_KEY_FILE: cannot read {absent}: No such file or directory"
    )
    with pytest.raises(SettingsError, match="HAVEN_ROUTER_KEY_FILE must name"):
        RouterKeys.from_env({})
