"""The built-in ``sms`` channel and the generic HTTP gateway, as a plugin would write them.

``[channels.sms]`` describes either a **carrier broadcast** (``mode =
"carrier_broadcast"``: the province orders each carrier to send to its own subscribers
and receives totals back — the province never holds the subscriber lists) or **direct
sending** (``mode = "direct"``: the SDK sends a prepared audience through the gateways
configured under ``[channels.sms.gateways.<id>]``).  Every key is documented in
docs/sms-dispatch.md.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

import attrs
import pendulum

from langson_comms import LOCAL_TZ, Campaign, ConfigContext, hookimpl
from langson_comms.activity.contract import ActivityChannel
from langson_comms.activity.stored import sms_reach
from langson_comms.campaign import Period
from langson_comms.campaign_file_limits import year_problem
from langson_comms.config import InvalidValue, above, at_least, at_most
from langson_comms.errors import CampaignFileError, Problem
from langson_comms.messages import Message
from langson_comms.reach import ReachRecord
from langson_comms.registry import Registry
from langson_comms.sms.engine import BreakerSettings, RetryPolicy, Routing
from langson_comms.sms.gateway import SmsGateway, own_gateway_ids
from langson_comms.sms.http_gateway import GenericHttpGateway
from langson_comms.sms.ledger import Ledger, open_ledger
from langson_comms.sms.numbers import Carrier
from langson_comms.sms.policy_selection import PolicySelection, select_policies
from langson_comms.sms.render import RenderOptions
from langson_comms.store_url import StoreLocation, store_location, store_location_in
from langson_comms.tabular import printable

__all__ = ["SmsChannel", "SmsChannelConfig"]


class SmsMode(enum.StrEnum):
    CARRIER_BROADCAST = "carrier_broadcast"
    DIRECT = "direct"


#: the longest wait a retry setting may ask for (seconds)
_DAY = 86_400


@attrs.frozen
class RetryConfig:
    max_attempts: int = attrs.field(default=6, validator=at_most(100))
    base_delay: float = attrs.field(default=0.5, validator=[at_least(0), at_most(_DAY)])
    max_delay: float = attrs.field(default=300.0, validator=[at_least(0), at_most(_DAY)])
    jitter: float = attrs.field(default=0.5, validator=[at_least(0), at_most(1)])


def _in_unit_interval(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0 < value <= 1:
        raise InvalidValue(attribute.name, f"{value!r} is not a share in (0, 1]")


@attrs.frozen
class BreakerConfig:
    """``[channels.sms.breaker]``: see ``BreakerSettings`` and docs/sms-dispatch.md."""

    threshold: int = attrs.field(default=5, validator=at_least(1))
    reset_after: float = attrs.field(default=1.0, validator=above(0))
    window: int = attrs.field(default=40, validator=at_least(1))
    error_rate: float = attrs.field(default=0.5, validator=_in_unit_interval)
    max_reset_after: float = attrs.field(default=30.0, validator=above(0))

    def __attrs_post_init__(self) -> None:
        if self.window < self.threshold:
            raise InvalidValue("window", f"{self.window} is smaller than threshold "
                                         f"{self.threshold} (the failures counted in it)")
        if self.max_reset_after < self.reset_after:
            raise InvalidValue("max_reset_after", f"{self.max_reset_after} is smaller than "
                                                  f"reset_after {self.reset_after}")

    def settings(self) -> BreakerSettings:
        return BreakerSettings(self.threshold, self.reset_after, self.window, self.error_rate,
                               self.max_reset_after)


@attrs.frozen
class LeaseConfig:
    """The sending lease (sms/lease.py): seconds it lives unrenewed, seconds between renewals."""

    ttl: float = attrs.field(default=30.0, validator=[above(0), at_most(3600)])
    renew_every: float = attrs.field(default=10.0, validator=above(0))


@attrs.frozen
class ReportsConfig:
    host: str = "127.0.0.1"
    port: int = attrs.field(default=8687, validator=[at_least(0), at_most(65535)])
    path: str = "/dlr"
    token_env: str | None = None
    poll_interval: float = attrs.field(default=5.0, validator=above(0))
    #: reports one callback request may hold, and its body size (413 beyond)
    max_reports: int = attrs.field(default=2000, validator=at_least(1))
    max_body_kb: int = attrs.field(default=1024, validator=at_least(1))


@attrs.frozen
class SmsChannelConfig:
    """The ``[channels.sms]`` table (``kind`` removed by the campaign loader)."""

    message: str
    mode: SmsMode = SmsMode.DIRECT
    carriers: list[str] = attrs.Factory(list)
    messages_per_subscriber: int = 1
    coverage_percent: float = 100.0
    brandname: str | None = None
    unaccented: bool = False
    max_segments: int | None = attrs.field(default=None, validator=at_least(1))
    send_by: str | None = None
    ledger: str = ".langson/sms-ledger.sqlite"
    #: the variable holding the PostgreSQL ledger's password (else PGPASSWORD, ~/.pgpass)
    ledger_password_env: str | None = None
    gateways: dict[str, dict[str, Any]] = attrs.Factory(dict)
    #: carrier hint → a gateway id, or ids in the order to try (checked by ``_check_route``)
    routes: dict[str, Any] = attrs.Factory(dict)
    default_gateway: Any = None
    fallback: list[str] = attrs.Factory(list)
    #: one table per policy name, and ``disable = [names]`` (see ``policy_tables``)
    policies: dict[str, Any] = attrs.Factory(dict)
    retry: RetryConfig = attrs.Factory(RetryConfig)
    breaker: BreakerConfig = attrs.Factory(BreakerConfig)
    reports: ReportsConfig = attrs.Factory(ReportsConfig)
    lease: LeaseConfig = attrs.Factory(LeaseConfig)
    claim_size: int = attrs.field(default=500, validator=[at_least(1), at_most(100_000)])
    report_timeout_hours: float | None = attrs.field(default=72.0, validator=at_most(24 * 366))


_SECRET_NAME = re.compile(r"key|secret|token|pass|auth", re.IGNORECASE)

_CARRIERS = sorted(c.value for c in Carrier if c is not Carrier.UNKNOWN)


def _check_route(route: Any, gateways: Mapping[str, Any], context: ConfigContext,
                 key: str) -> None:
    """A route is one configured gateway id or a non-empty list of them, each once."""
    known = f"gateways: {', '.join(sorted(gateways)) or 'none'}"
    if isinstance(route, str):
        if route not in gateways:
            raise context.error(f"gateway {route!r} is not configured ({known})", key)
        return
    if not isinstance(route, list) or not route:
        raise context.error(f"expected a gateway id or a list of them in the order to try, "
                            f"got {printable(repr(route))}", key)
    for i, gid in enumerate(route):
        if not isinstance(gid, str):
            raise context.error(f"expected a gateway id (a string), got {printable(repr(gid))}",
                                f"{key}[{i}]")
        if gid not in gateways:
            raise context.error(f"gateway {gid!r} is not configured ({known})", f"{key}[{i}]")
        if gid in route[:i]:
            raise context.error(f"gateway {gid!r} is named twice (also {key}"
                                f"[{route.index(gid)}])", f"{key}[{i}]")


def _parse_send_by(value: str, ctx: ConfigContext) -> pendulum.DateTime:
    try:
        parsed = pendulum.parse(value, tz=LOCAL_TZ)
    except (ValueError, pendulum.parsing.exceptions.ParserError) as exc:
        raise ctx.error(f"{value!r} is not an ISO 8601 date-time ({exc})", "send_by") from None
    if not isinstance(parsed, pendulum.DateTime):
        raise ctx.error(f"{value!r} is not a date-time (expected e.g. 2022-07-01T21:00)",
                        "send_by")
    wrong_year = year_problem(repr(value), parsed.year)
    if wrong_year is not None:
        raise ctx.error(wrong_year, "send_by")
    return parsed


@attrs.frozen
class SmsChannel(ActivityChannel):
    """``kind = "sms"``: a carrier-run broadcast order or direct sending through gateways."""

    name: ClassVar[str] = "sms"
    config: SmsChannelConfig
    context: ConfigContext = attrs.field(eq=False, repr=False)
    send_by: pendulum.DateTime | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: ConfigContext) -> Self:
        gateways = config.get("gateways", {})
        if not isinstance(gateways, Mapping):  # checked here: the shared converter's
            # table check depends on what it structured before (cattrs' dispatch cache)
            raise context.error(f"expected a table, got {type(gateways).__name__}", "gateways")
        cfg = context.structure(dict(config), SmsChannelConfig)
        for i, carrier in enumerate(cfg.carriers):
            if carrier not in _CARRIERS:
                raise context.error(f"{carrier!r} is not a carrier (expected one of: "
                                    f"{', '.join(_CARRIERS)})", f"carriers[{i}]")
            if carrier in cfg.carriers[:i]:
                raise context.error(f"{carrier!r} is named twice (also carriers"
                                    f"[{cfg.carriers.index(carrier)}]): each carrier is "
                                    "ordered once", f"carriers[{i}]")
        if not 0 < cfg.coverage_percent <= 100:
            raise context.error(f"{cfg.coverage_percent} is not a percentage in (0, 100]",
                                "coverage_percent")
        if cfg.messages_per_subscriber < 1:
            raise context.error("must be at least 1", "messages_per_subscriber")
        if cfg.mode is SmsMode.CARRIER_BROADCAST and not cfg.carriers:
            raise context.error("a carrier broadcast names the carriers that run it", "carriers")
        for gid, table in cfg.gateways.items():
            if not isinstance(table.get("kind"), str):
                raise context.error("each gateway needs kind = \"<gateway class name>\" "
                                    "(built-in: generic_http)", f"gateways.{gid}.kind")
        if cfg.mode is SmsMode.DIRECT and not cfg.gateways:
            raise context.error("direct sending needs at least one [channels.sms.gateways.<id>]",
                                "gateways")
        for carrier, route in cfg.routes.items():
            if carrier not in _CARRIERS and carrier != "unknown":
                raise context.error(f"{carrier!r} is not a carrier", f"routes.{carrier}")
            _check_route(route, cfg.gateways, context, f"routes.{carrier}")
        for i, gid in enumerate(cfg.fallback):
            if gid not in cfg.gateways:
                raise context.error(f"gateway {gid!r} is not configured", f"fallback[{i}]")
            if gid in cfg.fallback[:i]:
                raise context.error(f"gateway {gid!r} is named twice (also fallback"
                                    f"[{cfg.fallback.index(gid)}])", f"fallback[{i}]")
        if cfg.default_gateway is not None:
            _check_route(cfg.default_gateway, cfg.gateways, context, "default_gateway")
        if cfg.report_timeout_hours is not None and cfg.report_timeout_hours <= 0:
            raise context.error("must be positive (hours)", "report_timeout_hours")
        _check_reports(cfg.reports, context.child("reports"))
        location = store_location_in(cfg.ledger, context, "ledger")
        if cfg.ledger_password_env is not None and location.url is None:
            raise context.error("a password is for a PostgreSQL ledger (ledger ="
                                " \"postgresql://user@host:port/db\"); this ledger is a file",
                                "ledger_password_env")
        if not 0 < cfg.lease.renew_every < cfg.lease.ttl:
            raise context.error(f"renew_every ({cfg.lease.renew_every:g}) must be above 0 and"
                                f" below ttl ({cfg.lease.ttl:g})", "lease.renew_every")
        if cfg.retry.max_attempts < 1:
            raise context.error("must be at least 1", "retry.max_attempts")
        if cfg.brandname is not None:
            try:
                RenderOptions(brandname=cfg.brandname)
            except ValueError as exc:
                raise context.error(str(exc), "brandname") from None
        _check_policies_table(cfg.policies, context.child("policies"))
        send_by = _parse_send_by(cfg.send_by, context) if cfg.send_by else None
        channel = cls(cfg, context, send_by)
        if context.registry is not None:
            # Loading with a runtime: unknown gateway kinds are reported now (by
            # `validate`), not when sending starts; policies in check_campaign.
            # The gateway's own keys are checked too (check_config: no secrets needed).
            # Every table is checked: each gateway's problems are listed, not the first's.
            problems: list[Problem] = []
            for gid, table in cfg.gateways.items():
                try:
                    if table["kind"] not in context.registry.names("sms_gateway"):
                        raise context.error(
                            context.registry.unknown_name("sms_gateway", table["kind"]),
                            f"gateways.{gid}.kind")
                    context.registry.get("sms_gateway", table["kind"]).check_config(
                        {k: v for k, v in table.items() if k != "kind"},
                        context.child("gateways").child(gid))
                except CampaignFileError as exc:
                    problems.extend(exc.problems)
            if problems:
                raise CampaignFileError(context.source, problems)
        return channel

    def check_campaign(self, campaign: Campaign, context: ConfigContext) -> None:
        if self.config.message not in campaign.messages:
            known = ", ".join(sorted(campaign.messages)) or "none"
            raise context.error(f"{self.config.message!r} is not a message of this campaign "
                                f"(known: {known})", "message")
        registry = context.registry
        if registry is None:
            return
        if self.config.mode is SmsMode.DIRECT:
            # The policies the engine will run, built now: a promotional message without
            # an opt-out footer or a Do-Not-Call list is a located error at load time.
            self.build_policies(registry, campaign.message(self.config.message))
        else:
            # The carriers send: nothing to build, but the names must exist.
            policies = registry.names("policy")
            ctx = self.context.child("policies")
            for name in self.policy_tables():
                if name not in policies:
                    raise ctx.error(registry.unknown_name("policy", name), name)
            for i, name in enumerate(self.disabled_policies()):
                if name not in policies:
                    raise ctx.error(registry.unknown_name("policy", name), f"disable[{i}]")

    def describe(self) -> str:
        cfg = self.config
        if cfg.mode is SmsMode.CARRIER_BROADCAST:
            return (f"carrier-run broadcast of {cfg.message!r} by {', '.join(cfg.carriers)} to "
                    f"{cfg.coverage_percent:g} % of subscribers, {cfg.messages_per_subscriber} "
                    f"SMS each")
        return f"direct sending of {cfg.message!r} through {', '.join(sorted(cfg.gateways))}"

    # -- what the engine needs -----------------------------------------------------------

    def stored_reach(self, key: str, campaign: Campaign, period: Period) -> Iterator[ReachRecord]:
        """Delivered messages in the ledger and carrier-reported totals (activity contract)."""
        return sms_reach(self, key, campaign, period)

    def ledger_location(self) -> StoreLocation:
        """Where the ledger is (``ledger``: a file, ``sqlite:///…`` or ``postgresql://…``)."""
        return store_location(self.config.ledger, base_dir=self.context.base_dir)

    def open_ledger(self, environ: Mapping[str, str] | None = None) -> Ledger:
        """The channel's ledger (``open_ledger``: SQLite or PostgreSQL); close it after."""
        return open_ledger(self.ledger_location(), password_env=self.config.ledger_password_env,
                           environ=environ)

    def ledger_path(self) -> Path:
        """The ledger's SQLite file (a located ``ConfigError`` for a PostgreSQL ledger)."""
        path = self.ledger_location().path
        if path is None:
            raise self.context.error("this command needs a ledger file; the ledger is on"
                                     " PostgreSQL", "ledger")
        return path

    def routing(self) -> Routing:
        cfg = self.config
        default = cfg.default_gateway
        if default is None and len(cfg.gateways) == 1:
            default = next(iter(cfg.gateways))
        return Routing({carrier: route if isinstance(route, str) else tuple(route)
                        for carrier, route in cfg.routes.items()},
                       default if default is None or isinstance(default, str) else tuple(default),
                       tuple(cfg.fallback))

    def retry_policy(self) -> RetryPolicy:
        r = self.config.retry
        return RetryPolicy(r.max_attempts, r.base_delay, r.max_delay, r.jitter)

    def render_options(self) -> RenderOptions:
        cfg = self.config
        return RenderOptions(unaccented=cfg.unaccented, brandname=cfg.brandname,
                             max_segments=cfg.max_segments)

    def build_gateways(self, registry: Registry) -> dict[str, SmsGateway]:
        """Instantiate every configured gateway (located errors name its table)."""
        gateways: dict[str, SmsGateway] = {}
        for gid, table in self.config.gateways.items():
            ctx = self.context.child("gateways").child(gid)
            cls = registry.get("sms_gateway", table["kind"])
            gateways[gid] = cls.from_config({k: v for k, v in table.items() if k != "kind"}, ctx)
        return own_gateway_ids(gateways)  # the table key, whatever the plugin set

    def secret_values(self, environ: Mapping[str, str]) -> list[str]:
        """Every configured secret value, for scrubbing (``langson_comms.scrub``): the
        reports token and the ledger's password, and per gateway ``auth_value``, the
        variables named by any ``*_env`` key and by ``extra_env``, the secret files named by
        any ``*_file`` key (as ``langson_comms.sms.read_secret`` reads them), and ``extra``
        fields whose name says key, secret, token or password."""
        from ..sms.secrets import secret_file_value

        names: list[str] = [self.config.reports.token_env or "",
                             self.config.ledger_password_env or ""]
        values: list[str] = []
        for table in self.config.gateways.values():
            for key, value in table.items():
                if key.endswith("_env") and isinstance(value, str):
                    names.append(value)
                elif key.endswith("_file") and isinstance(value, str):
                    values.append(secret_file_value(value, self.context.base_dir) or "")
                elif key == "extra_env" and isinstance(value, Mapping):
                    names.extend(v for v in value.values() if isinstance(v, str))
                elif key == "auth_value" and isinstance(value, str):
                    values.append(value)
                elif key == "extra" and isinstance(value, Mapping):
                    values.extend(str(v) for k, v in value.items()
                                  if _SECRET_NAME.search(str(k)) and isinstance(v, str | int))
        return values + [environ[n] for n in names if n and environ.get(n)]

    def policy_tables(self) -> dict[str, dict[str, Any]]:
        """``[channels.sms.policies.<name>]`` tables, in file order (``disable`` removed)."""
        return {k: v for k, v in self.config.policies.items() if k != "disable"}

    def disabled_policies(self) -> list[str]:
        """``[channels.sms.policies] disable = [...]``: policies switched off on record."""
        return list(self.config.policies.get("disable", []))

    def build_policies(self, registry: Registry, message: Message) -> PolicySelection:
        """The policies for sending ``message``: ``select_policies``, as ``sms prepare``
        uses them (every registered policy unless disabled; exemptions for a notice)."""
        ctx = self.context.child("policies")
        return select_policies(registry, message, self.policy_tables(), ctx,
                               disable=self.disabled_policies(),
                               disable_context=ctx.child("disable"))


def _check_reports(reports: ReportsConfig, ctx: ConfigContext) -> None:
    """No open door: a non-loopback endpoint needs a token; the caps are positive."""
    from langson_comms.http_serving import is_loopback

    if not reports.token_env and not is_loopback(reports.host):
        raise ctx.error(f"the delivery-report endpoint listens on {reports.host}, beyond this "
                        "machine, without a token: set token_env (a variable holding the "
                        "Authorization value callbacks send) or host = \"127.0.0.1\"",
                        "token_env")
    for key in ("max_reports", "max_body_kb"):
        if getattr(reports, key) < 1:
            raise ctx.error("must be at least 1", key)


def _check_policies_table(table: Mapping[str, Any], ctx: ConfigContext) -> None:
    for name, value in table.items():
        if name == "disable":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ctx.error(f"{value!r} is not a list of policy names", "disable")
        elif not isinstance(value, Mapping):
            raise ctx.error(f"expected a table of options for policy {name!r} (or "
                            f"disable = [names]), got {type(value).__name__} {value!r}", name)


@hookimpl
def register_channels() -> list[type[Any]]:
    return [SmsChannel]


@hookimpl
def register_sms_gateways() -> list[type[Any]]:
    return [GenericHttpGateway]
