"""The public API of each job, for host applications and the CLI alike.

Every function returns attrs values, raises the library's typed errors
(``langson_comms.errors``), prints nothing, and takes its clock, HTTP clients and stores by
injection.  The ``langson-comms`` commands are a thin shell over these calls
(docs/architecture.md, "Library first").
"""

from __future__ import annotations

from .broadcast import (
    BroadcastTarget,
    broadcast_compliance,
    broadcast_target,
    confirm_broadcasts,
    export_broadcasts,
    schedule_broadcasts,
    serve_confirmations,
    write_station_secrets,
)
from .campaigns import CampaignSummary, build_campaign, load_campaign, summarise_campaign
from .measuring import (
    activity_store_path,
    day_leaderboard,
    log_activity,
    measure_campaign,
    read_activity_status,
    report_inputs,
    write_leaderboard,
    write_leaderboard_text,
)
from .signups import ingest_signups, serve_signups, signups_status, signups_store_path
from .sms_control import (
    BroadcastReport,
    ControlResult,
    SmsStatus,
    cancel_sms,
    order_broadcast,
    pause_sms,
    record_broadcast_report,
    sms_status,
)
from .sms_prepare import PrepareOptions, prepare_audience
from .sms_reports import report_options, serve_reports
from .sms_send import (
    AudienceLoaded,
    BreakerNotice,
    PoliciesChosen,
    SendEvent,
    SendProgress,
    SendSummary,
    send_sms,
)
from .sms_target import SmsTarget, sms_target

__all__ = [
    "AudienceLoaded",
    "BreakerNotice",
    "BroadcastReport",
    "BroadcastTarget",
    "CampaignSummary",
    "ControlResult",
    "PoliciesChosen",
    "PrepareOptions",
    "SendEvent",
    "SendProgress",
    "SendSummary",
    "SmsStatus",
    "SmsTarget",
    "activity_store_path",
    "broadcast_compliance",
    "broadcast_target",
    "build_campaign",
    "cancel_sms",
    "confirm_broadcasts",
    "day_leaderboard",
    "export_broadcasts",
    "ingest_signups",
    "load_campaign",
    "log_activity",
    "measure_campaign",
    "order_broadcast",
    "pause_sms",
    "prepare_audience",
    "read_activity_status",
    "record_broadcast_report",
    "report_inputs",
    "report_options",
    "schedule_broadcasts",
    "send_sms",
    "serve_confirmations",
    "serve_reports",
    "serve_signups",
    "signups_status",
    "signups_store_path",
    "sms_status",
    "sms_target",
    "summarise_campaign",
    "write_leaderboard",
    "write_leaderboard_text",
    "write_station_secrets",
]
