"""A third-party channel written here passes the kit's contract and its reach shows in ``activity status``;
the built-in channels pass the same contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from click.testing import CliRunner

from langson_comms import Runtime
from langson_comms.cli import build_cli
from langson_comms.default_plugins import channels as channels_plugin
from langson_comms.default_plugins.channels import OutreachChannel, PressChannel, SocialChannel, VisualChannel
from langson_comms.testing import ActivityChannelContract

from .conftest import SCHOOL, SchoolChannel, SchoolPlugin, write, write_campaign


class TestSchoolChannel(ActivityChannelContract):
    contributed_class = SchoolChannel
    example_config: ClassVar[dict[str, Any]] = {"schools": ["THPT Việt Bắc"]}
    plugin = SchoolPlugin()
    good_rows: ClassVar[dict[str, list[dict[str, str]]]] = {"session": [
        {"school": "THPT Việt Bắc", "date": "2022-07-05", "pupils": "420"},
        {"school": "THCS Hoàng Văn Thụ", "date": "06/07/2022", "pupils": "1.200"}]}
    bad_rows: ClassVar[dict[str, list[dict[str, str]]]] = {"session": [
        {"school": "THPT Việt Bắc", "date": "soon", "pupils": "420"},
        {"school": "", "date": "2022-07-05", "pupils": "420"}]}


class TestPressContract(ActivityChannelContract):
    contributed_class = PressChannel
    plugin = channels_plugin
    example_config: ClassVar[dict[str, Any]] = {"outlets": ["Báo A"]}
    good_rows: ClassVar[dict[str, list[dict[str, str]]]] = {"item": [
        {"outlet": "Báo A", "date": "2022-07-05", "title": "t", "audience": "10"},
        {"outlet": "Báo A", "date": "2022-07-06", "title": "t", "print_run": "10"}]}
    bad_rows: ClassVar[dict[str, list[dict[str, str]]]] = {"item": [
        {"outlet": "Báo A", "date": "2022-07-05", "title": "t", "audience": "-3"}]}


class TestVisualContract(ActivityChannelContract):
    contributed_class = VisualChannel
    plugin = channels_plugin
    example_config: ClassVar[dict[str, Any]] = {"viewers_per_play": 10}
    good_rows: ClassVar[dict[str, list[dict[str, str]]]] = {
        "placement": [{"medium": "website", "location": "sotttt.langson.gov.vn", "start": "2022-07-05",
                       "end": "2022-07-09", "daily_audience": "300"}],
        "clip": [{"clip": "Clip 1", "screen": "Quảng trường", "start": "2022-07-05", "end": "2022-07-05",
                  "plays_per_day": "12"}]}
    bad_rows: ClassVar[dict[str, list[dict[str, str]]]] = {"placement": [
        {"medium": "website", "location": "x", "start": "2022-07-09", "end": "2022-07-05",
         "daily_audience": "300"}]}


class TestSocialContract(ActivityChannelContract):
    contributed_class = SocialChannel
    plugin = channels_plugin
    example_config: ClassVar[dict[str, Any]] = {"platforms": ["zalo"]}
    good_rows: ClassVar[dict[str, list[dict[str, str]]]] = {"post": [
        {"platform": "zalo", "page": "G", "date": "2022-07-05", "members": "80"}]}
    bad_rows: ClassVar[dict[str, list[dict[str, str]]]] = {"post": [
        {"platform": "zalo", "page": "G", "date": "2022-07-05"}]}


class TestOutreachContract(ActivityChannelContract):
    contributed_class = OutreachChannel
    plugin = channels_plugin
    good_rows: ClassVar[dict[str, list[dict[str, str]]]] = {
        "visit": [{"team": "T1", "commune": "5971", "date": "2022-07-05", "households": "9"}],
        "training": [{"member": "Lan", "team": "T1", "date": "2022-07-02"}]}
    bad_rows: ClassVar[dict[str, list[dict[str, str]]]] = {"visit": [
        {"team": "T1", "commune": "xã A", "date": "2022-07-05", "households": "9"}]}


def test_third_party_reach_appears_in_activity_status(runtime: Runtime, register_plugin: Any,
                                                       tmp_path: Path) -> None:
    register_plugin(SchoolPlugin(), "school-plugin")
    campaign = write_campaign(tmp_path, SCHOOL)
    sessions = write(tmp_path / "sessions.csv", "trường,ngày,số học sinh\nTHPT Việt Bắc,2022-07-05,420\n")
    cli = build_cli(runtime)
    logged = CliRunner().invoke(cli, ["activity", "log", "-c", str(campaign), "school", str(sessions), "--json"],
                                obj=runtime, catch_exceptions=False)
    assert logged.exit_code == 0, logged.output
    assert json.loads(logged.stdout)["totals"] == {"read": 1, "accepted": 1, "duplicates": 0, "rejected": 0}
    status = CliRunner().invoke(cli, ["activity", "status", "-c", str(campaign), "--json"], obj=runtime,
                                catch_exceptions=False)
    data = json.loads(status.stdout)
    assert data["channels"]["school"]["reach"] == 420 and data["reach"] == 420
