"""Loading a campaign file (TOML) into a ``Campaign``.

Every problem found is reported, not only the first, each with the file, the key path,
the line (from the TOML parser for syntax errors, located in the text otherwise) and
what was expected.  Unknown keys are errors.  Data files are resolved relative to the
campaign file.

Top-level tables: ``[campaign]``, ``[messages.<key>]``, ``[channels.<key>]``,
``[targets.<key>]``, ``[regions]``, ``[teams]``, ``[signups]`` — see docs/campaign-file.md.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import attrs
import pendulum

from .campaign import Campaign, ChannelPlan, KpiTarget, Period, Team
from .campaign_file_limits import (
    MAX_FILE_BYTES,
    huge_integer_problem,
    key_problem,
    nesting_problem,
    text_key_problems,
    value_problems,
)
from .clock import LOCAL_TZ
from .config import ConfigContext, InvalidValue
from .errors import (
    CampaignFileError,
    ConfigError,
    DataError,
    PluginError,
    Problem,
    UnknownNameError,
)
from .messages import Message
from .regions import Region, RegionRegistry, canonical_code
from .registry import Registry
from .signups.settings import SignupSettings, SignupsPlan
from .teams_file import read_teams_csv  # the teams file a campaign names

__all__ = ["build_campaign", "check_limits", "load_campaign", "read_teams_csv", "read_toml"]

TOP_LEVEL = ("campaign", "messages", "channels", "targets", "regions", "teams", "signups")


@attrs.frozen
class _CampaignSection:
    id: str
    title: str
    start: pendulum.Date
    end: pendulum.Date
    timezone: str = LOCAL_TZ
    reference: str = ""
    description: str = ""


@attrs.frozen
class _MessageSection:
    text: str
    classification: str = "promotional"
    classified_by: str | None = None
    tags: list[str] = attrs.field(factory=list)
    language: str = "vi"
    audience: str | None = None


@attrs.frozen
class _RegionUnit:
    code: Any
    name: str
    level: str
    parent: Any = None
    valid_from: pendulum.Date | None = None
    valid_to: pendulum.Date | None = None


@attrs.frozen
class _RegionsSection:
    province: Any = None
    file: str | None = None
    file_valid_from: pendulum.Date | None = None
    file_valid_to: pendulum.Date | None = None
    units: list[_RegionUnit] = attrs.field(factory=list)


@attrs.frozen
class _TeamsSection:
    file: str


class _Collector:
    """Runs each section's loader, keeping every problem instead of stopping at the first."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def run(self, fn: Callable[[], Any], default: Any = None) -> Any:
        try:
            return fn()
        except CampaignFileError as exc:
            self.problems.extend(exc.problems)
        except ConfigError as exc:
            self.problems.append(Problem(exc.key or "", exc.message, exc.line))
        return default


def load_campaign(path: str | Path, registry: Registry) -> Campaign:
    """Read and check a campaign file; raise ``CampaignFileError`` listing every problem."""
    path = Path(path)
    text, data = read_toml(path, "campaign file")
    return _build(data, registry, source=str(path), base_dir=path.parent.resolve(), text=text)


def build_campaign(
    data: Mapping[str, Any],
    registry: Registry,
    *,
    source: str = "<python>",
    base_dir: str | Path | None = None,
) -> Campaign:
    """Check and build a campaign from a mapping shaped like the campaign file (the tables
    as nested dicts), e.g. kept in a host application's own database.

    The checks are those of ``load_campaign``; every problem is listed in one
    ``CampaignFileError`` whose keys name the attribute (``channels.sms.rate``) in
    ``source``.  Relative paths (audience lists, stations files) are read from
    ``base_dir`` (default: the current folder).
    """
    if not isinstance(data, Mapping):
        raise CampaignFileError(source, [Problem("", f"expected a mapping of tables, not "
                                                     f"{type(data).__name__}")])
    bad_keys = list(text_key_problems(data))
    if bad_keys:  # the checks below take every key for text
        raise CampaignFileError(source, bad_keys)
    folder = Path.cwd() if base_dir is None else Path(base_dir)
    return _build(dict(data), registry, source=source, base_dir=folder.resolve(), text=None)


def _build(data: dict[str, Any], registry: Registry, *, source: str, base_dir: Path,
           text: str | None) -> Campaign:
    ctx = ConfigContext(source=source, base_dir=base_dir, registry=registry)
    found = _Collector(source)
    found.problems.extend(value_problems(data))
    for key in data:
        if key not in TOP_LEVEL:
            found.problems.append(
                Problem(key, f"unknown top-level table (expected one of: {', '.join(TOP_LEVEL)})")
            )

    if "campaign" not in data:
        found.problems.append(Problem("campaign", "required table [campaign] is missing"))
        head = None
    else:
        head = found.run(lambda: ctx.child("campaign").structure(data["campaign"], _CampaignSection))
    period = found.run(lambda: _period(head, ctx.child("campaign"))) if head else None

    messages = found.run(lambda: _messages(data.get("messages", {}), ctx.child("messages")), {})
    regions, province = found.run(
        lambda: _regions(data.get("regions"), ctx.child("regions")), (RegionRegistry(), None)
    )
    teams = ()
    if "teams" in data:
        teams = found.run(lambda: _teams(data["teams"], ctx.child("teams"), regions), ())

    channels: dict[str, ChannelPlan] = {}
    for key, table in _tables(data.get("channels", {}), ctx.child("channels"), found):
        plan = found.run(partial(_built, key, table, "channel", ctx.child("channels"), registry))
        if plan is not None:
            channels[key] = ChannelPlan(key=key, kind=plan[0], channel=plan[1])

    targets: dict[str, KpiTarget] = {}
    for key, table in _tables(data.get("targets", {}), ctx.child("targets"), found):
        built = found.run(partial(_built, key, table, "kpi", ctx.child("targets"), registry))
        if built is not None:
            targets[key] = KpiTarget(key=key, kind=built[0], kpi=built[1])

    signups = None
    if "signups" in data:
        signups = _signups(data["signups"], ctx.child("signups"), registry, found)

    if found.problems or head is None or period is None:
        raise _located(source, text, found.problems)

    campaign = Campaign(
        id=head.id,
        title=head.title,
        period=period,
        messages=messages,
        channels=channels,
        targets=targets,
        regions=regions,
        teams=teams,
        province_code=province,
        reference=head.reference,
        source=source,
        signups=signups,
        base_dir=base_dir,
    )
    # Cross-checks that need the whole campaign (message keys, periods, teams …).
    for group, items in (("channels", channels), ("targets", targets)):
        for key, item in items.items():
            obj = item.channel if isinstance(item, ChannelPlan) else item.kpi
            check = getattr(obj, "check_campaign", None)
            if check is not None:
                found.run(partial(check, campaign, ctx.child(group).child(key)))
    for signup_source in (signups.sources.values() if signups else ()):
        found.run(partial(signup_source.check_config, campaign))
    if found.problems:
        raise _located(source, text, found.problems)
    return campaign


def read_toml(path: Path, what: str) -> tuple[str, dict[str, Any]]:
    """The text and the tables of a TOML file; every way it cannot be read is a located
    ``ConfigError`` (``what`` names the file in "… not found")."""
    source = str(path)
    text = _read_text(path, what)
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Python < 3.14 puts the position only in the message: "… (at line 18, column 10)".
        match = re.search(r"^(.*) \(at line (\d+), column \d+\)$", str(exc))
        message, line = (match[1], int(match[2])) if match else (str(exc), None)
        raise CampaignFileError(source, [Problem("", f"invalid TOML: {message}", line)]) from None
    except RecursionError:
        problem = nesting_problem(text) or Problem("", "values nested too deep")
        raise CampaignFileError(source, [problem]) from None
    except ValueError as exc:  # int()'s own limit: more than 4,300 digits
        raise CampaignFileError(source, [huge_integer_problem(text, exc)]) from None


def _read_text(path: Path, what: str) -> str:
    """The file's text, read only if it is a regular file of at most ``MAX_FILE_BYTES`` (a
    FIFO or ``/dev/zero`` would never end); newlines as ``Path.read_text`` gives them."""
    source = str(path)
    too_big = f"over {MAX_FILE_BYTES // 2**20} MiB; a {what} is a few kilobytes of TOML"
    try:
        if path.is_dir():
            raise ConfigError(f"a folder, not a {what} (expected a TOML file)", source=source)
        if path.exists() and not path.is_file():
            raise ConfigError("not a regular file (expected a TOML file)", source=source)
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{what} not found", source=source) from None
    except OSError as exc:
        raise ConfigError(f"cannot be read: {exc.strerror or exc}", source=source) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(too_big, source=source)
    try:
        text = raw.decode("utf-8-sig")  # a BOM (Notepad, Excel) is fine
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", source=source) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def check_limits(source: str, text: str, data: Mapping[str, Any]) -> None:
    """Raise ``CampaignFileError`` listing, located, every value of ``data`` outside the
    limits of ``campaign_file_limits`` (for TOML files other than the campaign file)."""
    problems = list(value_problems(data))
    if problems:
        raise _located(source, text, problems)


def _period(head: _CampaignSection, ctx: ConfigContext) -> Period:
    try:
        pendulum.timezone(head.timezone)
    except Exception:
        raise ctx.error(f"{head.timezone!r} is not a known timezone (e.g. 'Asia/Ho_Chi_Minh')", "timezone") from None
    if head.end < head.start:
        raise ctx.error(f"end {head.end} is before start {head.start}", "end")
    return Period(start=head.start, end=head.end, timezone=head.timezone)


def _tables(
    data: Any, ctx: ConfigContext, found: _Collector
) -> list[tuple[str, Mapping[str, Any]]]:
    if not isinstance(data, Mapping):
        found.problems.append(Problem(ctx.key, f"expected a table of tables, got {data!r}"))
        return []
    result = []
    for key, table in data.items():
        if not isinstance(table, Mapping):
            found.problems.append(
                Problem(ctx.path(key), f"expected a table [{ctx.key}.{key}], got {table!r}")
            )
        else:
            result.append((key, table))
        unsafe = key_problem(key)
        if unsafe is not None:
            found.problems.append(Problem(ctx.child(key or '""').key, unsafe))
    return result


def _messages(data: Any, ctx: ConfigContext) -> dict[str, Message]:
    found = _Collector(ctx.source)
    messages: dict[str, Message] = {}
    for key, table in _tables(data, ctx, found):
        section = found.run(partial(ctx.child(key).structure, table, _MessageSection))
        if section is None:
            continue
        try:
            messages[key] = Message(
                key=key,
                text=section.text,
                classification=section.classification,
                classified_by=section.classified_by,
                tags=frozenset(section.tags),
                language=section.language,
                audience=section.audience,
            )
        except InvalidValue as exc:
            found.problems.append(Problem(ctx.child(key).path(exc.field), str(exc)))
    if found.problems:
        raise CampaignFileError(ctx.source, found.problems)
    return messages


def _regions(data: Any, ctx: ConfigContext) -> tuple[RegionRegistry, str | None]:
    if data is None:
        return RegionRegistry(), None
    section = ctx.structure(data, _RegionsSection)
    registry = RegionRegistry()
    if section.file is not None:
        file = ctx.resolve_file(section.file, "file")
        try:
            registry = RegionRegistry.from_csv(
                file, valid_from=section.file_valid_from, valid_to=section.file_valid_to
            )
        except DataError as exc:
            raise ctx.error(str(exc), "file") from None
    problems: list[Problem] = []  # every unit's problem, not only the first
    for i, unit in enumerate(section.units):
        try:
            registry.add(
                Region(
                    code=unit.code,
                    name=unit.name,
                    level=unit.level,
                    parent_code=unit.parent,
                    valid_from=unit.valid_from,
                    valid_to=unit.valid_to,
                )
            )
        except ValueError as exc:
            problems.append(Problem(ctx.path(f"units[{i}]"), str(exc)))
    province = None
    if section.province is not None:
        try:
            province = canonical_code(section.province)
        except ValueError as exc:
            problems.append(Problem(ctx.path("province"), str(exc)))
    unreadable_province = section.province is not None and province is None
    for region in () if unreadable_province else registry:
        if region.parent_code and region.parent_code not in registry and region.parent_code != province:
            problems.append(Problem(
                ctx.key, f"unit {region.code} ({region.name}) names parent {region.parent_code}, "
                "which is not a known unit"
            ))
    if problems:
        raise CampaignFileError(ctx.source, problems)
    return registry, province


def _teams(data: Any, ctx: ConfigContext, regions: RegionRegistry) -> tuple[Team, ...]:
    section = ctx.structure(data, _TeamsSection)
    path = ctx.resolve_file(section.file, "file")
    try:
        return read_teams_csv(path, regions)
    except DataError as exc:
        raise ctx.error(str(exc), "file") from None


def _built(
    key: str, table: Mapping[str, Any], kind: str, ctx: ConfigContext, registry: Registry
) -> tuple[str, Any]:
    sub = ctx.child(key)
    name = table.get("kind", key)
    if not isinstance(name, str):
        raise sub.error(f"{name!r} is not a string (expected the name of a {kind} class)", "kind")
    try:
        cls = registry.get(kind, name)
    except UnknownNameError as exc:
        raise sub.error(str(exc), "kind") from None
    config = {k: v for k, v in table.items() if k != "kind"}
    try:
        return name, cls.from_config(config, sub)
    except ConfigError:
        raise
    except Exception as exc:
        raise PluginError(
            f"{kind} {name!r} ({cls.__module__}.{cls.__qualname__}) raised while reading "
            f"{sub.key}: {type(exc).__name__}: {exc}"
        ) from exc


def _signups(data: Any, ctx: ConfigContext, registry: Registry, found: _Collector) -> SignupsPlan | None:
    """``[signups]``: scalar keys are ``SignupSettings``, each sub-table a source by ``kind``."""
    if not isinstance(data, Mapping):
        found.problems.append(Problem(ctx.key, f"expected a table, got {data!r}"))
        return None
    scalars = {k: v for k, v in data.items() if not isinstance(v, Mapping)}
    settings = found.run(lambda: ctx.structure(scalars, SignupSettings))
    sources = {}
    for key, table in data.items():
        if not isinstance(table, Mapping):
            continue
        if "kind" not in table or "platform" not in table:
            missing = "kind" if "kind" not in table else "platform"
            found.problems.append(Problem(ctx.child(key).path(missing), "required key is missing"))
            continue
        built = found.run(partial(_built, key, table, "signup_source", ctx, registry))
        if built is not None:
            sources[key] = built[1]
    if settings is None:
        return None
    from .store_url import sqlite_store_path

    store = found.run(lambda: sqlite_store_path(settings.store, ctx, "store", "sign-up store"))
    if store is None:
        return None
    return SignupsPlan(settings=settings, store_path=store, sources=sources)


# --- locating keys in the text ------------------------------------------------------------

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


def _locate(text: str, key: str) -> int | None:
    """Best-effort line of ``key`` (``a.b.c[2]``): the ``c =`` line under ``[a.b]``, else the header.

    tomllib reports lines only for syntax errors, so this scans the text: plain tables and
    ``key =`` lines are found; inline tables and dotted keys fall back to the nearest header.
    """
    parts = [p for p in re.sub(r"\[\d+\]", "", key).split(".") if p]
    if not parts:
        return None
    lines = text.splitlines()
    headers = []
    for number, line in enumerate(lines, 1):
        match = _HEADER.match(line)
        if match:
            headers.append((number, ".".join(s.strip().strip('"') for s in match[1].split("."))))
    for cut in range(len(parts), -1, -1):
        table = ".".join(parts[:cut])
        starts = [n for n, name in headers if name == table] if table else [0]
        if not starts:
            continue
        start = starts[0]
        if cut == len(parts):
            return start or None
        rest = parts[cut]
        pattern = re.compile(rf'^\s*"?{re.escape(rest)}"?\s*[=.]')
        for number in range(start + 1, len(lines) + 1):
            if _HEADER.match(lines[number - 1]):
                break
            if pattern.match(lines[number - 1]):
                return number
        return start or None
    return None


def _located(source: str, text: str | None, problems: list[Problem]) -> CampaignFileError:
    if text is None:  # built from Python values: the key path is the location
        return CampaignFileError(source, problems)
    located = [
        p if p.line is not None or not p.key else attrs.evolve(p, line=_locate(text, p.key))
        for p in problems
    ]
    return CampaignFileError(source, located)
