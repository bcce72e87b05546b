"""The ZNS gateway against the Zalo simulator on 127.0.0.1: what it sends, SMS fallback,
the access token and its refresh."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from langson_comms_zalo import ZnsGateway
from langson_comms_zalo.testing import ZaloSimulator
from zns_helpers import APP_SECRET, ENV, close, context, make_gateway, run, sms, table, write_tokens

from langson_comms import Runtime
from langson_comms.errors import (
    CampaignFileError,
    PermanentGatewayError,
    TransientGatewayError,
    WrongRouteError,
)
from langson_comms.sms.gateway import FATAL_STATUSES


def _saved(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_registered_through_the_entry_point() -> None:
    assert Runtime.create(env={}).registry.get("sms_gateway", "zns") is ZnsGateway


def test_template_message_fields_and_a_first_refresh_saved_owner_only(tmp_path: Path) -> None:
    tokens = write_tokens(tmp_path / "tokens.json", refresh="refresh-0")

    async def main() -> None:
        async with ZaloSimulator() as sim:
            gw = make_gateway(sim, tokens)
            try:
                results = await gw.send([sms(1, "bà Hoa"), sms(2, "ông Tuấn")])
            finally:
                await close(gw)
            assert [r.accepted for r in results] == [True, True]
            first, second = sim.accepted
            assert (first.phone, first.template_id, first.template_data, first.tracking_id) == (
                "84981000001", "231456", {"ten": "bà Hoa"}, "key-1")
            assert second.template_data == {"ten": "ông Tuấn"}
            assert sim.refreshes == 1
            saved = _saved(tokens)
            assert saved["refresh_token"] == sim.current_refresh_token() != "refresh-0"
            assert saved["access_token"] == first.access_token
            assert stat.S_IMODE(tokens.stat().st_mode) == 0o600
            gw = make_gateway(sim, tokens)  # a new process: the saved access token, no refresh
            try:
                (again,) = await gw.send([sms(3)])
            finally:
                await close(gw)
            assert again.accepted and sim.refreshes == 1 and not sim.locked_out

    run(main)


def test_an_expired_token_is_refreshed_once_and_only_what_was_not_taken_is_resent(
        tmp_path: Path) -> None:
    tokens = write_tokens(tmp_path / "tokens.json")

    async def main() -> None:
        async with ZaloSimulator(access_sends=3) as sim:
            gw = make_gateway(sim, tokens)
            try:
                results = await gw.send([sms(i) for i in range(1, 6)])
                assert all(r.accepted for r in results), results
                assert sim.refreshes == 2 and sim.token_refusals == 1
                assert [a.tracking_id for a in sim.accepted] == [f"key-{i}" for i in range(1, 6)]
                assert sim.duplicates() == {} and not sim.locked_out
                assert _saved(tokens)["refresh_token"] == sim.current_refresh_token()
                sim.access_sends = 1
                results = await gw.send([sms(i) for i in range(6, 10)])
            finally:
                await close(gw)
            # the token in use is spent: refreshed for the first message, refused again for
            # the second — one refresh per batch, the rest is left for later
            assert [r.accepted for r in results] == [True, False, False, False]
            assert all(isinstance(r.error, TransientGatewayError) for r in results[1:])
            assert sim.refreshes == 3 and len(sim.accepted) == 6

    run(main)


def test_concurrent_batches_and_a_second_process_refresh_once(tmp_path: Path) -> None:
    tokens = write_tokens(tmp_path / "tokens.json")

    async def main() -> None:
        async with ZaloSimulator() as sim:
            one, two = make_gateway(sim, tokens), make_gateway(sim, tokens)
            try:
                await one.send([sms(100)])
                assert sim.refreshes == 1
                await two.send([sms(101)])  # reads the token the first one saved
                assert sim.refreshes == 1
                sim.expire_tokens()
                batches = [[sms(10 * b + i) for i in range(3)] for b in range(1, 5)]
                answers = await asyncio.gather(*(one.send(b) for b in batches))
                assert all(r.accepted for results in answers for r in results)
                assert sim.refreshes == 2, "each batch refreshed on its own"
                (late,) = await two.send([sms(200)])  # stale token → adopts the saved one
                assert late.accepted and sim.refreshes == 2 and not sim.locked_out
            finally:
                await close(one)
                await close(two)

    run(main)


class _Crash(BaseException):
    """The process dies here: nothing after it runs (no except clause catches it)."""


@pytest.mark.parametrize("step", ["refreshed", "temp_written", "saved"])
def test_a_crash_at_each_step_of_a_refresh_does_not_lock_the_account_out(
        tmp_path: Path, step: str) -> None:
    tokens = write_tokens(tmp_path / "tokens.json", refresh="refresh-0", access="old",
                          expires_at=0)

    def crash(at: str) -> None:
        if at == step:
            raise _Crash(at)

    async def main() -> None:
        async with ZaloSimulator(refresh_token="refresh-0") as sim:
            gw = make_gateway(sim, tokens, checkpoint=crash)
            try:
                with pytest.raises(_Crash):
                    await gw.send([sms(1)])
            finally:
                await gw.client.aclose()
            assert sim.refreshes == 1 and sim.sends == 0
            on_disk = _saved(tokens)["refresh_token"]
            assert on_disk == ("refresh-0" if step != "saved" else f"refresh-1x{sim.port}")
            gw = make_gateway(sim, tokens)  # the restarted process
            try:
                results = await gw.send([sms(1), sms(2)])
            finally:
                await close(gw)
            assert all(r.accepted for r in results), results
            assert not sim.locked_out, "the account is locked out"
            assert _saved(tokens)["refresh_token"] == sim.current_refresh_token()

    run(main)


def test_the_simulator_locks_out_a_client_that_uses_the_new_token_before_saving_it() -> None:
    """The control for the crash test: the simulator does spend R1 once A2 is used."""
    import httpx

    async def main() -> None:
        async with ZaloSimulator(refresh_token="refresh-0") as sim, httpx.AsyncClient() as http:
            form = {"refresh_token": "refresh-0", "app_id": sim.app_id,
                    "grant_type": "refresh_token"}
            headers = {"secret_key": sim.app_secret}
            pair = (await http.post(sim.oauth_url, data=form, headers=headers)).json()
            body = {"phone": "84981000001", "template_id": "231456", "template_data": {},
                    "tracking_id": "t1"}
            sent = await http.post(sim.url + "/message/template", json=body,
                                   headers={"access_token": pair["access_token"]})
            assert sent.json()["error"] == 0
            # R2 lost in a crash: R1 is spent now
            again = (await http.post(sim.oauth_url, data=form, headers=headers)).json()
            assert again["error"] == -14014 and sim.locked_out

    run(main)


def test_numbers_without_zalo_and_refused_templates_go_to_the_next_route(tmp_path: Path) -> None:
    tokens = write_tokens(tmp_path / "tokens.json", access="A-fresh")

    async def main() -> None:
        async with ZaloSimulator(access_token="A-fresh", no_zalo={"84981000001"},
                                 refusing={"84981000002"}, invalid={"84981000003"}) as sim:
            gw = make_gateway(sim, tokens)
            other = make_gateway(sim, tokens, template_id="999999")
            try:
                no_zalo, refused, invalid, fine = await gw.send([sms(1), sms(2), sms(3), sms(4)])
                (mismatch,) = await gw.send([sms(5)._replace(text="Another text")])
                (template,) = await other.send([sms(6)])
            finally:
                await close(gw)
                await other.client.aclose()
        reasons = [r.error.reason if isinstance(r.error, WrongRouteError) else None
                   for r in (no_zalo, refused, invalid, fine, mismatch, template)]
        assert reasons == ["no_zalo_account", "zns_refused", None, None, "template_refused",
                           "template_refused"]
        assert isinstance(invalid.error, PermanentGatewayError) and fine.accepted
        assert sim.sends == 5  # the text that fits no template was never sent
        for r in (no_zalo, refused, invalid):
            assert "84981" not in str(r.error)

    run(main)


def test_account_errors_stop_the_run_and_rate_limits_wait(tmp_path: Path) -> None:
    tokens = write_tokens(tmp_path / "tokens.json", access="A-fresh")

    async def main() -> None:
        async with ZaloSimulator(access_token="A-fresh", send_error=-137) as sim:
            gw = make_gateway(sim, tokens)
            try:
                with pytest.raises(PermanentGatewayError) as info:
                    await gw.send([sms(1), sms(2)])
            finally:
                await close(gw)
        assert info.value.status in FATAL_STATUSES and sim.sends == 1
        async with ZaloSimulator(access_token="A-fresh", throttle_every=2) as sim:
            gw = make_gateway(sim, tokens, throttle_backoff=0.3)
            try:
                results = await gw.send([sms(i) for i in range(1, 5)])
            finally:
                await close(gw)
        assert [r.accepted for r in results] == [True, False, False, False]
        assert all(isinstance(r.error, TransientGatewayError) and r.error.retry_after == 0.3
                   for r in results[1:])
        async with ZaloSimulator(access_token="A-fresh", http_throttle_every=1,
                                 retry_after=2) as sim:
            gw = make_gateway(sim, tokens)
            try:
                with pytest.raises(TransientGatewayError) as slow:
                    await gw.send([sms(1)])
            finally:
                await close(gw)
        assert slow.value.retry_after == 2.0

    run(main)


def test_a_refused_refresh_token_stops_the_run_naming_the_file_not_the_token(
        tmp_path: Path) -> None:
    tokens = write_tokens(tmp_path / "tokens.json", refresh="refresh-spent-123")

    async def main() -> None:
        async with ZaloSimulator(refresh_token="refresh-0") as sim:
            gw = make_gateway(sim, tokens)
            try:
                with pytest.raises(PermanentGatewayError) as info:
                    await gw.send([sms(1)])
            finally:
                await close(gw)
        assert info.value.status in FATAL_STATUSES
        assert str(tokens) in str(info.value) and "refresh-spent-123" not in str(info.value)
        assert _saved(tokens)["refresh_token"] == "refresh-spent-123"  # nothing overwritten

    run(main)


def test_a_repeated_tracking_id_is_not_sent_twice(tmp_path: Path) -> None:
    tokens = write_tokens(tmp_path / "tokens.json", access="A-fresh")

    async def main() -> None:
        async with ZaloSimulator(access_token="A-fresh") as sim:
            gw = make_gateway(sim, tokens)
            try:
                (first,) = await gw.send([sms(1)])
                (again,) = await gw.send([sms(1)])
            finally:
                await close(gw)
        assert first.carrier_id == again.carrier_id and len(sim.accepted) == 1
        assert sim.replays == 1

    run(main)


@pytest.mark.parametrize(("change", "message"), [
    ({"app_secret": "x"}, "zns.app_secret: a credential never goes in the campaign file"),
    ({"refresh_token": "x"}, "zns.refresh_token: a credential never goes in the campaign file"),
    ({"app_secret_file": "s.txt"}, "zns.app_secret_env: expected exactly one of"),
    ({"app_secret_env": "NOT_SET_ANYWHERE"},
     "zns.app_secret_env: environment variable NOT_SET_ANYWHERE is not set"),
    ({"token_file": "missing.json"}, "zns.token_file: cannot read the token file"),
    ({"template_id": "abc"}, "zns.template_id"),
    ({"template_data": {}}, "zns.template_data: template_data is empty"),
    ({"template_data": {"ten": "{name}"}},
     "zns.template_data.ten: {name} is neither {text} nor a named group of text_pattern"),
    ({"text_pattern": "(unclosed"}, "zns.text_pattern: not a regular expression"),
    ({"url": "https://u:p@zalo.example"}, "zns.url: the URL carries credentials"),
])
def test_config_errors_are_located(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    tokens = write_tokens(tmp_path / "tokens.json")
    config = {**table("https://zalo.example", "https://oauth.example", "tokens.json"), **change}
    with pytest.raises(CampaignFileError) as info:
        ZnsGateway.from_config(config, context(tmp_path), env=ENV)
    assert message in str(info.value)
    assert APP_SECRET not in str(info.value)
    tokens.chmod(0o644)
    with pytest.raises(CampaignFileError, match=r"zns\.token_file: .* readable by others"):
        ZnsGateway.from_config(table("https://z.example", "https://o.example", "tokens.json"),
                               context(tmp_path), env=ENV)


def test_check_config_needs_neither_the_secret_nor_the_token_file() -> None:
    config = table("https://zalo.example", "https://oauth.example", "nowhere.json",
                   app_secret_env="NOT_SET_ANYWHERE")
    ZnsGateway.check_config(config, context())


@pytest.mark.parametrize("status", [400, 403])
def test_a_token_endpoint_refusing_by_http_status_stops_the_run(tmp_path: Path,
                                                                status: int) -> None:
    """Regression: an HTTP 400 from the token endpoint failed the batch's rows for good
    (a permanent, non-fatal 400) instead of stopping the run for an operator."""
    tokens = write_tokens(tmp_path / "tokens.json")

    async def main() -> None:
        async with ZaloSimulator(oauth_status=status) as sim:
            gw = make_gateway(sim, tokens)
            try:
                with pytest.raises(PermanentGatewayError) as info:
                    await gw.send([sms(1), sms(2)])
            finally:
                await close(gw)
        assert info.value.status in FATAL_STATUSES, info.value
        assert sim.sends == 0

    run(main)


@pytest.mark.parametrize("expires_in", [None, "inf"])
def test_a_refresh_answer_without_expires_in_is_not_refreshed_at_every_send(
        tmp_path: Path, expires_in: str | None) -> None:
    """Regression: a missing ``expires_in`` made the token expire at once, so every
    batch refreshed again (spending a single-use refresh token each time); an infinite
    one was saved as ``Infinity``, which the next load refused."""
    tokens = write_tokens(tmp_path / "tokens.json")

    async def main() -> None:
        async with ZaloSimulator(expires_in=expires_in) as sim:
            gw = make_gateway(sim, tokens)
            try:
                for ref in range(1, 4):
                    (result,) = await gw.send([sms(ref)])
                    assert result.accepted
            finally:
                await close(gw)
            again = make_gateway(sim, tokens)  # the saved file loads
            await close(again)
        assert sim.refreshes == 1

    run(main)


CRASHING_SENDER = """
import asyncio, os, sys
from pathlib import Path
sys.path.insert(0, sys.argv[4])
from zns_helpers import make_gateway, sms
from langson_comms_zalo.testing import ZaloSimulator

sim = ZaloSimulator()
sim.port = int(sys.argv[1])

def crash(step):
    if step == sys.argv[3]:
        os._exit(9)  # killed: no cleanup, no finally

async def main():
    gw = make_gateway(sim, Path(sys.argv[2]), checkpoint=crash)
    await gw.send([sms(1)])

asyncio.run(main())
"""


def test_a_process_killed_between_the_temp_file_and_the_rename_is_not_locked_out(
        tmp_path: Path) -> None:
    """The crash test with a real process exit (``os._exit``) after the temp file is
    written and synced: the lock is released by the kernel, the old token is still the
    file's, and a new gateway sends."""
    import subprocess
    import sys

    tokens = write_tokens(tmp_path / "tokens.json", refresh="refresh-0")

    async def main() -> None:
        async with ZaloSimulator(refresh_token="refresh-0") as sim:
            done = await asyncio.to_thread(
                subprocess.run, [sys.executable, "-c", CRASHING_SENDER, str(sim.port),
                                 str(tokens), "temp_written", str(Path(__file__).parent)],
                capture_output=True, text=True, timeout=120)
            assert done.returncode == 9, done.stderr
            assert sim.refreshes == 1 and sim.sends == 0
            assert _saved(tokens)["refresh_token"] == "refresh-0"
            assert (tmp_path / ".tokens.json.tmp").exists()  # written, never renamed
            gw = make_gateway(sim, tokens)
            try:
                (result,) = await gw.send([sms(2)])
            finally:
                await close(gw)
            assert result.accepted and not sim.locked_out
            assert _saved(tokens)["refresh_token"] == sim.current_refresh_token()

    run(main, timeout=150)


def test_a_refused_app_secret_points_at_the_secret_first_not_only_at_a_new_authorisation(
        tmp_path: Path) -> None:
    """Zalo refusing the app secret (or app_id) is not a spent refresh token: the message
    sends the operator to the secret and app_id before the OA's authorisation."""
    tokens = write_tokens(tmp_path / "tokens.json", refresh="refresh-0")

    async def main() -> None:
        async with ZaloSimulator(app_secret="another-secret") as sim:
            gw = make_gateway(sim, tokens)
            try:
                with pytest.raises(PermanentGatewayError) as info:
                    await gw.send([sms(1)])
            finally:
                await close(gw)
        message = str(info.value)
        assert info.value.status in FATAL_STATUSES
        assert "app_id and the app secret" in message, message
        assert APP_SECRET not in message and "another-secret" not in message
        assert _saved(tokens)["refresh_token"] == "refresh-0"

    run(main)


def test_a_token_file_that_is_a_symbolic_link_is_replaced_at_its_target(tmp_path: Path) -> None:
    """``token_file`` a link to a file elsewhere (a mounted secret, a shared folder): the
    new refresh token is written over the target, the link stays a link — so whatever
    else reads the target never holds the spent refresh token (a lock-out)."""
    (tmp_path / "vault").mkdir()
    target = write_tokens(tmp_path / "vault" / "tokens.json", refresh="refresh-0")
    link = tmp_path / "zalo-tokens.json"
    link.symlink_to(target)

    async def main() -> None:
        async with ZaloSimulator() as sim:
            gw = make_gateway(sim, link)
            try:
                assert (await gw.send([sms(1)]))[0].accepted
            finally:
                await close(gw)
            assert _saved(target)["refresh_token"] == sim.current_refresh_token() != "refresh-0"

    run(main)
    assert link.is_symlink() and stat.S_IMODE(target.stat().st_mode) == 0o600
