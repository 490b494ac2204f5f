"""`haven open` reads boundedly from anything, and says only what the spec lets it say.

The limit is MAX_ENVELOPE_BYTES: a partner handed /dev/zero, a named pipe or
an endless standard input by mistake gets one line naming that limit, and the
command never holds more than the limit and one byte. The errors are the two
kinds of docs/envelope-v1.md section 8: public inspection errors naming the
rule, and past inspection the one opening error for every case.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from haven.envelope import MAX_ENVELOPE_BYTES, EnvelopeFormatError, ScryptParams, inspect
from haven.envelope.keyfile import wrap_private_key
from tests.haven.cli.conftest import Haven, Result, assert_one_line_error
from tests.repo import REPO

VECTORS = REPO / "tests" / "haven" / "envelope" / "vectors" / "envelope-v1.json"
PASSPHRASE = "test-only passphrase"
# Cheap scrypt (still in the accepted range): these tests are about input, not key files.
CHEAP = ScryptParams(log2_n=10, r=1, p=1)
TOO_LARGE = f"larger than {MAX_ENVELOPE_BYTES} bytes"
# If the bound ever breaks, an endless input must crash the child, not the
# shared test machine: its address space is capped well below the RAM.
ADDRESS_SPACE_CAP = 2 * 1024**3
ENDLESS_INPUT_TIMEOUT = 60


@pytest.fixture(scope="module")
def vectors() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(VECTORS.read_text(encoding="utf-8"))
    return data


def _key_file(directory: Path, seed_hex: str) -> Path:
    path = directory / f"{seed_hex[:8]}.key"
    if not path.exists():
        path.write_bytes(wrap_private_key(bytes.fromhex(seed_hex), PASSPHRASE, params=CHEAP))
    return path


@pytest.fixture
def pw(tmp_path: Path) -> tuple[str, str]:
    path = tmp_path / "passphrase"
    path.write_text(PASSPHRASE + "\n")
    return ("--passphrase-file", str(path))


def _capped_open(
    tmp_path: Path, source: str, key: Path, pw: tuple[str, str], stdin: Any = None
) -> Result:
    command = ["open", source, "--key", str(key), *pw]
    done = subprocess.run(
        [
            "prlimit",
            f"--as={ADDRESS_SPACE_CAP}",
            "--",
            sys.executable,
            "-m",
            "haven.cli.main",
            *command,
        ],
        cwd=tmp_path,
        stdin=stdin,
        capture_output=True,
        timeout=ENDLESS_INPUT_TIMEOUT,
        check=False,
    )
    return Result(done.returncode, done.stdout.decode(), done.stderr.decode())


def test_dev_zero_is_refused_at_the_bound(tmp_path: Path, pw: tuple[str, str]) -> None:
    key = _key_file(tmp_path, "11" * 32)
    assert_one_line_error(_capped_open(tmp_path, "/dev/zero", key, pw), "/dev/zero", TOO_LARGE)


def test_an_endless_named_pipe_is_refused_at_the_bound(tmp_path: Path, pw: tuple[str, str]) -> None:
    key = _key_file(tmp_path, "11" * 32)
    fifo = tmp_path / "endless.fifo"
    os.mkfifo(fifo)
    # The writer blocks until `haven open` opens the pipe, then writes until
    # the reader has gone (SIGPIPE).
    writer = subprocess.Popen(["sh", "-c", 'exec cat /dev/zero > "$0"', str(fifo)])
    try:
        result = _capped_open(tmp_path, str(fifo), key, pw)
    finally:
        writer.kill()
        writer.wait(timeout=10)
    assert_one_line_error(result, "endless.fifo", TOO_LARGE)


def test_an_endless_standard_input_is_refused_at_the_bound(
    tmp_path: Path, pw: tuple[str, str]
) -> None:
    key = _key_file(tmp_path, "11" * 32)
    writer = subprocess.Popen(["cat", "/dev/zero"], stdout=subprocess.PIPE)
    try:
        result = _capped_open(tmp_path, "-", key, pw, stdin=writer.stdout)
    finally:
        writer.kill()
        writer.wait(timeout=10)
        assert writer.stdout is not None
        writer.stdout.close()
    assert_one_line_error(result, "standard input", TOO_LARGE)


@pytest.mark.parametrize("extra", [1, 2])
def test_one_or_two_bytes_over_the_limit_name_the_limit(
    haven: Haven, tmp_path: Path, pw: tuple[str, str], extra: int
) -> None:
    key = _key_file(tmp_path, "11" * 32)
    (tmp_path / "big.env").write_bytes(bytes(MAX_ENVELOPE_BYTES + extra))
    result = haven("open", "big.env", "--key", key, *pw)
    assert_one_line_error(result, "big.env", TOO_LARGE)
    assert str(MAX_ENVELOPE_BYTES + 1) not in result.err


def test_an_envelope_on_standard_input_opens(
    haven: Haven, tmp_path: Path, pw: tuple[str, str], vectors: dict[str, Any]
) -> None:
    (case,) = [c for c in vectors["positive"] if c["content_is_request"]]
    key = _key_file(tmp_path, case["seeds"][0])
    result = haven("open", "-", "--key", key, *pw, "--json", stdin=bytes.fromhex(case["envelope"]))
    assert result.code == 0, result.err
    assert json.loads(result.out)["routing"] == case["labels"]


def test_a_broken_structure_is_named_before_any_key_is_read(
    haven: Haven, tmp_path: Path, pw: tuple[str, str], vectors: dict[str, Any]
) -> None:
    (case,) = [c for c in vectors["negative"] if c["name"] == "wrong_version"]
    (tmp_path / "v2.env").write_bytes(bytes.fromhex(case["envelope"]))
    # The key file does not exist: inspection (public, keyless) comes first,
    # so no passphrase is asked and no scrypt is spent on a file that is not
    # an envelope.
    result = haven("open", "v2.env", "--key", "missing.key", *pw)
    assert_one_line_error(result, "v2.env: not a valid envelope: unsupported envelope version")


def test_every_negative_vector_gives_its_public_rule_or_the_one_opening_error(
    haven: Haven, tmp_path: Path, pw: tuple[str, str], vectors: dict[str, Any]
) -> None:
    lines: dict[str, str] = {}
    for case in vectors["negative"]:
        envelope = bytes.fromhex(case["envelope"])
        path = tmp_path / f"{case['name']}.env"
        path.write_bytes(envelope)
        keys = [arg for seed in case["seeds"] for arg in ("--key", _key_file(tmp_path, seed))]
        result = haven("open", path.name, *keys, *pw)
        assert_one_line_error(result)
        if case["parse_fails"]:
            with pytest.raises(EnvelopeFormatError) as rule:
                inspect(envelope)
            # Too large is refused by the read bound itself, naming the same limit.
            oversize = len(envelope) > MAX_ENVELOPE_BYTES
            expected = TOO_LARGE if oversize else f"not a valid envelope: {rule.value}"
            assert result.err.strip().endswith(expected), case
        else:
            lines[case["name"]] = result.err.strip().removeprefix(f"haven: error: {path.name}")
    # Every failure past inspection reads exactly the same.
    assert len(set(lines.values())) == 1, lines


def test_positive_vectors_open_in_the_cli_or_are_refused_as_content(
    haven: Haven, tmp_path: Path, pw: tuple[str, str], vectors: dict[str, Any]
) -> None:
    for case in vectors["positive"]:
        (tmp_path / "v.env").write_bytes(bytes.fromhex(case["envelope"]))
        result = haven("open", "v.env", "--key", _key_file(tmp_path, case["seeds"][0]), *pw)
        if case["content_is_request"]:
            assert result.code == 0, (case["name"], result.err)
            assert f"category: {case['labels']['category']}" in result.out
        else:
            # Envelope-layer vectors: they open, and the content layer refuses them.
            assert_one_line_error(result, "opened, but the content is not a valid request")
