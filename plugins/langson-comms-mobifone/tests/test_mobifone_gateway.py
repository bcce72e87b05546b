"""The MobiFone gateway against its simulator on 127.0.0.1: what it sends, how it judges
answers, the session and its expiry."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from langson_comms_mobifone import MobifoneGateway
from langson_comms_mobifone.testing import MobifoneSimulator
from mobifone_helpers import ENV, PASSWORD, close, context, make_gateway, run, sms, table

from langson_comms import Runtime
from langson_comms.errors import (
    CampaignFileError,
    PermanentGatewayError,
    TransientGatewayError,
    WrongRouteError,
)
from langson_comms.sms.gateway import FATAL_STATUSES

VIETNAMESE = "Sở TT&TT Lạng Sơn: mời bà con tải ứng dụng “Công dân số Xứ Lạng”"


def test_registered_through_the_entry_point() -> None:
    assert Runtime.create(env={}).registry.get("sms_gateway", "mobifone") is MobifoneGateway


def test_plain_text_goes_to_send_jsp_and_unicode_to_send_2_jsp() -> None:
    async def main() -> None:
        async with MobifoneSimulator(password=PASSWORD) as sim:
            gw = make_gateway(sim)
            try:
                results = await gw.send([sms(1, "Tai app Cong dan so"),
                                         sms(2, VIETNAMESE, unicode=True, sender="SOTTTT")])
            finally:
                await close(gw)
        assert [r.accepted for r in results] == [True, True]
        assert [r.carrier_id for r in results] == [a.msgid for a in sim.accepted]
        plain, marked = sim.accepted
        assert (plain.recipient, plain.content, plain.sender, plain.unicode, plain.request_id) == (
            "84901000001", "Tai app Cong dan so", "LANGSON", False, "key-1")
        assert (marked.content, marked.sender, marked.unicode) == (VIETNAMESE, "SOTTTT", True)
        assert sim.requests[-1]["enCoding"] == "ALPHA_UCS2"
        assert "enCoding" not in sim.requests[1]
        assert sim.logins == 1

    run(main)


def test_an_expired_session_logs_in_again_once_and_resends_only_what_was_not_taken() -> None:
    async def main() -> None:
        async with MobifoneSimulator(password=PASSWORD, session_sends=3) as sim:
            gw = make_gateway(sim)
            try:
                results = await gw.send([sms(i) for i in range(1, 6)])
            finally:
                await close(gw)
        assert all(r.accepted for r in results), results
        assert sim.logins == 2 and sim.expired_answers == 1
        assert sim.duplicates() == {}
        assert [a.request_id for a in sim.accepted] == [f"key-{i}" for i in range(1, 6)]
        assert [a.sid for a in sim.accepted][2:] != [a.sid for a in sim.accepted][:3]

    run(main)


def test_a_second_expiry_in_one_batch_does_not_log_in_again() -> None:
    async def main() -> None:
        async with MobifoneSimulator(password=PASSWORD, session_sends=1) as sim:
            gw = make_gateway(sim)
            try:
                results = await gw.send([sms(i) for i in range(1, 5)])
            finally:
                await close(gw)
        assert [r.accepted for r in results] == [True, True, False, False]
        assert all(isinstance(r.error, TransientGatewayError) for r in results[2:])
        assert sim.logins == 2 and len(sim.accepted) == 2

    run(main)


def test_concurrent_batches_after_an_expiry_log_in_once() -> None:
    async def main() -> None:
        async with MobifoneSimulator(password=PASSWORD) as sim:
            gw = make_gateway(sim)
            try:
                await gw.send([sms(100)])
                sim.expire_sessions()
                batches = [[sms(10 * b + i) for i in range(3)] for b in range(1, 5)]
                answers = await asyncio.gather(*(gw.send(b) for b in batches))
            finally:
                await close(gw)
        assert all(r.accepted for results in answers for r in results)
        assert sim.logins == 2, "each batch logged in on its own"
        assert sim.duplicates() == {}

    run(main)


@pytest.mark.parametrize("simulator", [{"password": "changed"}, {"login_status": "9"}])
def test_a_refused_login_stops_the_run(simulator: dict[str, Any]) -> None:
    async def main() -> None:
        async with MobifoneSimulator(**{"password": PASSWORD, **simulator}) as sim:
            gw = make_gateway(sim)
            try:
                with pytest.raises(PermanentGatewayError) as info:
                    await gw.send([sms(1), sms(2)])
            finally:
                await close(gw)
        assert info.value.status in FATAL_STATUSES
        assert PASSWORD not in str(info.value) and "changed" not in str(info.value)
        assert sim.sends == 0

    run(main)


@pytest.mark.parametrize("status", ["7", "8", "9"])
def test_an_account_refusal_in_a_send_answer_stops_the_run(status: str) -> None:
    async def main() -> None:
        async with MobifoneSimulator(password=PASSWORD, send_status=status) as sim:
            gw = make_gateway(sim)
            try:
                with pytest.raises(PermanentGatewayError) as info:
                    await gw.send([sms(1), sms(2)])
            finally:
                await close(gw)
        assert info.value.status == 403 and sim.sends == 1

    run(main)


def test_per_message_refusals_wrong_route_and_invalid_numbers() -> None:
    async def main() -> None:
        async with MobifoneSimulator(password=PASSWORD, not_subscribers={"84901000002"},
                                     invalid={"84901000003"}) as sim:
            gw = make_gateway(sim)
            try:
                ported, bad, fine = await gw.send([sms(2), sms(3), sms(4)])
                (letters,) = await gw.send([sms(5)._replace(msisdn="+84abc")])
            finally:
                await close(gw)
        assert isinstance(ported.error, WrongRouteError) and ported.error.reason == "not_subscriber"
        assert isinstance(bad.error, PermanentGatewayError)
        assert not isinstance(bad.error, WrongRouteError) and bad.error.status not in FATAL_STATUSES
        assert fine.accepted
        assert isinstance(letters.error, PermanentGatewayError) and sim.sends == 3
        for result in (ported, bad, letters):
            assert "84901" not in str(result.error), "a phone number in an error"

    run(main)


def test_throttling_in_an_answer_waits_and_leaves_the_rest_unsent() -> None:
    async def main() -> None:
        async with MobifoneSimulator(password=PASSWORD, throttle_every=2) as sim:
            gw = make_gateway(sim, throttle_backoff=0.25)
            try:
                results = await gw.send([sms(i) for i in range(1, 5)])
            finally:
                await close(gw)
        assert [r.accepted for r in results] == [True, False, False, False]
        for r in results[1:]:
            assert isinstance(r.error, TransientGatewayError) and r.error.retry_after == 0.25
        assert sim.sends == 2

    run(main)


def test_http_429_and_503_and_a_hang_are_transient() -> None:
    async def main() -> None:
        async with MobifoneSimulator(password=PASSWORD, http_throttle_every=1,
                                     retry_after=3) as sim:
            gw = make_gateway(sim)
            try:
                with pytest.raises(TransientGatewayError) as throttled:
                    await gw.send([sms(1)])
            finally:
                await close(gw)
        assert throttled.value.retry_after == 3.0 and throttled.value.status == 429
        async with MobifoneSimulator(password=PASSWORD, fail_every=1) as sim:
            gw = make_gateway(sim)
            try:
                with pytest.raises(TransientGatewayError) as down:
                    await gw.send([sms(1), sms(2)])
            finally:
                await close(gw)
        assert down.value.status == 503
        async with MobifoneSimulator(password=PASSWORD, hang_every=1, hang_seconds=2) as sim:
            gw = make_gateway(sim, timeout=0.2)
            try:
                with pytest.raises(TransientGatewayError, match="timeout"):
                    await gw.send([sms(1)])
            finally:
                await close(gw)

    run(main)


def test_a_repeated_request_id_is_already_accepted_not_sent_twice() -> None:
    async def main() -> None:
        async with MobifoneSimulator(password=PASSWORD) as sim:
            gw = make_gateway(sim)
            try:
                (first,) = await gw.send([sms(1)])
                (again,) = await gw.send([sms(1)])
            finally:
                await close(gw)
        assert first.accepted and again.accepted and again.already_accepted
        assert again.carrier_id == first.carrier_id
        assert len(sim.accepted) == 1 and sim.replays == 1
        async with MobifoneSimulator(password=PASSWORD, honour_request_id=False) as sim:
            gw = make_gateway(sim)
            try:
                await gw.send([sms(1)])
                await gw.send([sms(1)])
            finally:
                await close(gw)
        assert sim.duplicates() == {"84901000001": 2}  # the fault the simulator can play

    run(main)


def test_the_password_can_come_from_an_owner_only_file(tmp_path: Path) -> None:
    secret = tmp_path / "mobifone.pass"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    secret.chmod(0o600)
    config = table("http://127.0.0.1:9/api", password_env=None, password_file="mobifone.pass")
    del config["password_env"]
    gw = MobifoneGateway.from_config(config, context(str(tmp_path)), env={})
    assert gw._password == PASSWORD
    if os.name == "posix":
        secret.chmod(0o644)
        with pytest.raises(CampaignFileError, match=r"mobifone\.password_file: .*readable by others"):
            MobifoneGateway.from_config(config, context(str(tmp_path)), env={})


@pytest.mark.parametrize(("change", "message"), [
    ({"password": "x"}, "mobifone.password: a credential never goes in the campaign file"),
    ({"password_file": "p.txt"}, "mobifone.password_env: expected exactly one of"),
    ({"password_env": None}, "mobifone.password_env: expected exactly one of"),
    ({"password_env": "NOT_SET_ANYWHERE"},
     "mobifone.password_env: environment variable NOT_SET_ANYWHERE is not set"),
    ({"url": "http://user:pw@sms.example.vn/api"}, "mobifone.url: the URL carries credentials"),
    ({"url": "ftp://sms.example.vn"}, "mobifone.url: 'ftp://sms.example.vn' is not an http(s) URL"),
    ({"sender": "LANGSON_TTTT"}, "mobifone.sender"),
    ({"max_batch": 0}, "mobifone.max_batch"),
    ({"transport": "curl"}, "mobifone.transport"),
    ({"usrename": "x"}, "usrename"),
])
def test_config_errors_are_located(change: dict[str, Any], message: str) -> None:
    config = {k: v for k, v in {**table("https://sms.example.vn/api"), **change}.items()
              if v is not None}
    with pytest.raises(CampaignFileError) as info:
        MobifoneGateway.from_config(config, context(), env=ENV)
    assert message in str(info.value)


def test_check_config_does_not_need_the_password() -> None:
    config = table("https://sms.example.vn/api", password_env="NOT_SET_ANYWHERE")
    MobifoneGateway.check_config(config, context())
    with pytest.raises(CampaignFileError, match="max_batch"):
        MobifoneGateway.check_config({**config, "max_batch": 0}, context())
