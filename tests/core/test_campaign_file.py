"""The campaign file: the model it loads, and located errors for every kind of mistake."""

from __future__ import annotations

import enum
import unicodedata
from pathlib import Path
from typing import Any, ClassVar, Self

import attrs
import pendulum
import pytest

from langson_comms import CampaignFileError, ConfigContext, Runtime, Weekday, hookimpl

from .conftest import MINIMAL

REFERENCE = Path(__file__).parents[2] / "examples" / "langson_2022" / "campaign.toml"


def line_of(text: str, needle: str) -> int:
    """1-based line of the last line containing ``needle``."""
    return max(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def errors_of(runtime: Runtime, path: Path) -> list[str]:
    with pytest.raises(CampaignFileError) as info:
        runtime.load_campaign(path)
    return str(info.value).splitlines()


def test_minimal_campaign_loads(runtime: Runtime, write_campaign) -> None:
    campaign = runtime.load_campaign(write_campaign())
    assert campaign.id == "test"
    assert campaign.period.start == pendulum.Date(2022, 6, 10)
    assert campaign.period.starts_at.timezone_name == "Asia/Ho_Chi_Minh"
    assert campaign.period.ends_at == pendulum.datetime(2023, 1, 1, tz="Asia/Ho_Chi_Minh")
    assert campaign.period.days == 205
    assert campaign.message("value").promotional
    assert campaign.channel("press").min_reports_per_week == 1
    assert campaign.targets["reaches"].kpi.target == 12_000_000


def test_message_text_is_nfc(runtime: Runtime, write_campaign) -> None:
    decomposed = unicodedata.normalize("NFD", "Công dân số Xứ Lạng")
    path = write_campaign(MINIMAL.replace('"Công dân số Xứ Lạng - Chủ nhân trong không gian số"', f'"{decomposed}"'))
    text = runtime.load_campaign(path).message("value").text
    assert text == "Công dân số Xứ Lạng" and unicodedata.is_normalized("NFC", text)


def test_public_notice_needs_who_decided(runtime: Runtime, write_campaign) -> None:
    good = MINIMAL + '\n[messages.notice]\ntext = "Thông báo"\nclassification = "public_notice"\nclassified_by = "Sở TT&TT, 2022-06-20"\n'
    notice = runtime.load_campaign(write_campaign(good)).message("notice")
    assert notice.public_notice and notice.classified_by == "Sở TT&TT, 2022-06-20"
    bad = MINIMAL + '\n[messages.notice]\ntext = "Thông báo"\nclassification = "public_notice"\n'
    (line,) = errors_of(runtime, write_campaign(bad))
    assert "messages.notice.classification" in line and "classified_by" in line


# --- at least ten kinds of mistakes, each located and readable --------------------------

MISTAKES: list[tuple[str, str, str, str]] = [
    # (id, transformation of MINIMAL as "old=>new" or "+append", expected key, expected words)
    ("unknown top-level table", "+[campain]\nid = 'x'\n", "campain", "unknown top-level table"),
    ("unknown key in campaign", 'title = "Test campaign"=>title = "Test campaign"\ntitel = "x"', "campaign.titel", "unknown key"),
    ("missing required key", 'title = "Test campaign"\n=>', "campaign.title", "required key is missing"),
    ("string for a date", "start = 2022-06-10=>start = \"June 2022\"", "campaign.start", "is not a date (expected YYYY-MM-DD)"),
    ("end before start", "end = 2022-12-31=>end = 2022-01-01", "campaign.end", "before start"),
    ("string for an integer", "target = 12_000_000=>target = \"12000000\"", "targets.reaches.target", "is not an integer"),
    ("unknown channel kind", 'kind = "press"=>kind = "pres"', "channels.press.kind", "no channel named 'pres'"),
    ("unknown message in a channel", 'messages = ["value"]=>messages = ["valeu"]', "channels.press.messages[0]", "'valeu' is not a message"),
    ("string where a list is expected", 'messages = ["value"]=>messages = "value"', "channels.press.messages", "'value' is a string; expected a list (write [\"value\"])"),
    ("zero cadence", "min_reports_per_week = 1=>min_reports_per_week = 0", "channels.press.min_reports_per_week", "expected at least 1"),
    ("bad classification", '+[messages.x]\ntext = "a"\nclassification = "news"\n', "messages.x.classification", "'news' is not a classification"),
    ("percentage out of range", '+[targets.population]\nkind = "coverage"\ntarget_percent = 120\n', "targets.population.target_percent", "expected 0 < x ≤ 100"),
    ("empty message text", '+[messages.x]\ntext = "  "\n', "messages.x.text", "must not be empty"),
    ("unknown kpi kind", '+[targets.other]\nkind = "clicks"\n', "targets.other.kind", "no kpi named 'clicks'"),
    ("leaderboard without teams", '+[targets.board]\nkind = "leaderboard"\n', "targets.board", "needs teams"),
    ("channel that is not a table", '+[channels]\nsocial = "zalo"\n', "", ""),
    ("list where table expected", '+[regions]\nunits = [1]\n', "regions.units[0]", "expected a table, got int 1"),
    ("missing data file", '+[teams]\nfile = "teams.csv"\n', "teams.file", "file 'teams.csv' not found"),
]


def _apply(change: str) -> str:
    if change.startswith("+"):
        return MINIMAL + "\n" + change[1:]
    old, new = change.split("=>")
    assert old in MINIMAL
    return MINIMAL.replace(old, new)


@pytest.mark.parametrize("change,key,words", [m[1:] for m in MISTAKES if m[2]], ids=[m[0] for m in MISTAKES if m[2]])
def test_mistake_is_located(runtime: Runtime, write_campaign, change: str, key: str, words: str) -> None:
    path = write_campaign(_apply(change))
    lines = errors_of(runtime, path)
    assert any(f": {key}: " in line and words in line for line in lines), lines
    assert all(line.startswith(str(path)) for line in lines)


def test_redefined_table_is_a_toml_error_with_line(runtime: Runtime, write_campaign) -> None:
    path = write_campaign(MINIMAL + '\n[channels.press]\nkind = "press"\n')
    (line,) = errors_of(runtime, path)
    expected = len(MINIMAL.splitlines()) + 2  # the second [channels.press] header
    assert line.startswith(f"{path}:{expected}: invalid TOML"), line


def test_syntax_error_names_line(runtime: Runtime, write_campaign) -> None:
    text = MINIMAL.replace("target = 12_000_000", "target = = 1")
    (line,) = errors_of(runtime, write_campaign(text))
    assert f"campaign.toml:{line_of(text, 'target = = 1')}: invalid TOML: " in line, line


def test_every_problem_is_reported_with_its_line(runtime: Runtime, write_campaign) -> None:
    text = MINIMAL.replace('kind = "press"', 'kind = "pres"').replace("target = 12_000_000", 'target = "many"')
    lines = errors_of(runtime, write_campaign(text))
    assert len(lines) == 2
    kind_line = line_of(text, 'kind = "pres"')
    assert f"campaign.toml:{kind_line}: channels.press.kind: " in lines[0]
    assert f"campaign.toml:{line_of(text, 'target = ')}: targets.reaches.target: " in lines[1]


def test_bad_row_in_teams_file_is_located(runtime: Runtime, write_campaign, tmp_path: Path) -> None:
    (tmp_path / "teams.csv").write_text(
        "team_code,team_name,commune_code,member_name,member_phone,trained\n"
        "T1,Tổ 1,5971,Hoàng Văn An,,yes\n"
        "T1,Tổ 1,5971,Lý Thị Hoa,,maybe\n",
        encoding="utf-8",
    )
    text = MINIMAL + '\n[teams]\nfile = "teams.csv"\n'
    lines = errors_of(runtime, write_campaign(text))
    assert lines == [
        f"{tmp_path / 'campaign.toml'}:{line_of(text, 'file =')}: teams.file: teams.csv:3: trained: 'maybe' is not yes/no "
        "(expected 1/0, true/false, yes/no, có/không)"
    ]


def test_team_in_unknown_commune_is_located(runtime: Runtime, write_campaign, tmp_path: Path) -> None:
    (tmp_path / "communes.csv").write_text("code,name,level,parent_code\n5971,Phường Hoàng Văn Thụ,ward,178\n", encoding="utf-8")
    (tmp_path / "teams.csv").write_text(
        "team_code,team_name,commune_code,member_name,member_phone,trained\nT9,Tổ 9,9999,A,,no\n",
        encoding="utf-8",
    )
    text = MINIMAL + (
        '\n[regions]\nfile = "communes.csv"\n[[regions.units]]\ncode = 178\nname = "TP Lạng Sơn"\nlevel = "district"\n'
        '\n[teams]\nfile = "teams.csv"\n'
    )
    (line,) = errors_of(runtime, write_campaign(text))
    assert "teams.csv:2: commune_code: 9999 is not a commune" in line


# --- a plugin's channel gets the same located errors -----------------------------------


@attrs.frozen
class RadioChannel:
    name: ClassVar[str] = "test_radio"
    weekdays: list[Weekday]

    @classmethod
    def from_config(cls, config: Any, context: ConfigContext) -> Self:
        return context.structure(config, cls)


class RadioPlugin:
    @hookimpl
    def register_channels(self) -> list[type[Any]]:
        return [RadioChannel]


def test_plugin_channel_weekday_error(runtime: Runtime, register_plugin, write_campaign) -> None:
    register_plugin(RadioPlugin())
    text = MINIMAL + '\n[channels.radio]\nkind = "test_radio"\nweekdays = ["tuesday", "thứ 5", "Thursdy"]\n'
    (line,) = errors_of(runtime, write_campaign(text))
    assert line.endswith(
        f"campaign.toml:{line_of(text, 'weekdays =')}: channels.radio.weekdays[2]: 'Thursdy' is not a weekday "
        "(expected monday … sunday, mon … sun, or thứ 2 … thứ 7, chủ nhật)"
    ), line
    good = text.replace('"Thursdy"', '"chủ nhật"')
    channel = runtime.load_campaign(write_campaign(good)).channel("radio")
    assert channel.weekdays == [Weekday.TUESDAY, Weekday.THURSDAY, Weekday.SUNDAY]


def test_reference_campaign_encodes_the_plan(runtime: Runtime) -> None:
    campaign = Runtime.create(entry_points=False, env={}).load_campaign(REFERENCE)
    assert campaign.period.start == pendulum.Date(2022, 6, 10)
    assert campaign.message("value").text == "Công dân số Xứ Lạng - Chủ nhân trong không gian số"
    assert campaign.message("marketplaces").text == "Cần mua cần bán - Có Vỏ Sò, có Postmart"
    assert all(m.promotional for m in campaign.messages.values())
    assert {p.kind for p in campaign.channels.values()} == {
        "press", "visual", "broadcast", "social", "sms", "outreach"
    }
    assert campaign.channel("press").min_reports_per_week == 1
    assert campaign.channel("visual").video_clips == 2
    assert campaign.targets["reaches"].kpi.target == 12_000_000
    conversion = campaign.targets["installs"].kpi
    assert (conversion.installs, conversion.per_reaches) == (1, 500)
    assert conversion.expected_installs(12_000_000) == 24_000
    assert campaign.targets["teams_trained"].kpi.target_percent == 100
    districts = {r.code: r.name for r in campaign.regions.children("20")}
    assert len(districts) == 11 and districts["186"] == "Huyện Hữu Lũng"
    assert len(campaign.regions.children("186")) == 23
    assert campaign.regions.get("178").valid_on(pendulum.Date(2022, 7, 1))
    assert not campaign.regions.get("178").valid_on(pendulum.Date(2025, 7, 1))
    assert len(campaign.teams) == 194


class Mode(enum.StrEnum):
    DIRECT = "direct"
    CARRIER = "carrier_broadcast"


@attrs.frozen
class ModeSection:
    mode: Mode


def test_enum_fields_are_converted_and_checked(config_context: ConfigContext) -> None:
    assert config_context.structure({"mode": "direct"}, ModeSection).mode is Mode.DIRECT
    with pytest.raises(CampaignFileError, match=r"test\.mode: 'broadcast' is not one of: 'direct', 'carrier_broadcast'"):
        config_context.structure({"mode": "broadcast"}, ModeSection)


def test_broadcast_weekday_typo_is_found_by_validate(runtime: Runtime, tmp_path: Path) -> None:
    import shutil

    for name in ("campaign.toml", "stations.csv", "sketches.csv", "communes.csv", "teams.csv"):
        shutil.copy(REFERENCE.parent / name, tmp_path / name)
    text = (tmp_path / "campaign.toml").read_text(encoding="utf-8")
    text = text.replace('"thursday", "saturday"', '"thursday", "Thursdy"')
    (tmp_path / "campaign.toml").write_text(text, encoding="utf-8")
    (line,) = errors_of(runtime, tmp_path / "campaign.toml")
    assert line == (
        f"{tmp_path / 'campaign.toml'}:{line_of(text, 'weekdays =')}: channels.broadcast.weekdays[2]: "
        "'Thursdy' is not a weekday (expected monday … sunday, mon … sun, or thứ 2 … thứ 7, chủ nhật)"
    )


def test_a_campaign_path_that_is_no_regular_file_is_a_located_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A folder named campaign.toml (found by default or from the environment), a FIFO and
    a link to /dev/zero are each one located line with exit 2, never an "unexpected
    IsADirectoryError" or a read that never ends (the FIFO and /dev/zero hung)."""
    import os
    import subprocess

    from langson_comms.cli import main

    from ..dispatch.helpers import CLI

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LANGSON_COMMS_CAMPAIGN", raising=False)
    (tmp_path / "campaign.toml").mkdir()
    for args in (["validate"], ["sms", "status"], ["signups", "status"]):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert err.splitlines() == ["error: campaign.toml: a folder, not a campaign file "
                                    "(expected a TOML file)"], err
    os.mkfifo(tmp_path / "fifo.toml")
    specials = [tmp_path / "fifo.toml"]
    if Path("/dev/zero").exists():
        (tmp_path / "zero.toml").symlink_to("/dev/zero")
        specials.append(tmp_path / "zero.toml")
    for path in specials:
        done = subprocess.run([CLI, "validate", "-c", str(path)], capture_output=True, text=True,
                              timeout=60, check=False)
        assert done.returncode == 2, done.stderr
        assert done.stderr == f"error: {path}: not a regular file (expected a TOML file)\n"


def test_an_oversized_campaign_file_is_refused_without_reading_it_all(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from langson_comms.campaign_file_limits import MAX_FILE_BYTES
    from langson_comms.cli import main

    path = tmp_path / "huge.toml"
    with path.open("w", encoding="utf-8") as out:
        out.write(MINIMAL)
        out.write(("# padding\n" * 100_000) * (MAX_FILE_BYTES // 1_000_000 + 1))
    assert main(["validate", "-c", str(path)]) == 2
    assert capsys.readouterr().err == (f"error: {path}: over {MAX_FILE_BYTES // 2**20} MiB; "
                                       f"a campaign file is a few kilobytes of TOML\n")
