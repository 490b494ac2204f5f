"""The public key file `haven keygen --public` writes and `haven seal --to` reads (docs/envelope-v1.md section 3)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from haven.cli.common import CliError
from haven.cli.keyfiles import (
    load_public_key,
    load_public_key_file,
    partner_public_key_json,
    public_key_json,
)
from haven.envelope import PrivateKey
from haven.replies import signing_public_key

PRIVATE = PrivateKey.from_seed(bytes([0x11]) * 32)
KEY = PRIVATE.public_key
KID = KEY.kid_hex
B64 = base64.b64encode(KEY.to_bytes()).decode("ascii")
SIGNING = signing_public_key(PRIVATE)
SIGNING_B64 = base64.b64encode(SIGNING).decode("ascii")
MEMBERS = 'expected "kid", "public_key" and optionally "signing_key"'


def test_keygen_writes_the_documented_bytes_and_seal_reads_them(tmp_path: Path) -> None:
    data = public_key_json(KEY)
    assert data == f'{{\n "kid": "{KID}",\n "public_key": "{B64}"\n}}\n'.encode()
    path = tmp_path / "partner.pub"
    path.write_bytes(data)
    assert load_public_key(path) == KEY
    # Any JSON layout of the same two members is the same file.
    path.write_text(json.dumps({"public_key": B64, "kid": KID}))
    assert load_public_key(path) == KEY
    assert load_public_key_file(path).signing_key is None


def test_keygen_writes_the_signing_key_after_the_public_key(tmp_path: Path) -> None:
    data = partner_public_key_json(PRIVATE)
    assert (
        data
        == (
            f'{{\n "kid": "{KID}",\n "public_key": "{B64}",\n "signing_key": "{SIGNING_B64}"\n}}\n'
        ).encode()
    )
    path = tmp_path / "partner.pub"
    path.write_bytes(data)
    loaded = load_public_key_file(path)
    assert (loaded.key, loaded.signing_key) == (KEY, SIGNING)
    # Sealing needs only the X-Wing key: the same file serves both.
    assert load_public_key(path) == KEY


LOW_ORDER = base64.b64encode(KEY.to_bytes()[:1184] + bytes(32)).decode("ascii")


@pytest.mark.parametrize(
    "text,reason",
    [
        ("[1]", MEMBERS),
        (json.dumps({"public_key": B64}), MEMBERS),
        (json.dumps({"kid": KID, "public_key": B64, "name": "lawyers"}), MEMBERS),
        (json.dumps({"kid": KID, "signing_key": SIGNING_B64}), MEMBERS),
        (
            json.dumps({"kid": KID, "public_key": B64, "signing_key": SIGNING_B64[:-4]}),
            "signing_key: must be 32 bytes",
        ),
        (
            json.dumps({"kid": KID, "public_key": B64, "signing_key": SIGNING_B64.rstrip("=")}),
            "signing_key: not base64",
        ),
        (json.dumps({"kid": KID, "public_key": B64, "signing_key": None}), "signing_key: not a"),
        (f'{{"kid": "{KID}", "public_key": "{B64}", "public_key": "{B64}"}}', "duplicate key"),
        ("\ufeff" + json.dumps({"kid": KID, "public_key": B64}), "byte order mark"),
        ("not json", "not JSON"),
        (
            json.dumps({"kid": KID, "public_key": B64[:40] + "\n" + B64[40:]}),
            "public_key: not base64",
        ),
        (json.dumps({"kid": KID, "public_key": 7}), "public_key: not a base64 string"),
        (json.dumps({"kid": KID.upper(), "public_key": B64}), "kid does not match"),
        (json.dumps({"kid": KID, "public_key": B64[:-8]}), "public key must be 1216 bytes"),
        (json.dumps({"kid": KID, "public_key": LOW_ORDER}), "X25519 half is a low-order point"),
    ],
)
def test_anything_else_is_refused_in_one_line_naming_why(
    tmp_path: Path, text: str, reason: str
) -> None:
    path = tmp_path / "partner.pub"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CliError) as refused:
        load_public_key(path)
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(str(path)), message
    assert reason in message, message
