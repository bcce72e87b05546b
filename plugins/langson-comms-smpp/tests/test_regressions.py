"""Regressions from a review of the SMPP gateway (each test failed before its fix)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from langson_comms_smpp import SmppGateway
from langson_comms_smpp.status import Status
from langson_comms_smpp.testing import TestSmsc
from smpp_helpers import ENV, context, eventually, make_gateway

from langson_comms.errors import CampaignFileError, PermanentGatewayError, TransientGatewayError
from langson_comms.sms.encoding import analyse
from langson_comms.sms.gateway import OutgoingSms

#: 402 UCS-2 characters: exactly 6 parts of 67 — the engine routes it to a gateway
#: with max_parts 6, so the gateway must not count 7.
SIX_PARTS = "Lạng Sơn " * 44 + "Xứ Lạn"


def run(main: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(main(), 20))


def sms(ref: int, text: str = "Thong bao", **kw: object) -> OutgoingSms:
    return OutgoingSms(ref, f"+8491200{ref:04d}", text, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["payload", "udh"])
def test_a_text_of_exactly_max_parts_ucs2_parts_is_sent(mode: str) -> None:
    assert len(SIX_PARTS) == 402 and analyse(SIX_PARTS).segments == 6

    async def main() -> None:
        async with TestSmsc() as smsc, make_gateway(smsc, long_messages=mode, max_parts=6) as gw:
            (result,) = await gw.send([sms(1, SIX_PARTS, unicode=True, segments=6)])
            assert result.accepted, result.error  # was: "about 7 parts, more than max_parts 6"
            assert len(smsc.accepted) == (1 if mode == "payload" else 6)

    run(main)


def test_a_text_over_255_udh_parts_fails_for_that_message_instead_of_raising() -> None:
    async def main() -> None:
        async with TestSmsc() as smsc, make_gateway(smsc, long_messages="udh",
                                                    max_parts=300) as gw:
            results = await gw.send([sms(1, "ạ" * (67 * 256), unicode=True), sms(2)])
            assert isinstance(results[0].error, PermanentGatewayError)
            assert results[1].accepted and len(smsc.accepted) == 1

    run(main)


def test_a_plus_number_sender_is_international_without_its_plus() -> None:
    async def main() -> None:
        async with TestSmsc() as smsc, make_gateway(smsc) as gw:
            (result,) = await gw.send([sms(1, sender="+84912345678")])
            assert result.accepted
            (sub,) = smsc.accepted
            assert (sub.source, sub.source_ton, sub.source_npi) == ("84912345678", 1, 1)

    run(main)


def test_an_alphanumeric_source_addr_over_11_characters_is_a_located_error() -> None:
    table = {"host": "127.0.0.1", "system_id": "langson", "password_env": "SMPP_PASSWORD"}
    with pytest.raises(CampaignFileError,
                       match=r"gateways\.smpp\.source_addr: 'LANGSON_TTTT' is longer than 11"):
        SmppGateway.from_config({**table, "source_addr": "LANGSON_TTTT"}, context(), env=ENV)
    for fine in ({"source_addr": "LANGSON_TTT"}, {"source_addr": "+84912345678901"},
                 {"source_addr": "SO THONG TIN", "source_ton": 0}):
        SmppGateway.from_config({**table, **fine}, context(), env=ENV)


def test_a_destination_in_non_ascii_digits_is_refused_before_the_smsc() -> None:
    async def main() -> None:
        async with TestSmsc() as smsc, make_gateway(smsc) as gw:
            results = await gw.send([OutgoingSms(1, "+٨٤٩١٢٣٤٥٦٧٨", "x"), sms(2)])
            assert isinstance(results[0].error, PermanentGatewayError)
            assert results[1].accepted and smsc.submits == 1

    run(main)


def test_a_whole_batch_error_names_the_gateway_once() -> None:
    async def main() -> None:
        async with TestSmsc(status=Status.ESME_RSYSERR) as smsc, make_gateway(smsc) as gw:
            with pytest.raises(TransientGatewayError) as info:
                await gw.send([sms(1), sms(2)])
            assert str(info.value).startswith("smpp: ESME_RSYSERR"), str(info.value)

    run(main)


def _retiring() -> list[asyncio.Task[object]]:
    return [t for t in asyncio.all_tasks()
            if not t.done() and getattr(t.get_coro(), "__name__", "") == "_retire"]


def test_close_waits_for_lost_sessions_to_be_retired() -> None:
    """A session dropped after a timeout is stopped in a background task; ``close`` must
    wait for it (nothing left pending when the loop ends), and a session the SMSC cut
    is retired too."""
    async def main() -> None:
        async with TestSmsc(hang=True) as smsc:
            gw = make_gateway(smsc, response_timeout=2.0)  # it also bounds the next answer
            with pytest.raises(TransientGatewayError):
                await gw.send([sms(1)])
            smsc.hang = False
            await gw.close()
            assert not _retiring(), "close returned with a session still being retired"
            assert (await gw.send([sms(2)]))[0].accepted  # binds again after close
            smsc.drop_sessions()
            await eventually(lambda: gw.stats["sessions_lost"] >= 2, "the drop noticed")
            assert gw.stats["sessions_lost"] == 2 and gw._session is None
            await gw.close()
            assert not _retiring()
            assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("smpp-")]

    run(main)


def test_the_password_is_read_like_every_gateway_credential() -> None:
    """Through ``langson_comms.sms.read_secret``: a trailing newline (``echo`` into a
    variable) is not part of the password; an empty one is a located error."""
    table = {"host": "127.0.0.1", "system_id": "langson", "password_env": "SMPP_PASSWORD"}
    gateway = SmppGateway.from_config(table, context(), env={"SMPP_PASSWORD": "secret\r\n"})
    assert gateway._password == "secret"
    with pytest.raises(CampaignFileError, match=r"gateways\.smpp\.password_env: environment "
                                                r"variable SMPP_PASSWORD \(the SMPP password\) "
                                                r"is empty"):
        SmppGateway.from_config(table, context(), env={"SMPP_PASSWORD": " \n"})
