"""The daily team leaderboard on the kit's data (see test_measures.py for the data)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import attrs
import pendulum
from python_calamine import CalamineWorkbook

from langson_comms.campaign import Period
from langson_comms.kpi import leaderboard, write_leaderboard_csv, write_leaderboard_xlsx, zalo_messages
from langson_comms.testing.kpi_contract import contract_data, signup

PERIOD = Period(pendulum.date(2022, 7, 1), pendulum.date(2022, 7, 10))
DAY = pendulum.date(2022, 7, 5)


def test_ranks_rank_changes_and_idle_teams() -> None:
    board = leaderboard(contract_data(), PERIOD, DAY)
    rows = {r.team_code: r for r in board.rows}
    assert [r.team_code for r in board.rows] == ["T100", "T200", "T300"]
    assert [(r.installs, r.installs_day, r.rank) for r in board.rows] == [(2, 0, 1), (1, 1, 2), (0, 0, 3)]
    # on 07-04: T100 2, T200 0, T300 0 → ranks 1, 2, 2
    assert rows["T100"].rank_change == 0 and rows["T200"].rank_change == 0
    assert rows["T300"].rank_change == -1
    assert [r.team_code for r in board.idle_teams] == ["T100", "T300"]
    assert board.unattributed == 1 and board.unattributed_day == 1
    assert board.top_communes == (("100", "Xã Một", 2), ("200", "Xã Hai", 1))
    assert board.total == 4 and board.total_day == 2
    assert rows["T100"].district_name == "Huyện Một"


def test_ties_share_a_rank() -> None:
    data = contract_data()
    data = attrs.evolve(data, signups=[*data.signups, signup(3, 9, "T300", "300"), signup(4, 9, "T300", "300")])
    ranks = {r.team_code: r.rank for r in leaderboard(data, PERIOD, DAY).rows}
    assert ranks == {"T100": 1, "T300": 1, "T200": 3}


def test_first_day_has_no_previous_rank() -> None:
    board = leaderboard(contract_data(), PERIOD, pendulum.date(2022, 7, 1))
    assert all(r.previous_rank is None and r.rank_change is None for r in board.rows)


ZALO = """BẢNG XẾP HẠNG TỔ CÔNG NGHỆ SỐ
Tỉnh Lạng Sơn – ngày 05/07/2022
Lượt cài trong ngày: 2
Lũy kế từ 01/07: 4

Dẫn đầu (3 tổ):
1. Tổ Xã Một: 2 (+0)
2. Tổ Xã Hai: 1 (+1)

Xã, phường dẫn đầu:
- Xã Một: 2
- Xã Hai: 1

Chưa có lượt cài hôm nay (2 tổ):
- Tổ Xã Một
- Tổ Xã Ba"""


def test_zalo_text_character_for_character() -> None:
    assert zalo_messages(leaderboard(contract_data(), PERIOD, DAY)) == [ZALO]


def test_zalo_leaders_are_teams_with_an_install() -> None:
    """Review11: a team with no install was listed under "Dẫn đầu" (leading) — the whole
    province at rank 1 with 0 before the first install, "110. Tổ …: 0" in the demo."""
    before = leaderboard(attrs.evolve(contract_data(), signups=[]), PERIOD, DAY)
    text = zalo_messages(before)[0]
    assert "Dẫn đầu (3 tổ):\nChưa có tổ nào có lượt cài.\n" in text and ": 0 (+0)" not in text


def test_zalo_one_message_per_district_when_longer() -> None:
    messages = zalo_messages(leaderboard(contract_data(), PERIOD, DAY), limit=200)
    assert len(messages) == 2
    assert messages[0].splitlines()[1] == "Huyện Một – ngày 05/07/2022"
    assert "Tổ Xã Ba" not in messages[0] and "Tổ Xã Ba" in messages[1]
    assert all(len(m) < 200 for m in messages)


def test_csv_has_a_bom_and_vietnamese(tmp_path: Path) -> None:
    path = write_leaderboard_csv(leaderboard(contract_data(), PERIOD, DAY), tmp_path / "bxh.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0]["team_name"] == "Tổ Xã Một" and rows[0]["installs"] == "2"
    assert rows[2]["rank_change"] == "-1"


def test_xlsx(tmp_path: Path) -> None:
    path = write_leaderboard_xlsx(leaderboard(contract_data(), PERIOD, DAY), tmp_path / "bxh.xlsx")
    workbook = CalamineWorkbook.from_path(str(path))
    assert workbook.sheet_names == ["BXH 05-07-2022"]
    values = workbook.get_sheet_by_index(0).to_python()
    assert values[0][2] == "team_code" and values[1][3] == "Tổ Xã Một" and values[2][9] == 1


def test_a_day_before_the_campaign_is_an_error_about_day() -> None:
    """``leaderboard --day 1999-01-01`` blamed ``--to``, an option the command does not have."""
    import pytest

    from langson_comms.api import day_leaderboard
    from langson_comms.errors import ConfigError

    campaign = contract_data().campaign
    with pytest.raises(ConfigError) as info:
        day_leaderboard(campaign, day=campaign.period.start.subtract(days=1))
    assert info.value.key == "day"  # the API's parameter (the CLI shows it as --day)
    assert str(info.value) == (f"day: {campaign.period.start.subtract(days=1)} is before the "
                               f"campaign starts ({campaign.period.start}); expected a day from "
                               f"{campaign.period.start} on")


def test_a_leaderboard_file_under_a_file_is_a_located_error(tmp_path: Path) -> None:
    """Review11: ``leaderboard --out a-file/board.csv`` was "unexpected NotADirectoryError"
    (exit 1); it is a ``ConfigError`` keyed ``path`` (the API's name; the CLI shows ``--out``)."""
    import pytest

    from langson_comms.api import write_leaderboard
    from langson_comms.errors import ConfigError

    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    board = leaderboard(contract_data(), PERIOD, DAY)
    for fmt in ("text", "csv", "xlsx"):
        with pytest.raises(ConfigError) as info:
            write_leaderboard(board, tmp_path / "a-file" / f"board.{fmt}", fmt)
        assert info.value.key == "path" and "cannot write" in str(info.value)
        assert "expected a folder that can be created and written" in str(info.value)
