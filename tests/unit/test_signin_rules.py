"""The rules of the second factors and the lockout, pure, on a clock in numbers:
TOTP's window and replay, enrolment's two consecutive codes, the lockout's
growing delays and window, recovery codes as typed, and secrets sealed to their
account."""

from __future__ import annotations

import pyotp
import pytest
from nacl.exceptions import CryptoError

from revier.config import TenantPolicy
from revier.services.signin import FactorKeys
from revier.services.signin.lockout import delay_ms, wait_ms
from revier.services.signin.recovery import new_codes, normalise
from revier.services.signin.totp import confirming_step, matching_step, new_secret, step_at
from revier.storage.signin import Failures

SECRET = new_secret()
T0 = 1_800_000_000_000  # a step boundary (60_000_000 steps of 30 s)
STEP = step_at(T0)


def code(step: int) -> str:
    return pyotp.TOTP(SECRET).generate_otp(step)


def test_the_secret_is_what_apps_expect() -> None:
    assert len(SECRET) == 32 and pyotp.TOTP(SECRET).now().isdigit()
    assert step_at(T0 + 29_999) == STEP and step_at(T0 + 30_000) == STEP + 1


@pytest.mark.parametrize(
    ("offset", "accepted"), [(-2, False), (-1, True), (0, True), (1, True), (2, False)]
)
def test_one_step_of_drift_either_side(offset: int, accepted: bool) -> None:
    found = matching_step(SECRET, code(STEP + offset), T0 + 10_000, last_step=None)
    assert found == (STEP + offset if accepted else None)


def test_a_code_works_once_and_never_an_older_one() -> None:
    assert matching_step(SECRET, code(STEP), T0, last_step=STEP) is None  # replayed
    assert matching_step(SECRET, code(STEP - 1), T0, last_step=STEP) is None  # older
    assert matching_step(SECRET, code(STEP + 1), T0, last_step=STEP) == STEP + 1
    # Half a minute later the same code is still in the window, and still used.
    assert matching_step(SECRET, code(STEP), T0 + 30_000, last_step=STEP) is None


@pytest.mark.parametrize(
    "typed", ["", "12345", "1234567", "12 345", "abcdef", "٠١٢٣٤٥", "\x00" * 6]
)
def test_anything_but_six_ascii_digits_is_no_code(typed: str) -> None:
    assert matching_step(SECRET, typed, T0, last_step=None) is None


def test_spaces_around_a_code_are_forgiven() -> None:
    assert matching_step(SECRET, f" {code(STEP)}\n", T0, last_step=None) == STEP


def test_enrolment_takes_two_consecutive_codes() -> None:
    assert confirming_step(SECRET, code(STEP - 1), code(STEP), T0) == STEP
    assert confirming_step(SECRET, code(STEP), code(STEP + 1), T0) == STEP + 1
    assert confirming_step(SECRET, code(STEP), code(STEP), T0) is None  # one code twice
    assert confirming_step(SECRET, code(STEP + 1), code(STEP), T0) is None  # reversed
    assert confirming_step(SECRET, code(STEP - 3), code(STEP - 2), T0) is None  # too old
    assert confirming_step(SECRET, "", code(STEP), T0) is None


def test_delays_double_after_the_free_failures_up_to_the_maximum() -> None:
    assert [delay_ms(n, 3, 1000, 10_000) for n in range(8)] == [
        0,
        0,
        0,
        1000,
        2000,
        4000,
        8000,
        10_000,
    ]
    assert delay_ms(10**6, 0, 1000, 300_000) == 300_000  # no overflow, whatever the count
    assert delay_ms(0, 0, 1000, 10_000) == 0


def test_the_wait_runs_from_the_last_failure_within_the_window() -> None:
    policy = TenantPolicy(
        signin_failures_before_delay=2,
        signin_delay_ms=1000,
        signin_delay_max_ms=60_000,
        signin_failure_window_seconds=3600,
    )
    row = Failures(failures=4, code_failures=0, last_failure_ts=T0, locked_ts=None)
    assert wait_ms(row, 2, policy, T0) == 4000
    assert wait_ms(row, 2, policy, T0 + 3000) == 1000
    assert wait_ms(row, 2, policy, T0 + 4000) == 0
    assert wait_ms(row, 10, policy, T0) == 0  # an address's higher number
    assert wait_ms(None, 2, policy, T0) == 0
    long_ago = Failures(failures=50, code_failures=0, last_failure_ts=T0, locked_ts=None)
    assert wait_ms(long_ago, 2, policy, T0 + 3_600_000) == 0  # out of the window


def test_recovery_codes_are_random_and_read_back_as_typed() -> None:
    codes = new_codes()
    assert len(codes) == 10 == len(set(codes))
    first = codes[0]
    assert len(first) == 19 and first.count("-") == 3
    assert normalise(first.upper().replace("-", " ")) == first
    assert normalise(first.replace("-", "")) == first
    assert normalise(first[:-1]) is None
    assert normalise(first[:-1] + "0") is None  # not of the alphabet
    assert normalise("") is None


def test_sealed_secrets_open_for_their_account_only() -> None:
    keys = FactorKeys(b"k" * 32)
    sealed = keys.seal("@anna:x", SECRET.encode())
    assert SECRET.encode() not in sealed
    assert keys.seal("@anna:x", SECRET.encode()) != sealed  # a fresh nonce each time
    assert keys.open("@anna:x", sealed) == SECRET.encode()
    with pytest.raises(CryptoError):
        keys.open("@ben:x", sealed)  # moved to another account's row
    with pytest.raises(CryptoError):
        FactorKeys(b"o" * 32).open("@anna:x", sealed)  # another installation's key
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(CryptoError):
        keys.open("@anna:x", tampered)
    # Keyed hashes: per account, per installation, and no address in them.
    assert keys.code_hash("@anna:x", "a") != keys.code_hash("@ben:x", "a")
    assert keys.code_hash("@anna:x", "a") != FactorKeys(b"o" * 32).code_hash("@anna:x", "a")
    assert "203.0.113.7" not in keys.address("203.0.113.7")
