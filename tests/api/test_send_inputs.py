"""``send_sms`` given a careless audience: one file name instead of a list is that file
(not each of its characters), and a missing or non-UTF-8 file is a ``DataError`` naming
it, with nothing sent and every gateway and client closed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from langson_comms import DataError, api

from .test_send_api import Tracker, _run, _setup


@pytest.mark.parametrize("as_path", [False, True])
def test_one_file_name_is_one_audience_file(tmp_path: Path, carrier_simulator: Any,
                                            as_path: bool) -> None:
    sim = carrier_simulator()
    target, prepared = _setup(tmp_path, sim, 3)
    audience: Any = Path(prepared) if as_path else prepared
    summary = _run(lambda: api.send_sms(target, audience=audience))
    assert summary.loaded == (api.AudienceLoaded(prepared, 3, 0),)
    assert summary.counts["accepted"] == 3


def test_a_missing_audience_file_is_a_located_data_error(tmp_path: Path,
                                                          carrier_simulator: Any) -> None:
    sim = carrier_simulator()
    target, _ = _setup(tmp_path, sim, 3)
    tracker = Tracker()
    missing = tmp_path / "no-such.csv"
    with pytest.raises(DataError, match="no-such.csv") as caught:
        _run(lambda: api.send_sms(target, audience=[str(missing)], client_factory=tracker))
    assert "expected" in str(caught.value)
    assert tracker.all_closed()
    assert sim.accepted_snapshot() == []


def test_an_audience_file_that_is_not_utf8_is_a_located_data_error(
        tmp_path: Path, carrier_simulator: Any) -> None:
    sim = carrier_simulator()
    target, _ = _setup(tmp_path, sim, 3)
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("msisdn,carrier_hint,source_file,source_line,ten\n"
                    "+84910000001,viettel,l.csv,2,Bé\n".encode("latin-1"))
    with pytest.raises(DataError, match="latin1.csv"):
        _run(lambda: api.send_sms(target, audience=[str(bad)]))
    assert sim.accepted_snapshot() == []


def test_the_event_loop_keeps_running_while_the_audience_loads(
        tmp_path: Path, carrier_simulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A host service's other tasks are not frozen while a large file goes into the ledger."""
    import asyncio
    import threading

    from langson_comms.api import sms_send

    sim = carrier_simulator()
    target, prepared = _setup(tmp_path, sim, 3)
    other_task_ran = threading.Event()
    original = sms_send.load_prepared

    def slow_load(*args: Any, **kwargs: Any) -> tuple[int, int]:
        # stands for a long load: it ends only once another task of the loop has run
        assert other_task_ran.wait(30), "the event loop was blocked while loading"
        return original(*args, **kwargs)

    monkeypatch.setattr(sms_send, "load_prepared", slow_load)

    async def host() -> api.SendSummary:
        async def other_task() -> None:
            await asyncio.sleep(0.01)
            other_task_ran.set()

        ticker = asyncio.create_task(other_task())
        summary = await api.send_sms(target, audience=[prepared])
        await ticker
        return summary

    summary = _run(host)
    assert summary.counts["accepted"] == 3


@pytest.mark.parametrize("every", [0.0, -1.0, float("nan")])
def test_a_progress_interval_that_is_not_positive_is_refused_before_loading(
        tmp_path: Path, carrier_simulator: Any, every: float) -> None:
    """0 would count the whole ledger in a tight loop and flood the callback."""
    from langson_comms import ConfigError

    sim = carrier_simulator()
    target, prepared = _setup(tmp_path, sim, 3)
    with pytest.raises(ConfigError, match="progress_every"):
        _run(lambda: api.send_sms(target, audience=[prepared], progress_every=every))
    assert sim.accepted_snapshot() == []
    with target.open_ledger() as ledger:
        assert sum(ledger.counts(target.campaign.id).values()) == 0
