"""The rules of time-based codes (RFC 6238 as authenticator apps do it): 30-second
steps, 6 digits, SHA-1, one step either side accepted for clocks that drift, and
each step's code accepted once (the last step used is remembered)."""

from __future__ import annotations

import hmac

import pyotp

STEP_SECONDS = 30
DIGITS = 6
WINDOW = 1  # steps either side of now


def new_secret() -> str:
    """160 random bits in base32, as RFC 4226 recommends and apps expect."""
    return pyotp.random_base32(32)


def step_at(now_ms: int) -> int:
    return now_ms // 1000 // STEP_SECONDS


def code_at(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).generate_otp(step)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _well_formed(code: str) -> bool:
    return len(code) == DIGITS and code.isascii() and code.isdigit()


def matching_step(secret: str, code: str, now_ms: int, last_step: int | None) -> int | None:
    """The step whose code this is, within the window and after ``last_step``; None
    if there is none. Every step of the window is compared, in constant time, so
    the time taken says nothing about which one matched."""
    code = code.strip()
    if not _well_formed(code):
        return None
    now = step_at(now_ms)
    found = None
    for step in range(now - WINDOW, now + WINDOW + 1):
        if _same(code_at(secret, step), code) and (last_step is None or step > last_step):
            found = step
    return found


def confirming_step(secret: str, first: str, second: str, now_ms: int) -> int | None:
    """Enrolment: two consecutive codes, the second of the window's steps (so the
    app's clock is right and the secret was copied whole). Returns the second's
    step, which then counts as used."""
    first, second = first.strip(), second.strip()
    if not (_well_formed(first) and _well_formed(second)):
        return None
    now = step_at(now_ms)
    found = None
    for step in range(now - WINDOW, now + WINDOW + 1):
        if _same(code_at(secret, step - 1), first) & _same(code_at(secret, step), second):
            found = step
    return found


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=account, issuer_name=issuer
    )
