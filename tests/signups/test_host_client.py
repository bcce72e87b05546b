"""``ingest_signups`` with the host application's own HTTP client and store: the
``http_poll`` source pages through the client the host made (its header arrives at a
real API on 127.0.0.1) and the library closes neither the client nor the store;
``serve_signups`` receives into a store the host opened."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import attrs
import httpx

from langson_comms import FrozenClock, Runtime, api
from langson_comms.signups import SqliteSignupStore
from langson_comms.signups.signature import signed_headers
from langson_comms.testing.signup_contract import contract_items

from .conftest import ENV, write_campaign
from .net_helpers import PagedApi, running
from .test_http_poll import load
from .test_webhook import HOOK, HOOK_ENV, SECRET, event


def test_the_hosts_client_is_used_and_left_open(runtime: Runtime, tmp_path: Path,
                                                frozen_clock: FrozenClock) -> None:
    with running(PagedApi(contract_items(8), page_size=3)) as served:
        campaign = load(runtime, tmp_path, served.url, token_env="POSTMART_TOKEN")
        source = campaign.signups.sources["postmart"]
        client = httpx.AsyncClient(headers={"X-Host-App": "portal"}, trust_env=False)
        host_store = SqliteSignupStore(tmp_path / "host.sqlite")
        try:
            with_token = attrs.evolve(source, environ={"POSTMART_TOKEN": "tok-9"})
            signups = attrs.evolve(campaign.signups, sources={"postmart": with_token})
            report = api.ingest_signups(attrs.evolve(campaign, signups=signups),
                                        clock=frozen_clock, env=ENV, http_client=client,
                                        store=host_store)
            assert report.sources["postmart"].accepted == 8
            assert served.hosts_header == ["portal"] * 3  # the host's client sent them
            assert served.auth == ["Bearer tok-9"] * 3  # the source's token, per request
            assert [r.get("limit") for r in served.requests] == ["3"] * 3
            assert not client.is_closed  # the host's to close
            assert host_store.status().total == 8  # the host's store, still open
            assert not Path(campaign.signups.store_path).exists()  # not the campaign's
            # and the host goes on using it on its own loop, then closes it
            asyncio.run(_use_and_close(client, served.url))
            assert served.hosts_header[-1] == "portal" and client.is_closed
        finally:
            host_store.close()
            if not client.is_closed:
                asyncio.run(client.aclose())


async def _use_and_close(client: httpx.AsyncClient, url: str) -> None:
    try:
        assert (await client.get(url)).status_code == 200
    finally:
        await client.aclose()


def test_without_a_client_the_source_makes_and_closes_its_own(
        runtime: Runtime, tmp_path: Path, frozen_clock: FrozenClock) -> None:
    made: list[httpx.AsyncClient] = []
    original = httpx.AsyncClient.__init__

    def recording(self: httpx.AsyncClient, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        made.append(self)

    with running(PagedApi(contract_items(4), page_size=3)) as served:
        campaign = load(runtime, tmp_path, served.url)
        httpx.AsyncClient.__init__ = recording  # type: ignore[method-assign]
        try:
            report = api.ingest_signups(campaign, clock=frozen_clock, env=ENV)
        finally:
            httpx.AsyncClient.__init__ = original  # type: ignore[method-assign]
    assert report.sources["postmart"].accepted == 4
    assert served.hosts_header == [None, None]
    assert made and all(c.is_closed for c in made)


def test_serve_signups_answers_into_the_hosts_store(runtime: Runtime, tmp_path: Path,
                                                   frozen_clock: FrozenClock) -> None:
    campaign = runtime.load_campaign(write_campaign(tmp_path, HOOK))

    async def main(store: SqliteSignupStore) -> dict[int, int]:
        stop = asyncio.Event()
        ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        serving = asyncio.create_task(api.serve_signups(
            campaign, "hook", stop, clock=frozen_clock, port=0, env=HOOK_ENV,
            ready=ready.set_result, store=store))
        url = await asyncio.wait_for(ready, 10)
        raw = json.dumps(event(1)).encode()
        headers = signed_headers(SECRET.encode(), int(frozen_clock.timestamp()), raw)
        async with aiohttp.ClientSession() as session, \
                session.post(url, data=raw, headers=dict(headers)) as response:
            assert response.status == 200
        stop.set()
        return await asyncio.wait_for(serving, 10)

    with SqliteSignupStore(tmp_path / "host.sqlite") as host_store:
        assert asyncio.run(main(host_store)) == {200: 1}
        assert host_store.status().total == 1  # stored in the host's store, still open
    assert not Path(campaign.signups.store_path).exists()
