"""``prepare_audience`` from Python: file names as text (or one file name alone) are taken
like ``Path`` objects, as a host application passes what its own settings hold."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from langson_comms import PrepareOptions, Runtime, build_campaign, prepare_audience


def test_file_names_as_text_are_prepared(tmp_path: Path) -> None:
    (tmp_path / "list.csv").write_text("so_dien_thoai,ten\n0912345678,An\nabc,X\n0912345678,An\n",
                                       encoding="utf-8")
    campaign = build_campaign({
        "campaign": {"id": "py", "title": "Py", "start": dt.date(2022, 6, 10),
                     "end": dt.date(2022, 12, 31)},
        "messages": {"m": {"text": "Xin chao {{ten}}", "classification": "public_notice",
                           "classified_by": "So"}},
    }, runtime=Runtime.create(entry_points=False, env={}), base_dir=tmp_path)
    options = PrepareOptions(brandname="LANGSON", prices={"default": 350.0})
    for audience in ([str(tmp_path / "list.csv")], str(tmp_path / "list.csv")):
        out = tmp_path / ("out-list" if isinstance(audience, list) else "out-one")
        plan = prepare_audience(campaign, "m", audience, out_dir=str(out),
                                options=options)
        totals = plan.as_dict()["totals"]
        assert (totals["rows_read"], totals["valid"], totals["quarantined"],
                totals["duplicates"]) == (3, 1, 1, 1)
        assert (out / "prepared.csv").is_file()
