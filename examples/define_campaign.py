"""Define a small campaign in Python (no TOML file) and validate it.

A host application can keep its campaigns in its own database: ``build_campaign`` runs
the checks of a campaign file, and each problem names the attribute it is about.

    uv run python examples/define_campaign.py
"""

from __future__ import annotations

import datetime as dt

from langson_comms import CampaignFileError, build_campaign, summarise_campaign

CAMPAIGN = {
    "campaign": {"id": "cds-2022", "title": "Công dân số Xứ Lạng",
                 "start": dt.date(2022, 6, 10), "end": dt.date(2022, 12, 31)},
    "messages": {"value": {"text": "Công dân số Xứ Lạng - Chủ nhân trong không gian số"}},
    "channels": {"press": {"kind": "press", "outlets": ["Báo Lạng Sơn"],
                           "min_reports_per_week": 1, "messages": ["value"]}},
    "targets": {"reaches": {"kind": "reach", "target": 12_000_000}},
}


def main() -> None:
    summary = summarise_campaign(build_campaign(CAMPAIGN, source="example"))
    print(f"{summary.title} ({summary.id}): {summary.period['days']} days, "
          f"{len(summary.messages)} message(s), channels: {', '.join(summary.channels)}")

    broken = {**CAMPAIGN, "targets": {"reaches": {"kind": "reach", "target": -5}}}
    try:
        build_campaign(broken, source="example")
    except CampaignFileError as exc:  # every problem, each with its attribute path
        for problem in exc.problems:
            print(f"refused as expected: {problem.key}: {problem.message}")


if __name__ == "__main__":
    main()
