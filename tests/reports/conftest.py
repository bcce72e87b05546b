"""A measurement built from the kit's hand-built data (langson_comms.testing.kpi_contract):
reach 700 (radio 400, sms 300), installs 4, leaderboard of 07-05 (T100 2, T200 1, T300 0),
with a hand-made compliance: districts 21 (4 of 5 airings) and 22 (2 of 2), one press
week missed."""

from __future__ import annotations

import pendulum
import pytest

from langson_comms.campaign import Period
from langson_comms.kpi import (
    Compliance,
    Measurement,
    attribution,
    leaderboard,
    measure_conversion,
    measure_reach,
    measure_team_training,
)
from langson_comms.testing.kpi_contract import contract_data

PERIOD = Period(pendulum.date(2022, 7, 1), pendulum.date(2022, 7, 5))
TZ = "Asia/Ho_Chi_Minh"


def hand_measurement() -> Measurement:
    data = contract_data()
    reach = measure_reach(data, PERIOD, 1000)
    installs = measure_conversion(data, PERIOD, per_reaches=10, installs_per=1, reach_target=1000, reaches=700)
    training = measure_team_training(data, PERIOD, target_percent=100)
    compliance = Compliance(
        cadence_gaps={"press": ({"from": "2022-06-27", "to": "2022-07-03", "group": "", "expected": 2,
                                 "found": 1, "rule": "min_reports_per_week"},)},
        press_weeks_missed=1, sms_delivery_rate=0.75,
        broadcast_by_district={"21": {"planned": 5, "aired": 4, "on_time": 3, "late": 1, "missed": 1,
                                      "pending": 0, "rate": 0.8},
                               "22": {"planned": 2, "aired": 2, "on_time": 2, "late": 0, "missed": 0,
                                      "pending": 0, "rate": 1.0}},
        broadcast_total={"planned": 7, "aired": 6, "missed": 1})
    return Measurement(
        campaign_id="kpi-contract", campaign_title="Chiến dịch thử", period_start=PERIOD.start,
        period_end=PERIOD.end, as_of=PERIOD.end, measured_at=pendulum.datetime(2022, 7, 5, 18, tz=TZ),
        kpis={"reaches": reach.__class__(**{**_fields(reach), "key": "reaches"}),
              "installs": installs.__class__(**{**_fields(installs), "key": "installs"}),
              "trained": training.__class__(**{**_fields(training), "key": "trained"})},
        leaderboard=leaderboard(data, PERIOD, PERIOD.end), attribution=attribution(data, PERIOD),
        compliance=compliance)


def _fields(result: object) -> dict[str, object]:
    import attrs

    return {f.name: getattr(result, f.name) for f in attrs.fields(type(result))}


@pytest.fixture
def measurement() -> Measurement:
    return hand_measurement()
