"""Measure the reference campaign from Python: ingest its (SAMPLE) sign-ups, log its
(SAMPLE) press, visual, social and outreach activity, then read the KPIs and print the
day's team leaderboard as it would be posted to the teams' Zalo groups.

Works on a copy of examples/langson_2022/ in a temporary folder, so the example's own
files and stores are never touched.

    uv run python examples/measure_campaign.py
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from langson_comms import (
    ingest_signups,
    load_campaign,
    log_activity,
    measure_campaign,
    zalo_messages,
)

REFERENCE = Path(__file__).parent / "langson_2022"
#: the keyed hash of phone numbers needs a secret; a real campaign keeps it in the
#: environment variable its [signups] pseudonym_key_env names
ENV = {"LANGSON_COMMS_PSEUDONYM_KEY": "example-only-key-not-a-secret-0123456789"}
ACTIVITY = {
    "press": ["press.csv"],
    "visual": ["placements.xlsx", "clips.csv"],
    "social": ["social.csv"],
    "outreach": ["training.csv", "visits.csv"],
}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "langson_2022"
        shutil.copytree(REFERENCE, folder, ignore=shutil.ignore_patterns(".langson", "out"))
        campaign = load_campaign(folder / "campaign.toml")

        report = ingest_signups(campaign, env=ENV)
        for key, counts in report.sources.items():
            print(f"sign-ups {key}: read {counts.read}, accepted {counts.accepted}, "
                  f"duplicates {counts.duplicates}, rejected {counts.rejected}")

        for key, names in ACTIVITY.items():
            logged = log_activity(campaign, key, [folder / "activity" / n for n in names])
            print(f"activity {key}: {logged.totals.accepted} records")

        measurement = measure_campaign(campaign, env=ENV)
        for key, kpi in measurement.kpis.items():
            progress = "" if kpi.progress is None else f" ({kpi.progress:.1%} of {kpi.target:,.0f})"
            print(f"KPI {key}: {kpi.value:,.0f}{progress}")
        if measurement.leaderboard is not None:
            messages = zalo_messages(measurement.leaderboard)
            print(f"\nthe day's leaderboard: {len(messages)} Zalo message(s); the first:\n")
            print(messages[0])


if __name__ == "__main__":
    main()
