"""What a careless or hostile user does to ``activity log``/``status`` (review of issue 10)."""

from __future__ import annotations

from pathlib import Path

import pytest

from langson_comms import Campaign
from langson_comms.activity.log import activity_status, log_files
from langson_comms.activity.store import SqliteActivityStore
from langson_comms.clock import FrozenClock
from langson_comms.errors import DataError

from .conftest import write


def test_relogging_a_file_does_not_count_its_rejections_twice(
        campaign: Campaign, store: SqliteActivityStore, tmp_path: Path, frozen_clock: FrozenClock) -> None:
    path = write(tmp_path / "press.csv",
                 "outlet,date,title,audience\nBáo A,2022-07-05,a,100\nBáo A,2022-07-05,b,x\nBáo A,2022-13-05,c,1\n")
    first = log_files(campaign, store, "press", [path], clock=frozen_clock).files[str(path)]
    again = log_files(campaign, store, "press", [path], clock=frozen_clock).files[str(path)]
    assert (first.rejected, again.rejected) == (2, 2)  # each run reports what it read
    assert len(store.rejections("press")) == 2  # but the store keeps each bad row once
    assert activity_status(campaign, store).rejected == 2


def test_two_columns_for_one_field_are_refused_at_the_header(
        campaign: Campaign, store: SqliteActivityStore, tmp_path: Path, frozen_clock: FrozenClock) -> None:
    # "views" and "reach" are both headers of the post's views: which one counts?
    path = write(tmp_path / "posts.csv",
                 "platform,page,date,views,reach\nfacebook,P,2022-07-05,10,9000\n")
    with pytest.raises(DataError) as info:
        log_files(campaign, store, "social", [path], clock=frozen_clock)
    message = str(info.value)
    assert f"{path}:1" in message and "views" in message and "reach" in message
    assert store.rejections() == [] and activity_status(campaign, store).reach == 0
