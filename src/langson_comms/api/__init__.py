"""The public API of each job, for host applications and the CLI alike.

Every function returns attrs values, raises the library's typed errors
(``langson_comms.errors``), prints nothing, and takes its clock, HTTP clients and stores by
injection.  The ``langson-comms`` commands are a thin shell over these calls
(docs/architecture.md, "Library first").
"""

from __future__ import annotations

from .campaigns import CampaignSummary, build_campaign, load_campaign, summarise_campaign
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
    "CampaignSummary",
    "ControlResult",
    "PoliciesChosen",
    "SendEvent",
    "SendProgress",
    "SendSummary",
    "SmsStatus",
    "SmsTarget",
    "build_campaign",
    "cancel_sms",
    "load_campaign",
    "order_broadcast",
    "pause_sms",
    "record_broadcast_report",
    "report_options",
    "send_sms",
    "serve_reports",
    "sms_status",
    "sms_target",
    "summarise_campaign",
]
