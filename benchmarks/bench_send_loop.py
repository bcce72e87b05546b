"""Benchmark: how long ``send_sms`` keeps the host's event loop from running.

A host application awaits ``langson_comms.api.send_sms`` on its own event loop, next to
its other work.  In a fresh process (first imports and plugin loading included, as a
host's first send), a ticker task on the loop sleeps 5 ms at a time and records every
gap between its ticks while N prepared rows are loaded into a new ledger and sent to the
loopback carrier simulator (its answers held back, so the run measures loading, start
and the progress counts; the send is cancelled after ``--seconds``).  The longest gaps
are printed with the time they ended, the events' times, and the garbage collector's
pauses (they stall every thread and are not the library's blocking).

    uv run python benchmarks/bench_send_loop.py                 # 20,000 rows
    uv run python benchmarks/bench_send_loop.py --rows 100000 --seconds 10

Target (review of issue 16): no gap over 0.25 s at 20,000 rows on a quiet machine.
Results go in docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from langson_comms import api, load_campaign
from langson_comms.testing.simulator import CarrierSimulator

CAMPAIGN = """\
[campaign]
id = "bench"
title = "Loop stalls"
start = 2022-06-10
end = 2022-12-31

[messages.invite]
text = "Tai ung dung Cong dan so Xu Lang, {{{{ten}}}}"
classification = "public_notice"
classified_by = "So TT&TT"

[channels.sms]
kind = "sms"
mode = "direct"
message = "invite"
brandname = "LANGSON"
ledger = "ledger.sqlite"

[channels.sms.gateways.sim]
kind = "generic_http"
url = "{url}"
supports_idempotency = true
timeout = 30.0
"""


class GcPauses:
    """A ``gc.callbacks`` entry recording each collection's generation and seconds."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self._began = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.pauses.append((int(info["generation"]), time.perf_counter() - self._began))


async def measure(target: api.SmsTarget, prepared: Path, seconds: float) -> dict[str, Any]:
    gaps: list[tuple[float, float]] = []
    events: list[tuple[str, float]] = []
    t0 = time.perf_counter()

    async def tick() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append((now - last, now - t0))
            last = now

    def on_event(event: api.SendEvent) -> None:
        if len(events) < 4:
            events.append((type(event).__name__, round(time.perf_counter() - t0, 3)))

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.02)
    send = asyncio.create_task(api.send_sms(target, audience=prepared, on_event=on_event,
                                            progress_every=0.5))
    await asyncio.sleep(seconds)
    send.cancel()
    try:
        await send
    except asyncio.CancelledError:
        pass
    ticker.cancel()
    worst = sorted(gaps, reverse=True)[:5]
    return {"worst_gaps_s": [[round(g, 3), round(at, 3)] for g, at in worst], "events": events}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    sim = CarrierSimulator(timeout=1.0).start()  # every answer held back
    try:
        folder = Path(tempfile.mkdtemp(prefix="bench-send-loop-"))
        (folder / "campaign.toml").write_text(CAMPAIGN.format(url=sim.url), encoding="utf-8")
        lines = ["msisdn,carrier_hint,source_file,source_line,ten"]
        lines += [f"+8491{i:07d},viettel,list.csv,{i + 2},Ban {i}" for i in range(args.rows)]
        prepared = folder / "prepared.csv"
        prepared.write_text("\n".join(lines) + "\n", encoding="utf-8")
        target = api.sms_target(load_campaign(folder / "campaign.toml"))
        pauses = GcPauses()
        gc.callbacks.append(pauses)
        result = asyncio.run(measure(target, prepared, args.seconds))
        gc.callbacks.remove(pauses)
        result["gc_longest_s"] = sorted(((g, round(s, 3)) for g, s in pauses.pauses),
                                        key=lambda p: -p[1])[:3]
        print(json.dumps({"rows": args.rows, **result}))
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
