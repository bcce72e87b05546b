"""langson_comms: plan, run and measure province-wide multi-channel information campaigns.

Plugins import ``hookimpl`` from here; applications start from ``Runtime`` and call the
jobs of ``langson_comms.api`` (re-exported here: ``load_campaign``, ``send_sms`` …).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from . import api
from .api import (
    AudienceLoaded,
    BreakerNotice,
    BroadcastReport,
    BroadcastTarget,
    CampaignSummary,
    ControlResult,
    PoliciesChosen,
    PrepareOptions,
    SendEvent,
    SendProgress,
    SendSummary,
    SmsStatus,
    SmsTarget,
    broadcast_compliance,
    broadcast_target,
    build_campaign,
    cancel_sms,
    confirm_broadcasts,
    export_broadcasts,
    ingest_signups,
    load_campaign,
    log_activity,
    measure_campaign,
    order_broadcast,
    pause_sms,
    prepare_audience,
    read_activity_status,
    record_broadcast_report,
    report_options,
    schedule_broadcasts,
    send_sms,
    serve_confirmations,
    serve_reports,
    signups_status,
    sms_status,
    sms_target,
    summarise_campaign,
    write_station_secrets,
)
from .campaign import Campaign, ChannelPlan, KpiTarget, Period, Team, TeamMember
from .clock import LOCAL_TZ, Clock, FrozenClock, SystemClock
from .config import ConfigContext, Weekday
from .errors import (
    CampaignFileError,
    ConfigError,
    DataError,
    DataErrors,
    GatewayError,
    LangsonCommsError,
    LedgerError,
    PermanentGatewayError,
    PluginError,
    PolicyError,
    Problem,
    ScheduleError,
    TransientGatewayError,
    UnknownNameError,
    WrongRouteError,
)
from .hookspecs import hookimpl, hookspec
from .kpi import Measurement, zalo_messages
from .messages import Classification, Message
from .regions import Level, Region, RegionRegistry
from .registry import Registry
from .runtime import Runtime

try:
    __version__ = version("langson-comms")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "AudienceLoaded",
    "BreakerNotice",
    "BroadcastReport",
    "BroadcastTarget",
    "Campaign",
    "CampaignFileError",
    "CampaignSummary",
    "ChannelPlan",
    "Classification",
    "Clock",
    "ConfigContext",
    "ConfigError",
    "ControlResult",
    "DataError",
    "DataErrors",
    "FrozenClock",
    "GatewayError",
    "KpiTarget",
    "LOCAL_TZ",
    "LangsonCommsError",
    "LedgerError",
    "Level",
    "Measurement",
    "Message",
    "Period",
    "PermanentGatewayError",
    "PluginError",
    "PoliciesChosen",
    "PolicyError",
    "PrepareOptions",
    "Problem",
    "Region",
    "RegionRegistry",
    "Registry",
    "Runtime",
    "ScheduleError",
    "SendEvent",
    "SendProgress",
    "SendSummary",
    "SmsStatus",
    "SmsTarget",
    "SystemClock",
    "Team",
    "TeamMember",
    "TransientGatewayError",
    "UnknownNameError",
    "Weekday",
    "WrongRouteError",
    "__version__",
    "api",
    "broadcast_compliance",
    "broadcast_target",
    "build_campaign",
    "cancel_sms",
    "confirm_broadcasts",
    "export_broadcasts",
    "hookimpl",
    "hookspec",
    "ingest_signups",
    "load_campaign",
    "log_activity",
    "measure_campaign",
    "order_broadcast",
    "pause_sms",
    "prepare_audience",
    "read_activity_status",
    "record_broadcast_report",
    "report_options",
    "schedule_broadcasts",
    "send_sms",
    "serve_confirmations",
    "serve_reports",
    "signups_status",
    "sms_status",
    "sms_target",
    "summarise_campaign",
    "write_station_secrets",
    "zalo_messages",
]
