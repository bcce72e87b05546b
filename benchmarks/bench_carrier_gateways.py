"""Benchmark: each carrier gateway's overhead per message against its own simulator,
next to ``generic_http``, in one run.

For every contender two phases send the same N messages, one per request, from W
worker tasks over one ``httpx.AsyncClient`` (the gateway's own ``make_client``):

* ``bare``: the wire requests built beforehand, posted as bytes, the answer read and
  its HTTP status checked — what any client of that API must do at least;
* ``gateway``: ``gateway.send([sms])`` for each message — building the request,
  posting it, reading and judging the answer.

Each simulator runs in its own process, so the CPU time measured (``process_time`` of
this process) is the client's alone.  The overhead per message is the gateway phase's
CPU time per message minus the bare phase's; wall-clock rates are printed too.
Contenders are registered in ``CONTENDERS`` (carriers add theirs there).  Figures and
the machine go in docs/performance.md.

    uv run python benchmarks/bench_carrier_gateways.py                  # 20,000 messages
    uv run python benchmarks/bench_carrier_gateways.py --count 2000 --repeat 1
    uv run python benchmarks/bench_carrier_gateways.py --only viettel
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from langson_comms.config import ConfigContext
from langson_comms.sms.gateway import OutgoingSms, SmsGateway

TEXT = "Tai ung dung Cong dan so Xu Lang: phan anh kien nghi, dich vu cong truc tuyen."
PASSWORD = "bench-secret-1"


class Contender(NamedTuple):
    #: serve(port_queue): run the simulator forever in a child process, put its base URL
    serve: Callable[[Any], None]
    #: make(base_url): the gateway, configured against that simulator
    make: Callable[[str], SmsGateway]
    #: request(gateway, sms): (url, body bytes, headers) of the wire request for ``sms``
    request: Callable[[SmsGateway, OutgoingSms], tuple[str, bytes, dict[str, str]]]


def _context(name: str) -> ConfigContext:
    from pathlib import Path

    return ConfigContext(source="bench.toml", base_dir=Path("."), key=f"channels.sms.gateways.{name}")


def _serve_forever(start: Callable[[], Any], url: Callable[[Any], str], queue: Any) -> None:
    async def main() -> None:
        sim = await start()
        queue.put(url(sim))
        await asyncio.Event().wait()

    asyncio.run(main())


# -- generic_http against the core carrier simulator ----------------------------------------

def _generic_serve(queue: Any) -> None:
    from langson_comms.testing.simulator import CarrierSimulator

    _serve_forever(lambda: CarrierSimulator(record=False).start_async(), lambda s: s.url, queue)


def _generic_make(url: str) -> SmsGateway:
    from langson_comms.sms.http_gateway import GenericHttpGateway

    return GenericHttpGateway.from_config({"url": url, "supports_idempotency": True,
                                           "connections": 16}, _context("generic"))


def _generic_request(gateway: SmsGateway, sms: OutgoingSms) -> tuple[str, bytes, dict[str, str]]:
    import json

    from langson_comms.sms.http_gateway import GenericHttpGateway

    assert isinstance(gateway, GenericHttpGateway)
    body = json.dumps(gateway._body(sms), ensure_ascii=False).encode()
    return gateway.config.url, body, {**gateway._headers, "Idempotency-Key": sms.idempotency_key}


# -- viettel against its simulator ----------------------------------------------------------

def _viettel_serve(queue: Any) -> None:
    from langson_comms_viettel.testing import ViettelSimulator

    _serve_forever(lambda: ViettelSimulator(password=PASSWORD, record=False).start_async(),
                   lambda s: s.url, queue)


def _viettel_make(url: str) -> SmsGateway:
    from langson_comms_viettel import ViettelGateway

    return ViettelGateway.from_config(
        {"url": url, "user": "langson", "cp_code": "LANGSON_CP", "password_env": "BENCH_PASSWORD",
         "service_id": "LANGSON", "connections": 16}, _context("viettel"),
        env={"BENCH_PASSWORD": PASSWORD})


def _viettel_request(gateway: SmsGateway, sms: OutgoingSms) -> tuple[str, bytes, dict[str, str]]:
    from langson_comms_viettel import ViettelGateway
    from langson_comms_viettel.soap import build_request

    assert isinstance(gateway, ViettelGateway)
    return gateway.config.url, build_request(gateway._fields(sms)), dict(gateway._headers)


# -- vnpt against its simulator -------------------------------------------------------------

def _vnpt_serve(queue: Any) -> None:
    from langson_comms_vnpt.testing import VnptSimulator

    _serve_forever(lambda: VnptSimulator(api_pass=PASSWORD, record=False).start_async(),
                   lambda s: s.url, queue)


def _vnpt_make(url: str) -> SmsGateway:
    from langson_comms_vnpt import VnptGateway

    return VnptGateway.from_config(
        {"url": url, "api_user": "langson_api", "api_pass_env": "BENCH_PASSWORD", "agent_id": "244",
         "contract_id": "13681", "template_id": "T-FREE-1", "username": "langson",
         "label_id": "LANGSON", "connections": 16}, _context("vnpt"), env={"BENCH_PASSWORD": PASSWORD})


def _vnpt_request(gateway: SmsGateway, sms: OutgoingSms) -> tuple[str, bytes, dict[str, str]]:
    from langson_comms_vnpt import VnptGateway
    from langson_comms_vnpt.envelope import build_request

    assert isinstance(gateway, VnptGateway)
    return gateway.config.url, build_request(gateway.request(sms)), dict(gateway._headers)


# -- mobifone against its simulator ---------------------------------------------------------

async def _started(sim: Any) -> Any:
    await sim.start()
    return sim


def _mobifone_serve(queue: Any) -> None:
    from langson_comms_mobifone.testing import MobifoneSimulator

    _serve_forever(lambda: _started(MobifoneSimulator(password=PASSWORD)), lambda s: s.url, queue)


def _mobifone_make(url: str) -> SmsGateway:
    from langson_comms_mobifone import MobifoneGateway

    return MobifoneGateway.from_config(
        {"url": url, "username": "langson", "password_env": "BENCH_PASSWORD", "sender": "LANGSON",
         "concurrency": 16}, _context("mobifone"), env={"BENCH_PASSWORD": PASSWORD})


def _mobifone_request(gateway: SmsGateway, sms: OutgoingSms) -> tuple[str, bytes, dict[str, str]]:
    """``send.jsp``'s form; the bare phase logs in once (synchronously) for its session id."""
    from urllib.parse import urlencode

    import httpx
    from langson_comms_mobifone import MobifoneGateway

    assert isinstance(gateway, MobifoneGateway)
    if gateway._sid is None:
        login = httpx.post(gateway._login_url, data={"userName": gateway.config.username,
                                                     "password": gateway._password})
        gateway._sid = login.json()["sid"]
        gateway._generation += 1
    url, form = gateway._form(sms, gateway._sid)
    return url, urlencode(form).encode(), {"content-type": "application/x-www-form-urlencoded"}


# -- zalo zns against its simulator ---------------------------------------------------------

ZNS_ACCESS = "bench-access-token-1"


def _zns_serve(queue: Any) -> None:
    from langson_comms_zalo.testing import ZaloSimulator

    _serve_forever(lambda: _started(ZaloSimulator(app_secret=PASSWORD, access_token=ZNS_ACCESS)),
                   lambda s: s.url, queue)


def _zns_make(url: str) -> SmsGateway:
    import json
    import tempfile
    from pathlib import Path

    from langson_comms_zalo import ZnsGateway

    tokens = Path(tempfile.mkdtemp(prefix="bench-zns-")) / "tokens.json"
    tokens.write_text(json.dumps({"refresh_token": "bench-refresh-0", "access_token": ZNS_ACCESS,
                                  "expires_at": time.time() + 86400}), encoding="utf-8")
    tokens.chmod(0o600)
    return ZnsGateway.from_config(
        {"url": url, "oauth_url": url.rsplit("/", 1)[0] + "/v4/oa/access_token", "app_id": "4321",
         "app_secret_env": "BENCH_PASSWORD", "token_file": str(tokens), "template_id": "231456",
         "template_data": {"noi_dung": "{text}"}, "concurrency": 16}, _context("zns"),
        env={"BENCH_PASSWORD": PASSWORD})


def _zns_request(gateway: SmsGateway, sms: OutgoingSms) -> tuple[str, bytes, dict[str, str]]:
    import json

    from langson_comms_zalo import ZnsGateway

    assert isinstance(gateway, ZnsGateway)
    body = {"phone": sms.msisdn.removeprefix("+"), "template_id": gateway.config.template_id,
            "template_data": gateway.template_data(sms.text), "tracking_id": sms.idempotency_key}
    return gateway._send_url, json.dumps(body).encode(), {"access_token": ZNS_ACCESS,
                                                            "content-type": "application/json"}


CONTENDERS: dict[str, Contender] = {
    "generic_http": Contender(_generic_serve, _generic_make, _generic_request),
    "viettel": Contender(_viettel_serve, _viettel_make, _viettel_request),
    "vnpt": Contender(_vnpt_serve, _vnpt_make, _vnpt_request),
    "mobifone": Contender(_mobifone_serve, _mobifone_make, _mobifone_request),
    "zns": Contender(_zns_serve, _zns_make, _zns_request),
}


# -- the measure ----------------------------------------------------------------------------

def _messages(n: int, tag: str) -> list[OutgoingSms]:
    return [OutgoingSms(i, f"+8496{i:07d}", TEXT, idempotency_key=f"{tag}-{i:08d}") for i in range(n)]


async def _drain(workers: int, items: Iterator[Any], one: Callable[[Any], Any]) -> None:
    async def worker() -> None:
        for item in items:
            await one(item)

    await asyncio.gather(*(worker() for _ in range(workers)))


async def _phase(gateway: SmsGateway, contender: Contender, n: int, workers: int, tag: str,
                 bare: bool) -> tuple[float, float]:
    """(wall seconds, CPU seconds) to send n messages."""
    client = gateway.make_client()
    gateway.bind_client(client)
    failures = 0
    try:
        if bare:
            requests = [contender.request(gateway, s) for s in _messages(n, tag)]

            async def one(request: tuple[str, bytes, dict[str, str]]) -> None:
                nonlocal failures
                url, body, headers = request
                response = await client.post(url, content=body, headers=headers)
                await response.aread()
                failures += response.status_code != 200

            work: list[Any] = requests
        else:
            async def one(sms: OutgoingSms) -> None:  # type: ignore[misc]
                nonlocal failures
                (result,) = await gateway.send([sms])
                failures += not result.accepted

            work = _messages(n, tag)
        await _drain(workers, iter(work[: min(200, n)]), one)  # warm the connections
        rest = iter(work[min(200, n):])
        wall, cpu = time.perf_counter(), time.process_time()
        await _drain(workers, rest, one)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        await client.aclose()
        await gateway.close()
    if failures:
        raise SystemExit(f"{failures} messages not accepted in phase {tag}")
    return wall, cpu


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", action="append", choices=sorted(CONTENDERS))
    args = parser.parse_args(argv)
    names = args.only or list(CONTENDERS)
    print(f"{platform.python_implementation()} {platform.python_version()} on {platform.machine()}, "
          f"{os.cpu_count()} cores; {args.count:,} messages per phase (200 warm-up ones excluded), "
          f"{args.workers} workers, medians of {args.repeat}")
    ctx = mp.get_context("spawn")
    rows = []
    for name in names:
        contender = CONTENDERS[name]
        queue = ctx.Queue()
        server = ctx.Process(target=contender.serve, args=(queue,), daemon=True)
        server.start()
        try:
            url = queue.get(timeout=30)
            measured: dict[str, list[tuple[float, float]]] = {"bare": [], "gateway": []}
            for round_ in range(args.repeat):
                for phase in ("bare", "gateway"):
                    gateway = contender.make(url)
                    wall, cpu = asyncio.run(_phase(gateway, contender, args.count + 200, args.workers,
                                                   f"{phase}{round_}", phase == "bare"))
                    measured[phase].append((wall, cpu))
        finally:
            server.terminate()
            server.join(10)
        n = args.count
        bare_wall = statistics.median(w for w, _ in measured["bare"])
        bare_cpu = statistics.median(c for _, c in measured["bare"])
        gw_wall = statistics.median(w for w, _ in measured["gateway"])
        gw_cpu = statistics.median(c for _, c in measured["gateway"])
        rows.append((name, n / bare_wall, n / gw_wall, bare_cpu / n * 1e6, gw_cpu / n * 1e6))
    print(f"{'gateway':<14}{'bare msg/s':>12}{'gateway msg/s':>15}{'bare CPU µs':>13}"
          f"{'gateway CPU µs':>16}{'overhead µs':>13}")
    for name, bare_rate, gw_rate, bare_us, gw_us in rows:
        print(f"{name:<14}{bare_rate:>12,.0f}{gw_rate:>15,.0f}{bare_us:>13.0f}{gw_us:>16.0f}"
              f"{gw_us - bare_us:>13.0f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
