"""Prepare a messy list of phone numbers and print the plan.

Numbers in every local spelling, a duplicate, a landline and a typo: each row ends up
counted as valid, quarantined (with a reason), duplicate or suppressed.

    uv run python examples/prepare_audience.py
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from langson_comms import build_campaign, prepare_audience

MESSY = """\
Họ tên,Số điện thoại,Xã
Nguyễn Văn An,0912 345 678,Hoàng Đồng
Hoàng Thị Bình,+84 98 765 4321,Chi Lăng
Lý Văn Cường,84987654321,Chi Lăng
Vi Thị Dung,0205 3870 123,Cao Lộc
Nông Văn Em,09123,Lộc Bình
"""


def main() -> None:
    campaign = build_campaign({
        "campaign": {"id": "cds-2022", "title": "Công dân số Xứ Lạng",
                     "start": dt.date(2022, 6, 10), "end": dt.date(2022, 12, 31)},
        "messages": {"invite": {"text": "Cai dat ung dung Cong dan so Xu Lang",
                                "classification": "public_notice",
                                "classified_by": "So TT&TT"}},
    })
    with tempfile.TemporaryDirectory() as folder:
        messy = Path(folder) / "danh_sach.csv"
        messy.write_text(MESSY, encoding="utf-8")
        plan = prepare_audience(campaign, "invite", [messy], out_dir=Path(folder) / "out")
    totals = plan.as_dict()["totals"]
    print(f"read {totals['rows_read']}: valid {totals['valid']}, quarantined "
          f"{totals['quarantined']}, duplicates {totals['duplicates']}, suppressed "
          f"{totals['suppressed']}")
    for reason, count in plan.as_dict()["quarantined_by_reason"].items():
        print(f"  quarantined {count}: {reason}")
    print(f"SMS parts to send: {plan.as_dict()['total_segments']}")


if __name__ == "__main__":
    main()
