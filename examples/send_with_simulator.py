"""Send a campaign's SMS through the loopback carrier simulator, with a progress callback,
and print the ledger's counts.

The simulator (``langson_comms.testing.simulator``) answers like a carrier's HTTP API on
127.0.0.1; a real campaign names its gateway instead.

    uv run python examples/send_with_simulator.py
"""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
from pathlib import Path

from langson_comms import SendEvent, SendProgress, build_campaign, send_sms, sms_target
from langson_comms.testing.simulator import CarrierSimulator


def on_event(event: SendEvent) -> None:
    if isinstance(event, SendProgress):
        print(f"  {'done' if event.final else 'progress'}: {event.done}/{event.total}")


async def send(folder: Path, simulator: CarrierSimulator) -> None:
    campaign = build_campaign({
        "campaign": {"id": "cds-2022", "title": "Công dân số Xứ Lạng",
                     "start": dt.date(2022, 6, 10), "end": dt.date(2022, 12, 31)},
        "messages": {"invite": {"text": "Cai dat ung dung Cong dan so Xu Lang, {{ten}}",
                                "classification": "public_notice",
                                "classified_by": "So TT&TT"}},
        "channels": {"sms": {"kind": "sms", "mode": "direct", "message": "invite",
                             "brandname": "LANGSON", "ledger": "ledger.sqlite",
                             "gateways": {"sim": {"kind": "generic_http",
                                                  "url": simulator.url}}}},
    }, base_dir=folder)
    prepared = folder / "prepared.csv"  # as 'sms prepare' / prepare_audience writes it
    rows = [f"+8491{i:07d},viettel,list.csv,{i + 2},Ban {i}" for i in range(50)]
    prepared.write_text("msisdn,carrier_hint,source_file,source_line,ten\n"
                        + "\n".join(rows) + "\n", encoding="utf-8")
    summary = await send_sms(sms_target(campaign), audience=[str(prepared)],
                             on_event=on_event, progress_every=0.2)
    counts = ", ".join(f"{state} {n}" for state, n in summary.counts.items() if n)
    print(f"{summary.outcome}: {counts}")


def main() -> None:
    simulator = CarrierSimulator().start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            asyncio.run(send(Path(folder), simulator))
    finally:
        simulator.stop()
    print(f"the simulator accepted {len(simulator.accepted_snapshot())} messages")


if __name__ == "__main__":
    main()
