"""Preparing an audience from Python: ``prepare_audience`` (what ``sms prepare`` runs).

Audience files and a campaign message become a prepared audience (valid recipients), a
quarantine file (rows that cannot be used, with reasons) and an excluded file (duplicates,
suppressed rows), written atomically, and a counted ``PreparePlan``:
rows read = valid + quarantined + duplicates + suppressed.  Every option is documented in
docs/sms-preparation.md.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import pendulum

from ..campaign import Campaign
from ..campaign_file import check_limits, read_toml
from ..clock import Clock
from ..config import ConfigContext
from ..errors import ConfigError
from ..outputs import atomic_output, campaign_inputs, people_csv_output, refuse_inputs
from ..runtime import Runtime
from ..sms.policies import CsvSendHistory, PolicyContext, SendHistory
from ..sms.prepare import PrepareConfig, PreparePlan, Preparer, build_policies

__all__ = ["PrepareOptions", "prepare_audience"]

CONFIG_TABLE = "sms_prepare"


@attrs.frozen
class PrepareOptions:
    """Options of a preparation; those left ``None`` (or empty) come from ``config_file``
    (an ``[sms_prepare]`` table), then from the campaign's sms channel sending the
    message, then the defaults."""

    config_file: Path | None = None
    brandname: str | None = None
    max_segments: int | None = None
    unaccented: bool | None = None
    prices: Mapping[str, float] = attrs.field(factory=dict)
    currency: str | None = None
    defaults: Mapping[str, str] = attrs.field(factory=dict)
    dnc_files: tuple[Path, ...] = ()
    opt_out_files: tuple[Path, ...] = ()
    footer: str | None = None
    label: str | None = None
    history: Path | None = None
    send_at: pendulum.DateTime | None = None
    disabled: tuple[str, ...] = ()
    encoding: str | None = None
    fallback_encoding: str | None = None
    delimiter: str | None = None
    phone_column: str | None = None


def prepare_audience(
    campaign: Campaign,
    message: str,
    audience: Sequence[str | Path] | str | Path,
    *,
    out_dir: str | Path = Path("."),
    prepared: str | Path | None = None,
    quarantine: str | Path | None = None,
    excluded: str | Path | None = None,
    options: PrepareOptions | None = None,
    runtime: Runtime | None = None,
    clock: Clock | None = None,
) -> PreparePlan:
    """Prepare ``message`` of ``campaign`` for the ``audience`` files; writes the three
    outputs (default ``out_dir``/prepared.csv, quarantine.csv, excluded.csv) and returns
    the plan.  Raises ``ConfigError`` (a bad option, table or message key; an output that
    is one of the inputs: nothing is written) and ``DataError`` (an unreadable file).
    File names may be ``str`` or ``Path``; ``audience`` may be one file name alone."""
    files = [Path(audience)] if isinstance(audience, str | Path) else [Path(a) for a in audience]
    return _prepare(campaign, message, files, out_dir=Path(out_dir),
                    prepared=None if prepared is None else Path(prepared),
                    quarantine=None if quarantine is None else Path(quarantine),
                    excluded=None if excluded is None else Path(excluded),
                    options=options, runtime=runtime, clock=clock)


def _prepare(campaign: Campaign, message: str, audience: list[Path], *, out_dir: Path,
             prepared: Path | None, quarantine: Path | None, excluded: Path | None,
             options: PrepareOptions | None, runtime: Runtime | None,
             clock: Clock | None) -> PreparePlan:
    runtime = runtime or Runtime.create()
    opts = options or PrepareOptions()
    try:
        msg = campaign.message(message)
    except KeyError as exc:
        raise ConfigError(str(exc.args[0]), key="message") from None
    config, ctx, policy_contexts = _config(campaign, message, opts)
    prepare_config = PrepareConfig.from_config(config, ctx)
    now = opts.send_at or (clock or runtime.clock).now()
    selection = build_policies(runtime.registry, msg, prepare_config, ctx, policy_contexts)
    notes: list[str] = []
    send_history: SendHistory
    if opts.history is not None:
        send_history = CsvSendHistory.from_csv(opts.history)
    else:
        send_history = CsvSendHistory.empty()
        if any(p.name == "frequency_cap" for p in selection.policies):
            notes.append("frequency_cap: no --history given; earlier sends counted as none")
    out_dir.mkdir(parents=True, exist_ok=True)
    prepared = prepared or out_dir / "prepared.csv"
    quarantine = quarantine or out_dir / "quarantine.csv"
    excluded = excluded or out_dir / "excluded.csv"
    preparer = Preparer(msg, selection, PolicyContext(now=now, history=send_history),
                        prepare_config, time_numbers=True)
    campaign_file = Path(campaign.source) if campaign.source and Path(
        campaign.source).is_file() else None
    refuse_inputs(
        [("prepared", prepared), ("quarantine", quarantine), ("excluded", excluded)],
        _inputs(campaign_file, opts.config_file, audience, opts.history, config,
                ctx.base_dir))
    with contextlib.ExitStack() as outputs:  # an error discards all three
        # prepared.csv is read by programs (`sms send`): no BOM; quarantine and excluded
        # are opened by people in Excel: UTF-8 with a BOM (outputs.people_csv_output)
        p_out = outputs.enter_context(atomic_output(prepared))
        q_out, e_out = (outputs.enter_context(people_csv_output(path)) for path in (quarantine, excluded))
        plan = preparer.run(list(audience), p_out, q_out, e_out)
    plan.notes[:0] = notes
    plan.outputs.update(prepared=str(prepared), quarantine=str(quarantine),
                        excluded=str(excluded))
    return plan


def _config(campaign: Campaign, message: str, opts: PrepareOptions,
            ) -> tuple[dict[str, Any], ConfigContext, dict[str, ConfigContext]]:
    """The ``[sms_prepare]`` table of a run: the channel's, the config file's, the options'."""
    base, policy_contexts = _from_sms_channel(campaign, message)
    file_config, ctx = _load_config_file(opts.config_file)
    file_policies = file_config.get("policies")
    for name in file_policies if isinstance(file_policies, dict) else ():
        policy_contexts.pop(name, None)  # the --config file's table wins, with its context
    config = _merge(base, file_config)
    overrides: dict[str, Any] = {
        "brandname": opts.brandname, "max_segments": opts.max_segments,
        "unaccented": opts.unaccented, "currency": opts.currency, "encoding": opts.encoding,
        "fallback_encoding": opts.fallback_encoding, "delimiter": opts.delimiter,
        "phone_column": opts.phone_column,
    }
    config.update({k: v for k, v in overrides.items() if v is not None})
    if opts.prices:
        config["prices"] = {**config.get("prices", {}), **opts.prices}
    if opts.defaults:
        config["defaults"] = {**config.get("defaults", {}), **opts.defaults}
    if opts.disabled:
        config["disable"] = [*config.get("disable", []), *opts.disabled]
    for name, files in (("do_not_call", opts.dnc_files), ("opt_out", opts.opt_out_files)):
        if files:
            table = _policy_table(config, name)
            table["files"] = [*table.get("files", []), *(str(p.resolve()) for p in files)]
    if opts.footer is not None:
        _policy_table(config, "opt_out_footer")["footer"] = opts.footer
    if opts.label is not None:
        _policy_table(config, "qc_label")["label"] = opts.label
    cli_policies = _cli_policies(opts.dnc_files, opts.opt_out_files, opts.footer, opts.label)
    for name in set(policy_contexts) & cli_policies:
        del policy_contexts[name]  # the table now holds command-line paths/values too
    return config, ctx, policy_contexts


def _load_config_file(path: Path | None) -> tuple[dict[str, Any], ConfigContext]:
    if path is None:
        return {}, ConfigContext(source="<command line>", base_dir=Path.cwd(), key="")
    text, data = read_toml(path, "configuration file")
    check_limits(str(path), text, data)
    unknown = sorted(set(data) - {CONFIG_TABLE})
    if unknown:
        raise ConfigError(f"unknown table(s) {', '.join(unknown)} (expected [{CONFIG_TABLE}])",
                          source=str(path), key=unknown[0])
    table = data.get(CONFIG_TABLE, {})
    ctx = ConfigContext(source=str(path), base_dir=path.parent.resolve(), key=CONFIG_TABLE)
    return dict(table), ctx


def _from_sms_channel(campaign: Campaign, message_key: str) -> tuple[dict[str, Any],
                                                                dict[str, ConfigContext]]:
    """Defaults from the campaign's ``[channels.sms]`` table that sends this message:
    brandname, unaccented, max_segments and the policy tables, so preparation and the
    send engine apply the same options.  Policy tables keep the campaign file's context
    (paths relative to it, errors naming it)."""
    for plan in campaign.channels_of_kind("sms"):
        cfg = getattr(plan.channel, "config", None)
        context = getattr(plan.channel, "context", None)
        if cfg is None or getattr(cfg, "message", None) != message_key:
            continue
        base: dict[str, Any] = {}
        for key in ("brandname", "unaccented", "max_segments"):
            value = getattr(cfg, key, None)
            if value is not None:
                base[key] = value
        contexts: dict[str, ConfigContext] = {}
        tables = plan.channel.policy_tables()
        disabled = plan.channel.disabled_policies()
        if disabled:  # recorded in the plan as the send engine logs them
            base["disable"] = list(disabled)
        if tables:
            base["policies"] = {name: dict(table) for name, table in tables.items()}
            if isinstance(context, ConfigContext):
                contexts = {name: context.child("policies").child(name) for name in tables}
                for table in base["policies"].values():
                    files = table.get("files")
                    if isinstance(files, list):  # relative to the campaign file
                        table["files"] = [str(context.base_dir / f) if isinstance(f, str) else f
                                          for f in files]
        return base, contexts
    return {}, {}


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if key == "policies" and isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        elif key == "disable" and isinstance(value, list) and isinstance(merged.get(key), list):
            merged[key] = [*merged[key], *(v for v in value if v not in merged[key])]
        else:
            merged[key] = value
    return merged


def _cli_policies(dnc: Sequence[Path], opt_out: Sequence[Path], footer: str | None,
                  label: str | None) -> set[str]:
    names = set()
    if dnc:
        names.add("do_not_call")
    if opt_out:
        names.add("opt_out")
    if footer is not None:
        names.add("opt_out_footer")
    if label is not None:
        names.add("qc_label")
    return names


def _inputs(campaign_file: Path | None, config_file: Path | None, audience: Sequence[Path],
            history: Path | None, config: dict[str, Any], base_dir: Path,
            ) -> list[tuple[str, Path]]:
    """Every file the run reads, labelled for the message refusing to write over one."""
    found = [*(campaign_inputs(campaign_file) if campaign_file is not None else ()),
             *(("audience", p) for p in audience)]
    if config_file is not None:
        found.append(("options.config_file", config_file))
    if history is not None:
        found.append(("options.history", history))
    policies = config.get("policies")
    for name, table in (policies.items() if isinstance(policies, dict) else ()):
        files = table.get("files") if isinstance(table, dict) else None
        for file in files if isinstance(files, list) else ():
            if isinstance(file, str):
                found.append((f"{name} list", base_dir / file))  # absolute stays absolute
    return found


def _policy_table(config: dict[str, Any], name: str) -> dict[str, Any]:
    policies = config.setdefault("policies", {})
    if not isinstance(policies, dict):
        raise ConfigError("expected a table of policy tables", key="sms_prepare.policies")
    table = policies.setdefault(name, {})
    if not isinstance(table, dict):
        raise ConfigError("expected a table", key=f"sms_prepare.policies.{name}")
    return table
