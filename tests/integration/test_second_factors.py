"""Second factors and the lockout on both engines, in-process on a fake clock
(the sign-in pages of part B are the HTTP surface): TOTP enrolment and checks
with their time window and replay rule, recovery codes once, secrets sealed at
rest, brute-forcing codes hitting the delays and the lock, the help desk's
reset and unlock, another tenant's user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import text

from revier.config_file import load_settings
from revier.errors import Forbidden, InvalidParam, LimitExceeded, NotFound, UserLocked
from revier.services.container import Services, build_services
from revier.services.core import AuditQuery, Tenant
from revier.storage import Store
from revier.storage.engine import Engines, create_engines, migrate
from tests.fake_clock import FakeClock
from tests.integration.conftest import server_config
from tests.integration.soft_authenticator import SoftAuthenticator

START_MS = 1_800_000_000_000  # a multiple of 30 s: step boundaries are easy to reason about
ADDRESS = "203.0.113.7"
PASSWORD = "correct horse battery"


@dataclass
class Installation:
    services: Services
    engines: Engines
    clock: FakeClock
    tenant: Tenant
    other: Tenant


@pytest.fixture
async def inst(
    engine: str, request: pytest.FixtureRequest, tmp_root: Path
) -> AsyncIterator[Installation]:
    config = server_config(
        engine,
        request,
        tmp_root,
        "factors",
        tenant_policy={
            "signin_failures_before_delay": 3,
            "signin_failures_before_lock": 6,
            "signin_delay_ms": 1000,
            "signin_delay_max_ms": 8000,
        },
        extra_tenants=("other.test",),
    )
    settings = load_settings(config, environ={})
    engines = create_engines(settings.database_url)
    await migrate(engines)
    clock = FakeClock(START_MS)
    svc = build_services(settings, Store(engines), clock)
    tenant, other = svc.tenants.get("localhost"), svc.tenants.get("other.test")
    assert tenant is not None and other is not None
    await svc.accounts.create_user(tenant, "anna", PASSWORD)
    await svc.accounts.create_user(other, "otto", PASSWORD)
    try:
        yield Installation(svc, engines, clock, tenant, other)
    finally:
        await svc.store.close()


ANNA = "@anna:localhost"


async def enrol(inst: Installation) -> tuple[pyotp.TOTP, list[str]]:
    factors = inst.services.second_factors
    started = await factors.begin_totp(inst.tenant, ANNA)
    assert started.provisioning_uri.startswith("otpauth://totp/")
    assert started.qr_svg.startswith("<svg")
    app = pyotp.TOTP(started.secret)
    step = inst.clock.now_ms // 30_000
    codes = await factors.confirm_totp(
        inst.tenant, ANNA, app.generate_otp(step - 1), app.generate_otp(step)
    )
    return app, codes


def code(inst: Installation, app: pyotp.TOTP, steps: int = 0) -> str:
    return app.generate_otp(inst.clock.now_ms // 30_000 + steps)


async def audit(inst: Installation, action: str) -> list[dict[str, object]]:
    found = await inst.services.audit.page(inst.tenant, AuditQuery(action=action), limit=100)
    return [e.to_json() for e in found]


async def test_totp_enrolment_window_and_replay(inst: Installation) -> None:
    factors = inst.services.second_factors
    status = await factors.status(inst.tenant, ANNA)
    assert status.enrolled == frozenset() and status.offered and not status.required
    app, recovery = await enrol(inst)
    assert len(recovery) == 10 and len(set(recovery)) == 10
    status = await factors.status(inst.tenant, ANNA)
    assert status.enrolled == {"totp"} and status.recovery_codes_left == 10
    listed = await factors.factors(inst.tenant, ANNA)
    assert [(f.kind, f.name) for f in listed] == [("totp", "Authenticator app")]

    # The code enrolment used can't sign in again (replay); the next step's can.
    with pytest.raises(Forbidden):
        await factors.verify(inst.tenant, ANNA, address=ADDRESS, totp=code(inst, app))
    inst.clock.now_ms += 30_000
    assert await factors.verify(inst.tenant, ANNA, address=ADDRESS, totp=code(inst, app)) == "totp"
    with pytest.raises(Forbidden):  # once only
        await factors.verify(inst.tenant, ANNA, address=ADDRESS, totp=code(inst, app))
    # One step ahead (a fast phone) is accepted, two are not; a step older than
    # the last used never is.
    inst.clock.now_ms += 60_000
    with pytest.raises(Forbidden):
        await factors.verify(inst.tenant, ANNA, address=ADDRESS, totp=code(inst, app, 2))
    await factors.verify(inst.tenant, ANNA, address=ADDRESS, totp=code(inst, app, 1))
    with pytest.raises(Forbidden):
        await factors.verify(inst.tenant, ANNA, address=ADDRESS, totp=code(inst, app, 0))
    # Garbage is a wrong code, never a 500.
    fullwidth = "".join(chr(0xFF11 + i) for i in range(6))  # isdigit(), but not ASCII
    for typed in ["", "12345", "1234567", "abcdef", fullwidth, "\x00" * 6]:
        with pytest.raises(Forbidden):
            await factors.verify(inst.tenant, ANNA, address=ADDRESS, totp=typed)
        await inst.services.signin_attempts.unlock(
            inst.tenant, ANNA, admin="@admin:localhost", address="local"
        )
    enrolled = await audit(inst, "second_factor.enrolled")
    assert enrolled[0]["details"] == {"kind": "totp", "factor_id": listed[0].id}


async def test_secrets_at_rest_are_sealed_and_codes_hashed(inst: Installation) -> None:
    app, recovery = await enrol(inst)
    async with inst.engines.writer.connect() as conn:
        sealed = (await conn.execute(text("SELECT secret FROM second_factors"))).scalar_one()
        hashes = [r[0] for r in await conn.execute(text("SELECT code_hash FROM recovery_codes"))]
    assert app.secret.encode() not in bytes(sealed)
    assert len(hashes) == 10
    for stored in hashes:
        assert all(c.encode() not in bytes(stored) for c in recovery)
    for entry in await audit(inst, "second_factor."):
        assert app.secret not in str(entry) and not any(c in str(entry) for c in recovery)


async def test_recovery_codes_work_once(inst: Installation) -> None:
    factors = inst.services.second_factors
    _, recovery = await enrol(inst)
    typed = recovery[0].upper().replace("-", " ")  # as read off paper
    assert await factors.verify(inst.tenant, ANNA, address=ADDRESS, recovery_code=typed) == (
        "recovery"
    )
    with pytest.raises(Forbidden):
        await factors.verify(inst.tenant, ANNA, address=ADDRESS, recovery_code=recovery[0])
    assert (await factors.status(inst.tenant, ANNA)).recovery_codes_left == 9
    used = await audit(inst, "second_factor.recovery_code_used")
    assert used[0]["details"] == {"left": 9}
    fresh = await factors.new_recovery_codes(inst.tenant, ANNA)
    assert (await factors.status(inst.tenant, ANNA)).recovery_codes_left == 10
    with pytest.raises(Forbidden):  # the old ones went with the renewal
        await factors.verify(inst.tenant, ANNA, address=ADDRESS, recovery_code=recovery[1])
    await factors.verify(inst.tenant, ANNA, address=ADDRESS, recovery_code=fresh[1])


async def test_brute_forcing_codes_hits_delays_then_the_lock(inst: Installation) -> None:
    factors = inst.services.second_factors
    attempts = inst.services.signin_attempts
    app, _ = await enrol(inst)
    inst.clock.now_ms += 30_000
    right = code(inst, app)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    # Three free failures, then 1 s, 2 s, 4 s to wait; the sixth failure locks.
    for n, wait in enumerate([0, 0, 1000, 2000, 4000], start=1):
        with pytest.raises(Forbidden):
            await factors.verify(inst.tenant, ANNA, address=ADDRESS, totp=wrong)
        if wait:
            with pytest.raises(LimitExceeded) as limited:
                await factors.verify(inst.tenant, ANNA, address=ADDRESS, totp=right)
            assert limited.value.retry_after_ms == wait, n
            inst.clock.now_ms += wait
    with pytest.raises(Forbidden):
        await factors.verify(inst.tenant, ANNA, address=ADDRESS, totp=wrong)
    assert await attempts.locked(inst.tenant, ANNA)
    # Locked: even the right code is refused, and so is the password at /login.
    inst.clock.now_ms += 3_600_000
    with pytest.raises(UserLocked):
        await factors.verify(inst.tenant, ANNA, address=ADDRESS, totp=code(inst, app))
    with pytest.raises(UserLocked):
        await inst.services.auth.login_with_password(
            inst.tenant,
            user="anna",
            password=PASSWORD,
            device_id=None,
            initial_device_display_name=None,
            address=ADDRESS,
        )
    failed = await audit(inst, "second_factor.failed")
    assert len(failed) == 6 and all(e["source"] == ADDRESS for e in failed)
    locked = await audit(inst, "user.locked")
    assert locked[0]["details"] == {"reason": "signin_failures", "failures": 6}
    state = await attempts.state(inst.tenant, ANNA)
    assert state.locked and state.reason == "signin_failures" and state.failures == 6

    await attempts.unlock(inst.tenant, ANNA, admin="@admin:localhost", address="198.51.100.2")
    assert not await attempts.locked(inst.tenant, ANNA)
    unlocked = await audit(inst, "user.unlocked")
    assert unlocked[0]["actor"] == "@admin:localhost"
    assert await factors.verify(inst.tenant, ANNA, address=ADDRESS, totp=code(inst, app)) == "totp"


async def test_a_right_password_does_not_forgive_wrong_codes(inst: Installation) -> None:
    attempts = inst.services.signin_attempts
    await attempts.failed(inst.tenant, ANNA, ADDRESS, what="code")
    await attempts.failed(inst.tenant, ANNA, ADDRESS, what="code")
    await attempts.failed(inst.tenant, ANNA, ADDRESS, what="password")
    await attempts.succeeded(inst.tenant, ANNA, ADDRESS)
    with pytest.raises(LimitExceeded):
        await attempts.check(inst.tenant, ANNA, "198.51.100.9")
    # Failures outside the window are forgotten.
    inst.clock.now_ms += 86_400_000
    await attempts.check(inst.tenant, ANNA, ADDRESS)


async def test_an_address_is_slowed_down_across_accounts(inst: Installation) -> None:
    attempts = inst.services.signin_attempts
    for _ in range(30):  # the default: 30 free failures per address
        await attempts.failed(inst.tenant, None, ADDRESS, what="password")
    with pytest.raises(LimitExceeded):
        await attempts.check(inst.tenant, None, ADDRESS)
    await attempts.check(inst.tenant, None, "198.51.100.9")  # another address is not
    async with inst.engines.writer.connect() as conn:
        subjects = [r[0] for r in await conn.execute(text("SELECT subject FROM signin_failures"))]
    assert ADDRESS not in str(subjects)  # counted under a keyed hash


async def test_reset_and_remove(inst: Installation) -> None:
    factors = inst.services.second_factors
    await enrol(inst)
    [totp] = await factors.factors(inst.tenant, ANNA)
    with pytest.raises(NotFound):
        await factors.remove(inst.tenant, ANNA, "totp_not-mine")
    await factors.remove(inst.tenant, ANNA, totp.id)
    assert await factors.status(inst.tenant, ANNA) == type(await factors.status(inst.tenant, ANNA))(
        enrolled=frozenset(), recovery_codes_left=0, required=False, offered=True
    )
    await enrol(inst)
    await factors.reset(inst.tenant, ANNA, admin="@admin:localhost", address="local")
    assert (await factors.status(inst.tenant, ANNA)).enrolled == frozenset()
    reset = await audit(inst, "second_factor.reset")
    assert reset[0]["details"] == {"factors": 1} and reset[0]["actor"] == "@admin:localhost"
    # The help desk of one tenant can't touch another tenant's user.
    with pytest.raises(NotFound):
        await factors.reset(inst.tenant, "@otto:other.test", admin="@admin:localhost", address="x")
    with pytest.raises(NotFound):
        await inst.services.signin_attempts.unlock(
            inst.tenant, "@otto:other.test", admin="@admin:localhost", address="x"
        )


async def test_another_tenants_user_has_no_factors_here(inst: Installation) -> None:
    factors = inst.services.second_factors
    started = await factors.begin_totp(inst.other, "@otto:other.test")
    app = pyotp.TOTP(started.secret)
    step = inst.clock.now_ms // 30_000
    await factors.confirm_totp(
        inst.other, "@otto:other.test", app.generate_otp(step - 1), app.generate_otp(step)
    )
    inst.clock.now_ms += 30_000
    with pytest.raises(Forbidden):
        await factors.verify(inst.tenant, "@otto:other.test", address=ADDRESS, totp=code(inst, app))


RP_ID, ORIGIN = "localhost", "http://localhost:8008"


async def test_passkey_registration_and_sign_in(inst: Installation) -> None:
    factors = inst.services.second_factors
    key = SoftAuthenticator(RP_ID, ORIGIN)
    options = await factors.webauthn_registration_options(
        inst.tenant, ANNA, rp_id=RP_ID, origin=ORIGIN
    )
    assert options["rp"] == {"id": RP_ID, "name": "localhost"}
    assert "anna" not in str(options["user"]["id"])  # type: ignore[index]
    await factors.webauthn_register(
        inst.tenant, ANNA, key.register(options), rp_id=RP_ID, origin=ORIGIN, name=" My  key "
    )
    [listed] = await factors.factors(inst.tenant, ANNA)
    assert (listed.kind, listed.name, listed.last_used_ts) == ("webauthn", "My key", None)
    assert (await factors.status(inst.tenant, ANNA)).enrolled == {"webauthn"}

    async def sign_in(assertion: dict[str, object], origin: str = ORIGIN) -> str:
        return await factors.verify(
            inst.tenant, ANNA, address=ADDRESS, webauthn=assertion, rp_id=RP_ID, origin=origin
        )

    async def refused(assertion: dict[str, object], origin: str = ORIGIN) -> None:
        with pytest.raises(Forbidden):
            await sign_in(assertion, origin)
        # Forget the failure (the lockout is tested elsewhere).
        await inst.services.signin_attempts.unlock(
            inst.tenant, ANNA, admin="@admin:localhost", address="local"
        )

    options = await factors.webauthn_authentication_options(inst.tenant, ANNA, rp_id=RP_ID)
    assert [c["id"] for c in options["allowCredentials"]] == [key.register(options)["id"]]  # type: ignore[index]
    answer = key.assert_(options)
    assert await sign_in(answer) == "webauthn"
    await refused(answer)  # the challenge was single use
    # A counter that didn't grow (a cloned key), another origin, a late answer,
    # garbage: each refused, and each spends its challenge.
    options = await factors.webauthn_authentication_options(inst.tenant, ANNA, rp_id=RP_ID)
    await refused(key.assert_(options, count=key.sign_count))
    options = await factors.webauthn_authentication_options(inst.tenant, ANNA, rp_id=RP_ID)
    await refused(key.assert_(options, origin="https://evil.example"))
    await refused(key.assert_(options))  # the refused answer spent it
    options = await factors.webauthn_authentication_options(inst.tenant, ANNA, rp_id=RP_ID)
    inst.clock.now_ms += 5 * 60 * 1000
    await refused(key.assert_(options))
    for garbage in ({}, {"rawId": 5}, {"rawId": "!!"}, {"id": key.register(options)["id"]}):
        await factors.webauthn_authentication_options(inst.tenant, ANNA, rp_id=RP_ID)
        await refused(garbage)
    # Another authenticator's answer for Anna's challenge.
    options = await factors.webauthn_authentication_options(inst.tenant, ANNA, rp_id=RP_ID)
    await refused(SoftAuthenticator(RP_ID, ORIGIN).assert_(options))
    options = await factors.webauthn_authentication_options(inst.tenant, ANNA, rp_id=RP_ID)
    assert await sign_in(key.assert_(options)) == "webauthn"
    [listed] = await factors.factors(inst.tenant, ANNA)
    assert listed.last_used_ts == inst.clock.now_ms


async def test_passkey_registration_refusals(inst: Installation) -> None:
    factors = inst.services.second_factors
    key = SoftAuthenticator(RP_ID, ORIGIN)
    with pytest.raises(Forbidden):  # no challenge handed out
        await factors.webauthn_register(
            inst.tenant,
            ANNA,
            key.register({"challenge": "AAAA"}),
            rp_id=RP_ID,
            origin=ORIGIN,
            name="k",
        )
    options = await factors.webauthn_registration_options(
        inst.tenant, ANNA, rp_id=RP_ID, origin=ORIGIN
    )
    with pytest.raises(Forbidden):  # from another origin
        await factors.webauthn_register(
            inst.tenant,
            ANNA,
            key.register(options, origin="https://evil.example"),
            rp_id=RP_ID,
            origin=ORIGIN,
            name="k",
        )
    with pytest.raises(Forbidden):  # that spent the challenge
        await factors.webauthn_register(
            inst.tenant, ANNA, key.register(options), rp_id=RP_ID, origin=ORIGIN, name="k"
        )
    for name in ("", "   ", "x" * 65):
        with pytest.raises(InvalidParam):
            await factors.webauthn_register(
                inst.tenant, ANNA, key.register(options), rp_id=RP_ID, origin=ORIGIN, name=name
            )
    options = await factors.webauthn_registration_options(
        inst.tenant, ANNA, rp_id=RP_ID, origin=ORIGIN
    )
    await factors.webauthn_register(
        inst.tenant, ANNA, key.register(options), rp_id=RP_ID, origin=ORIGIN, name="k"
    )
    options = await factors.webauthn_registration_options(
        inst.tenant, ANNA, rp_id=RP_ID, origin=ORIGIN
    )
    assert len(options["excludeCredentials"]) == 1  # type: ignore[arg-type]
    with pytest.raises(Forbidden):  # the same key twice
        await factors.webauthn_register(
            inst.tenant, ANNA, key.register(options), rp_id=RP_ID, origin=ORIGIN, name="again"
        )
    with pytest.raises(Forbidden):  # no passkey: no options to sign in with
        await factors.webauthn_authentication_options(inst.other, "@otto:other.test", rp_id=RP_ID)
    with pytest.raises(NotFound):  # another tenant's user
        await factors.webauthn_registration_options(
            inst.tenant, "@otto:other.test", rp_id=RP_ID, origin=ORIGIN
        )
