"""Sketch lengths (measured from audio), due dates, and the [channels.broadcast] table's errors."""

from __future__ import annotations

import datetime as dt
import wave
from pathlib import Path

import pytest

from langson_comms import Runtime
from langson_comms.broadcast.sketches import DueState, SketchCatalogue
from langson_comms.broadcast.stations import StationRegistry
from langson_comms.errors import CampaignFileError, DataError, DataErrors

from .conftest import set_channel_keys

HEADER = "id,title,topic,language,producer,due,duration_seconds,delivered,audio\n"


def make_wav(path: Path, seconds: float, rate: int = 8000) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x00" * int(rate * seconds))
    return path


def test_audio_length_is_measured_not_trusted(tmp_path: Path) -> None:
    make_wav(tmp_path / "isee.wav", 47.5)
    (tmp_path / "sketches.csv").write_text(
        HEADER + "isee,iSee,isee,vi,Hữu Lũng,2022-06-30,30,2022-06-28,isee.wav\n", encoding="utf-8"
    )
    sketch = SketchCatalogue.from_csv(tmp_path / "sketches.csv").get("isee")
    assert sketch.seconds == pytest.approx(47.5, abs=0.01)
    assert sketch.duration_source == "audio"


def test_a_sketch_over_60_seconds_is_refused_with_its_measured_length(tmp_path: Path) -> None:
    make_wav(tmp_path / "mb.wav", 72.4)
    (tmp_path / "sketches.csv").write_text(
        "# sample\n" + HEADER + "mb,MB Bank,payment,vi,Hữu Lũng,2022-06-30,55,,mb.wav\n", encoding="utf-8"
    )
    with pytest.raises(DataError) as info:
        SketchCatalogue.from_csv(tmp_path / "sketches.csv")
    assert info.value.line == 3 and info.value.column == "audio"
    assert "72.4 s long (measured from mb.wav)" in str(info.value)
    assert "limit is 60 s" in str(info.value)


def test_declared_length_over_the_limit_and_unreadable_audio(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text(HEADER + "x,X,t,vi,P,2022-06-30,61,,\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"61.0 s long \(declared\)"):
        SketchCatalogue.from_csv(tmp_path / "a.csv")
    (tmp_path / "noise.wav").write_bytes(b"not audio at all")
    (tmp_path / "b.csv").write_text(HEADER + "x,X,t,vi,P,2022-06-30,,,noise.wav\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"noise\.wav") as info:
        SketchCatalogue.from_csv(tmp_path / "b.csv")
    assert info.value.column == "audio"
    (tmp_path / "c.csv").write_text(HEADER + "x,X,t,Khmer,P,2022-06-30,30,,\n", encoding="utf-8")
    with pytest.raises(DataError, match="not a language") as info:
        SketchCatalogue.from_csv(tmp_path / "c.csv")
    assert (info.value.line, info.value.column) == (2, "language")


def test_missed_due_dates_are_reported(tmp_path: Path) -> None:
    (tmp_path / "s.csv").write_text(
        HEADER
        + "on-time,A,t,vi,P,2022-06-30,50,2022-06-29,\n"
        + "late,B,t,Tày,P,2022-06-30,50,2022-07-04,\n"
        + "missing,C,t,nùng,P,2022-06-30,50,,\n"
        + "future,D,t,vi,P,2022-08-01,50,,\n",
        encoding="utf-8",
    )
    report = {s.sketch.id: s for s in SketchCatalogue.from_csv(tmp_path / "s.csv").due_report(dt.date(2022, 7, 10))}
    assert report["on-time"].state is DueState.ON_TIME and not report["on-time"].missed
    assert (report["late"].state, report["late"].days_late) == (DueState.LATE, 4)
    assert (report["missing"].state, report["missing"].days_late) == (DueState.OVERDUE, 10)
    assert report["future"].state is DueState.NOT_YET_DUE
    assert [s.sketch.id for s in report.values() if s.missed] == ["late", "missing"]
    assert report["late"].sketch.language == "tay" and report["missing"].sketch.language == "nung"


def test_sample_files_say_they_are_samples(campaign_dir: Path) -> None:
    for name in ("stations.csv", "sketches.csv"):
        first = (campaign_dir / name).read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# SAMPLE DATA")
    sketches = SketchCatalogue.from_csv(campaign_dir / "sketches.csv")
    new = [s for s in sketches if "Hữu Lũng" in s.producer]
    assert {s.topic for s in new} == {"isee", "payment"}
    assert all(s.seconds <= 60 and s.due == dt.date(2022, 6, 30) for s in new)


def test_station_rows_are_checked_with_their_location(tmp_path: Path) -> None:
    path = tmp_path / "stations.csv"
    head = "code,name,level,admin_code,district_code,listeners\n"
    path.write_text(head + "A,Xã A,commune,6400,186,many\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        StationRegistry.from_csv(path)
    assert (info.value.line, info.value.column, info.value.value) == (2, "listeners", "many")
    path.write_text(head + "A,Xã A,commune,6400,186,10\nA,Xã B,commune,6403,186,10\n", encoding="utf-8")
    with pytest.raises(DataError, match="used twice") as info:
        StationRegistry.from_csv(path)
    assert info.value.line == 3


def test_misspelled_weekday_is_located_in_the_campaign_file(runtime: Runtime, campaign_dir: Path) -> None:
    set_channel_keys(campaign_dir, weekdays='["tuesday", "thursday", "Thursdy", "sunday"]')
    with pytest.raises(CampaignFileError) as info:
        runtime.load_campaign(campaign_dir / "campaign.toml").channel("broadcast").scheduler(runtime.registry)
    message = str(info.value)
    assert "campaign.toml" in message
    assert "channels.broadcast.weekdays[2]: 'Thursdy' is not a weekday" in message


def test_uneven_airings_per_week_and_wrong_station_count(runtime: Runtime, campaign_dir: Path) -> None:
    set_channel_keys(campaign_dir, airings_per_week="6")
    # the scheduler's own keys are checked when the campaign loads
    with pytest.raises(CampaignFileError, match=r"channels.broadcast.airings_per_week: 6 airings a week"):
        runtime.load_campaign(campaign_dir / "campaign.toml")
    set_channel_keys(campaign_dir, airings_per_week="4", expected_stations="{ district = 11, commune = 137 }")
    with pytest.raises(CampaignFileError) as info:
        runtime.load_campaign(campaign_dir / "campaign.toml")
    assert "channels.broadcast.expected_stations.district: stations.csv lists 10 district station(s), expected 11" in (
        str(info.value)
    )


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("holiday_rule", '"ignore"', "channels.broadcast.holiday_rule: 'ignore' is not a holiday rule"),
        ("window", '{ start = "17:00", end = "14:00" }', "channels.broadcast.window: window ends"),
        ("sketches", '"nowhere.csv"', "channels.broadcast.sketches: file 'nowhere.csv' not found"),
        ("start", "2022-01-01", "is not within the campaign period"),
        ("scheduler", '"daily"', "channels.broadcast.scheduler: no broadcast_scheduler named 'daily'"),
        (
            "bulletins",
            '[{ id = "x", title = "X", priority = "urgent", date = 2022-07-01, seconds = 30 }]',
            "channels.broadcast.bulletins[0].priority: 'urgent' is not a priority",
        ),
        (
            "bulletins",
            '[{ id = "x", title = "X", priority = "emergency", date = 2022-07-01, seconds = 30 }]',
            "channels.broadcast.bulletins[0].time: emergency bulletin 'x' needs a time",
        ),
    ],
)
def test_bad_values_are_located(runtime: Runtime, campaign_dir: Path, key: str, value: str, expected: str) -> None:
    set_channel_keys(campaign_dir, **{key: value})
    with pytest.raises(CampaignFileError) as info:
        runtime.load_campaign(campaign_dir / "campaign.toml").channel("broadcast").scheduler(runtime.registry)
    assert expected in str(info.value)


def test_configured_bulletins_and_exceptions_file(runtime: Runtime, campaign_dir: Path) -> None:
    (campaign_dir / "exceptions.csv").write_text(
        "station,start,end,reason,window\nTTH-186,2022-07-01,2022-07-10,sửa máy phát,\n"
        "TTH-187,02/08/2022,04/08/2022,họp,08:00-09:00\n",
        encoding="utf-8",
    )
    set_channel_keys(
        campaign_dir,
        exceptions='"exceptions.csv"',
        bulletins='[{ id = "bao", title = "Bão số 3", priority = "emergency", date = 2022-08-02,'
        ' seconds = 120, time = "14:00", stations = ["all"] }]',
    )
    channel = runtime.load_campaign(campaign_dir / "campaign.toml").channel("broadcast")
    schedule = channel.schedule(runtime.registry)
    # stations with their own 15:30 window do not collide with a 14:00 emergency
    late_window = [s.code for s in channel.stations if s.window is not None] + ["TTH-187"]
    assert len(schedule.displaced) == 147 - len(late_window)
    assert all(any(a.item == "bao" for a in schedule.on(code, dt.date(2022, 8, 2))) for code in late_window)
    assert not [a for a in schedule.for_station("TTH-186") if dt.date(2022, 7, 1) <= a.day <= dt.date(2022, 7, 10)]
    on_second = [a for a in schedule.for_station("TTH-187") if a.day == dt.date(2022, 8, 2)]
    assert sorted((a.start.hour, a.kind.value) for a in on_second) == [(8, "sketch"), (14, "bulletin")]
    sketches = [a for a in schedule.for_station("TTH-187") if a.kind.value == "sketch"]
    hours = {a.day.day: a.start.hour for a in sketches if a.day.month == 8 and a.day.day <= 6}
    assert hours == {2: 8, 4: 8, 6: 14}
    (campaign_dir / "exceptions.csv").write_text(
        "station,start,end,reason\nTTH-999,2022-07-01,2022-07-10,x\n", encoding="utf-8"
    )
    with pytest.raises(CampaignFileError, match=r"channels.broadcast.exceptions: .*exceptions.csv:2: station"):
        runtime.load_campaign(campaign_dir / "campaign.toml")


def test_all_problems_of_a_stations_file_are_reported_together(tmp_path: Path) -> None:
    """Issue 13.11: three bad rows give three located problems, not the first only."""
    path = tmp_path / "stations.csv"
    path.write_text(
        "code,name,level,admin_code,district_code,listeners\n"
        "A,Xã A,commune,6400,186,many\n"  # 2 listeners
        "B,Xã B,commune,6403,186,10\n"  # 3 ok
        'C,"Xã C,commune,6404,186,10\n'  # 4 unclosed quote
        "D,Xã D,parish,6405,186,10\n"  # 5 level
        "E,Xã E,commune,6406,186,12\n",  # 6 ok: read although line 4 opened a quote
        encoding="utf-8")
    with pytest.raises(DataErrors) as info:
        StationRegistry.from_csv(path)
    found = [(e.line, e.column) for e in info.value.errors]
    assert found == [(2, "listeners"), (4, None), (5, "level")]
    text = str(info.value)
    assert "stations.csv:4: unclosed quote starting at line 4" in text
    assert len(text.splitlines()) == 3


def test_all_problems_of_a_sketches_file_are_reported_together(tmp_path: Path) -> None:
    path = tmp_path / "sketches.csv"
    path.write_text(
        "id,title,topic,language,duration_seconds,producer,due\n"
        "a,,t,vi,30,P,2022-06-30\n"  # 2 title empty
        "b,B,t,vi,long,P,2022-06-30\n"  # 3 duration
        "c,C,t,vi,30,P\n"  # 4 too few cells
        "d,D,t,vi,30,P,2022-06-30\n",
        encoding="utf-8")
    with pytest.raises(DataErrors) as info:
        SketchCatalogue.from_csv(path)
    assert [(e.line, e.column) for e in info.value.errors] == [
        (2, "title"), (3, "duration_seconds"), (4, None)]
