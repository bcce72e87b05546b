"""The SMPP gateway against the test SMSC on 127.0.0.1: what it sends, how it judges answers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import smpp34
from langson_comms_smpp import SmppGateway, status
from langson_comms_smpp.receipts import parse_receipt
from langson_comms_smpp.testing import TestSmsc
from smpp_helpers import ENV, context, eventually, make_gateway, wait_reports

from langson_comms import Runtime
from langson_comms.errors import CampaignFileError, PermanentGatewayError, TransientGatewayError
from langson_comms.sms.encoding import analyse
from langson_comms.sms.gateway import FATAL_STATUSES, OutgoingSms
from langson_comms.sms.ledger import ReportStatus

VIETNAMESE = ("Sở TT&TT Lạng Sơn: mời bà con tải ứng dụng “Công dân số Xứ Lạng” để nhận "
              "thông báo của tỉnh, tra cứu thủ tục hành chính và phản ánh hiện trường. ") * 2


def run(main: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(main(), 20))


def sms(ref: int, text: str = "Thong bao", **kw: Any) -> OutgoingSms:
    return OutgoingSms(ref, f"+8491200{ref:04d}", text, **kw)


def test_registered_through_the_entry_point() -> None:
    assert Runtime.create(env={}).registry.get("sms_gateway", "smpp") is SmppGateway


def test_tlv_tags_are_smpp34s() -> None:
    assert status.TLV_MESSAGE_PAYLOAD == smpp34.TLV_MESSAGE_PAYLOAD  # type: ignore[attr-defined]
    assert status.TLV_MESSAGE_STATE == smpp34.TLV_MESSAGE_STATE  # type: ignore[attr-defined]
    assert status.TLV_RECEIPTED_MESSAGE_ID == smpp34.TLV_RECEIPTED_MESSAGE_ID  # type: ignore[attr-defined]


def test_gsm_text_brandname_and_receipts() -> None:
    async def main() -> None:
        async with TestSmsc() as smsc:
            async with make_gateway(smsc) as gw:
                results = await gw.send([sms(1, "Tai app @ {Xu Lang}"), sms(2)])
                assert [r.accepted for r in results] == [True, True]
                # both are submitted at once (pipelined): they may arrive in either order
                first = next(a for a in smsc.accepted if a.destination == "84912000001")
                assert (first.data_coding, first.source, first.source_ton, first.source_npi) == (
                    0, "LANGSON", 5, 0)
                assert (first.dest_ton, first.dest_npi) == (1, 1)
                assert first.text() == "Tai app @ {Xu Lang}"
                assert first.registered_delivery == 1
                reports = await wait_reports(gw, 2)
                assert sorted(r.carrier_id for r in reports) == sorted(
                    r.carrier_id for r in results if r.carrier_id)
                assert {r.status for r in reports} == {ReportStatus.DELIVERED}
                assert {r.gateway for r in reports} == {"smpp"}

    run(main)


def test_vietnamese_is_ucs2_and_a_long_one_goes_in_message_payload() -> None:
    async def main() -> None:
        async with TestSmsc() as smsc, make_gateway(smsc) as gw:
            results = await gw.send([sms(1, VIETNAMESE, unicode=True, segments=4)])
            assert results[0].accepted and results[0].parts is None
            (sub,) = smsc.accepted
            assert sub.data_coding == 8 and sub.short_message == b"" and sub.payload is not None
            assert sub.text() == VIETNAMESE
            (report,) = await wait_reports(gw, 1)
            assert (report.carrier_id, report.part, report.parts) == (results[0].carrier_id, 1, None)

    run(main)


def test_ucs2_multipart_with_udh_maps_part_receipts_to_one_id() -> None:
    async def main() -> None:
        async with TestSmsc() as smsc, make_gateway(smsc, long_messages="udh") as gw:
            (result,) = await gw.send([sms(1, VIETNAMESE, unicode=True)])
            expected = analyse(VIETNAMESE).segments  # the project's own count
            assert expected > 1
            assert result.accepted and result.parts == len(smsc.accepted) == expected
            headers = [s.udh() for s in smsc.accepted]
            assert sorted(h[2] for h in headers if h) == list(range(1, expected + 1))
            assert len({(h[0], h[1]) for h in headers if h}) == 1
            ordered = sorted(smsc.accepted, key=lambda s: s.udh() or (0, 0, 0))
            assert "".join(s.text() for s in ordered) == VIETNAMESE
            assert all(s.data_coding == 8 and len(s.short_message) <= 140 for s in ordered)
            reports = await wait_reports(gw, expected)
            assert {(r.carrier_id, r.parts) for r in reports} == {(result.carrier_id, expected)}
            assert sorted(r.part for r in reports) == list(range(1, expected + 1))

    run(main)


def test_too_many_parts_is_permanent_for_that_message() -> None:
    async def main() -> None:
        async with TestSmsc() as smsc, make_gateway(smsc, long_messages="udh", max_parts=2) as gw:
            results = await gw.send([sms(1, VIETNAMESE, unicode=True), sms(2)])
            assert isinstance(results[0].error, PermanentGatewayError)
            assert "max_parts" in str(results[0].error) and results[1].accepted
            assert len(smsc.accepted) == 1

    run(main)


def test_throttled_messages_are_transient_with_backoff_the_others_accepted() -> None:
    async def main() -> None:
        async with TestSmsc(throttle_every=3) as smsc, make_gateway(smsc) as gw:
            results = await gw.send([sms(i) for i in range(1, 7)])
            throttled = [r for r in results if r.error is not None]
            assert len(throttled) == 2 and len(smsc.accepted) == 4
            for r in throttled:
                assert isinstance(r.error, TransientGatewayError)
                assert r.error.retry_after == 0.05 and "ESME_RTHROTTLED" in str(r.error)

    run(main)


def test_invalid_destination_is_permanent_per_message() -> None:
    async def main() -> None:
        async with TestSmsc(reject={"84912000002"}) as smsc, make_gateway(smsc) as gw:
            results = await gw.send([sms(1), sms(2), sms(3)])
            assert [r.accepted for r in results] == [True, False, True]
            error = results[1].error
            assert isinstance(error, PermanentGatewayError) and error.status not in FATAL_STATUSES
            assert "ESME_RINVDSTADR" in str(error)

    run(main)


def test_bind_refused_is_permanent_401_and_nothing_is_sent() -> None:
    async def main() -> None:
        async with TestSmsc(password="other") as smsc:
            gw = make_gateway(smsc)
            with pytest.raises(PermanentGatewayError) as info:
                await gw.send([sms(1)])
            assert info.value.status == 401 and "ESME_RINVPASWD" in str(info.value)
            assert smsc.submits == 0 and smsc.binds == 0

    run(main)


def test_unknown_system_id_is_refused_too() -> None:
    async def main() -> None:
        async with TestSmsc(system_id="someone") as smsc:
            with pytest.raises(PermanentGatewayError, match="ESME_RINVSYSID"):
                await make_gateway(smsc).send([sms(1)])

    run(main)


def test_lost_session_is_bound_again_lazily_and_receipts_still_come() -> None:
    async def main() -> None:
        async with TestSmsc() as smsc, make_gateway(smsc) as gw:
            assert (await gw.send([sms(1)]))[0].accepted
            await wait_reports(gw, 1)
            smsc.drop_sessions()
            await eventually(lambda: gw.stats["sessions_lost"] >= 1, "the drop noticed")
            results = await gw.send([sms(2), sms(3)])
            assert all(r.accepted for r in results), results
            assert smsc.binds == 2 and gw.stats["binds"] == 2
            assert len(await wait_reports(gw, 2)) == 2

    run(main)


def test_no_answer_is_transient_and_the_session_is_replaced() -> None:
    async def main() -> None:
        # the timeout under test also bounds the answers after it: 2 s, not 0.3 s, so a
        # loaded machine's slow answer to the next bind or submit is not taken as lost
        async with TestSmsc(hang=True) as smsc, make_gateway(smsc, response_timeout=2.0) as gw:
            with pytest.raises(TransientGatewayError, match="submit_sm_resp"):
                await gw.send([sms(1)])
            smsc.hang = False
            await asyncio.sleep(0.1)
            assert (await gw.send([sms(2)]))[0].accepted
            assert gw.stats["binds"] == 2

    run(main)


def test_close_unbinds() -> None:
    async def main() -> None:
        async with TestSmsc() as smsc:
            gw = make_gateway(smsc)
            await gw.send([sms(1)])
            await gw.close()
            await eventually(lambda: not smsc._esmes, "the SMSC saw the session end")
            await gw.close()  # twice is fine

    run(main)


def test_receipt_text_without_tlvs() -> None:
    text = b"id:0A1B sub:001 dlvrd:000 submit date:2611262050 done date:2611262051 stat:UNDELIV err:034 text:Thong"
    receipt = parse_receipt(text, [])
    assert (receipt.message_id, receipt.stat, receipt.error) == ("0A1B", "UNDELIV", "034")
    report = receipt.report("g")
    assert report.status is ReportStatus.FAILED and report.error == "UNDELIV err:034"
    assert parse_receipt(text.replace(b"UNDELIV", b"EXPIRED"), []).status is ReportStatus.EXPIRED
    assert parse_receipt(text.replace(b"UNDELIV", b"ENROUTE"), []).status is None
    tlvs = [smpp34.Tlv(0x001E, b"ZZ9\0"), smpp34.Tlv(0x0427, bytes([2]))]
    assert parse_receipt(text, tlvs).message_id == "ZZ9"
    assert parse_receipt(text, tlvs).status is ReportStatus.DELIVERED


@pytest.mark.parametrize(("change", "message"), [
    ({"port": 70000}, "channels.sms.gateways.smpp.port: 70000 is not a TCP port"),
    ({"window": 0}, "channels.sms.gateways.smpp.window"),
    ({"long_messages": "split"}, "channels.sms.gateways.smpp.long_messages"),
    ({"system_id": "a-very-long-system-id"}, "channels.sms.gateways.smpp.system_id"),
    ({"dest_ton": 300}, "channels.sms.gateways.smpp.dest_ton: 300 is not an octet"),
    ({"password_env": "NOT_SET_ANYWHERE"},
     "channels.sms.gateways.smpp.password_env: environment variable NOT_SET_ANYWHERE is not set"),
    ({"hots": "x"}, "hots"),
])
def test_config_errors_are_located(change: dict[str, Any], message: str) -> None:
    table = {"host": "127.0.0.1", "system_id": "langson", "password_env": "SMPP_PASSWORD",
             **change}
    with pytest.raises(CampaignFileError) as info:
        SmppGateway.from_config(table, context(), env=ENV)
    assert message in str(info.value)


def test_check_config_does_not_need_the_password() -> None:
    table = {"host": "127.0.0.1", "system_id": "langson", "password_env": "NOT_SET_ANYWHERE"}
    SmppGateway.check_config(table, context())
    with pytest.raises(CampaignFileError, match="window"):
        SmppGateway.check_config({**table, "window": 0}, context())
