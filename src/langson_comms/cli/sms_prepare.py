"""``langson-comms sms prepare``: audience files + a campaign message → a counted send plan.

Options can also come from a TOML file (``--config``) holding an ``[sms_prepare]`` table;
options given on the command line win.  Every key and option is documented in
docs/sms-preparation.md.
"""

from __future__ import annotations

import json
import logging
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import pendulum
from rich.console import Console
from rich.table import Table

from ..clock import LOCAL_TZ
from ..config import ConfigContext
from ..errors import ConfigError
from ..runtime import Runtime
from ..sms.encoding import plain_text
from ..sms.numbers import Carrier
from ..sms.policies import CsvSendHistory, PolicyContext, SendHistory
from ..sms.prepare import PrepareConfig, PreparePlan, Preparer, build_policies

__all__ = ["prepare", "register"]

CONFIG_TABLE = "sms_prepare"


def _pairs(values: Sequence[str], option: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", param_hint=option)
        result[key.strip()] = rest.strip()
    return result


def _load_config_file(path: Path | None) -> tuple[dict[str, Any], ConfigContext]:
    if path is None:
        return {}, ConfigContext(source="<command line>", base_dir=Path.cwd(), key="")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("configuration file not found", source=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", source=str(path)) from None
    unknown = sorted(set(data) - {CONFIG_TABLE})
    if unknown:
        raise ConfigError(f"unknown table(s) {', '.join(unknown)} (expected [{CONFIG_TABLE}])",
                          source=str(path), key=unknown[0])
    table = data.get(CONFIG_TABLE, {})
    ctx = ConfigContext(source=str(path), base_dir=path.parent.resolve(), key=CONFIG_TABLE)
    return dict(table), ctx


def _from_sms_channel(campaign: Any, message_key: str) -> tuple[dict[str, Any],
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


def _policy_table(config: dict[str, Any], name: str) -> dict[str, Any]:
    policies = config.setdefault("policies", {})
    if not isinstance(policies, dict):
        raise ConfigError("expected a table of policy tables", key="sms_prepare.policies")
    table = policies.setdefault(name, {})
    if not isinstance(table, dict):
        raise ConfigError("expected a table", key=f"sms_prepare.policies.{name}")
    return table


@click.command("prepare")
@click.argument("campaign_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--message", "message_key", required=True, help="Key of the campaign message to send.")
@click.option("--audience", "audience", multiple=True, required=True,
              type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Audience CSV or .xlsx file (repeat for several files; deduplicated "
                   "across all).")
@click.option("--out-dir", type=click.Path(path_type=Path, file_okay=False), default=Path("."),
              show_default=True, help="Where prepared.csv, quarantine.csv and excluded.csv go.")
@click.option("--prepared", type=click.Path(path_type=Path, dir_okay=False),
              help="Prepared audience file [default: OUT_DIR/prepared.csv].")
@click.option("--quarantine", type=click.Path(path_type=Path, dir_okay=False),
              help="Quarantine file [default: OUT_DIR/quarantine.csv].")
@click.option("--excluded", type=click.Path(path_type=Path, dir_okay=False),
              help="Duplicates and suppressed rows [default: OUT_DIR/excluded.csv].")
@click.option("--config", "config_file", type=click.Path(path_type=Path, dir_okay=False),
              help=f"TOML file with an [{CONFIG_TABLE}] table (options below win).")
@click.option("--brandname", help="Registered brandname sender (at most 11 characters).")
@click.option("--max-segments", type=click.IntRange(min=1), help="Refuse texts needing more parts.")
@click.option("--unaccented/--accented", default=None,
              help="Send \"không dấu\" (diacritics removed) or with diacritics [default: accented].")
@click.option("--price", "prices", multiple=True, metavar="CARRIER=AMOUNT",
              help="Price of one SMS part for a carrier hint, or default=AMOUNT (repeatable).")
@click.option("--currency", help="Currency of the prices [default: VND].")
@click.option("--default", "defaults", multiple=True, metavar="FIELD=VALUE",
              help="Value for a template field a recipient lacks (repeatable).")
@click.option("--dnc", "dnc_files", multiple=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Do-Not-Call list file (repeatable).")
@click.option("--opt-out", "opt_out_files", multiple=True,
              type=click.Path(path_type=Path, dir_okay=False),
              help="Opt-out list file: numbers that refused this sender (repeatable).")
@click.option("--footer", help="Opt-out instruction ending every advertising SMS.")
@click.option("--label", help="Advertising label at the start [default: [QC]].")
@click.option("--history", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="CSV of earlier sends (msisdn,sent_at[,classification]) for the frequency cap.")
@click.option("--send-at", help="When the send is planned (ISO 8601; default: now).")
@click.option("--disable-policy", "disabled", multiple=True,
              help="Do not run this policy (recorded in the plan; repeatable).")
@click.option("--encoding", help="Force the audience files' encoding (default: detect).")
@click.option("--fallback-encoding", help="Encoding when a file is not UTF-8 [default: cp1258].")
@click.option("--delimiter", help="Force the CSV delimiter (default: sniff).")
@click.option("--phone-column", help="Name of the phone column (default: recognise aliases).")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.pass_obj
def prepare(
    runtime: Runtime, campaign_file: Path, message_key: str, audience: tuple[Path, ...],
    out_dir: Path, prepared: Path | None, quarantine: Path | None, excluded: Path | None,
    config_file: Path | None, brandname: str | None, max_segments: int | None,
    unaccented: bool | None, prices: tuple[str, ...], currency: str | None,
    defaults: tuple[str, ...], dnc_files: tuple[Path, ...], opt_out_files: tuple[Path, ...],
    footer: str | None, label: str | None, history: Path | None, send_at: str | None,
    disabled: tuple[str, ...], encoding: str | None, fallback_encoding: str | None,
    delimiter: str | None, phone_column: str | None, as_json: bool,
) -> None:
    """Prepare CAMPAIGN_FILE's message for the audience files and print the plan.

    Writes the prepared audience (valid recipients), the quarantine file (rows that
    cannot be used, with reasons) and the excluded file (duplicates, suppressed rows).
    Rows read = valid + quarantined + duplicates + suppressed.
    """
    campaign = runtime.load_campaign(campaign_file)
    try:
        message = campaign.message(message_key)
    except KeyError as exc:
        raise click.BadParameter(str(exc.args[0]), param_hint="--message") from None

    base, policy_contexts = _from_sms_channel(campaign, message_key)
    file_config, ctx = _load_config_file(config_file)
    file_policies = file_config.get("policies")
    for name in file_policies if isinstance(file_policies, dict) else ():
        policy_contexts.pop(name, None)  # the --config file's table wins, with its context
    config = _merge(base, file_config)
    overrides: dict[str, Any] = {
        "brandname": brandname, "max_segments": max_segments, "unaccented": unaccented,
        "currency": currency, "encoding": encoding, "fallback_encoding": fallback_encoding,
        "delimiter": delimiter, "phone_column": phone_column,
    }
    config.update({k: v for k, v in overrides.items() if v is not None})
    if prices:
        table = dict(config.get("prices", {}))
        for carrier, amount in _pairs(prices, "--price").items():
            try:
                table[carrier] = float(amount)
            except ValueError:
                raise click.BadParameter(f"{amount!r} is not a number", param_hint="--price") from None
        config["prices"] = table
    if defaults:
        config["defaults"] = {**config.get("defaults", {}), **_pairs(defaults, "--default")}
    if disabled:
        config["disable"] = [*config.get("disable", []), *disabled]
    for name, files in (("do_not_call", dnc_files), ("opt_out", opt_out_files)):
        if files:
            table = _policy_table(config, name)
            table["files"] = [*table.get("files", []), *(str(p.resolve()) for p in files)]
    if footer is not None:
        _policy_table(config, "opt_out_footer")["footer"] = footer
    if label is not None:
        _policy_table(config, "qc_label")["label"] = label
    prepare_config = PrepareConfig.from_config(config, ctx)

    now = runtime.clock.now()
    if send_at is not None:
        try:
            parsed = pendulum.parse(send_at, tz=LOCAL_TZ)
        except ValueError as exc:
            raise click.BadParameter(f"{send_at!r} is not ISO 8601 ({exc})",
                                     param_hint="--send-at") from None
        if not isinstance(parsed, pendulum.DateTime):
            raise click.BadParameter(f"{send_at!r} is not a date-time", param_hint="--send-at")
        now = parsed
    for name in set(policy_contexts) & _cli_policies(dnc_files, opt_out_files, footer, label):
        del policy_contexts[name]  # the table now holds command-line paths/values too
    selection = build_policies(runtime.registry, message, prepare_config, ctx, policy_contexts)
    notes: list[str] = []
    send_history: SendHistory
    if history is not None:
        send_history = CsvSendHistory.from_csv(history)
    else:
        send_history = CsvSendHistory.empty()
        if any(p.name == "frequency_cap" for p in selection.policies):
            notes.append("frequency_cap: no --history given; earlier sends counted as none")

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    out_dir.mkdir(parents=True, exist_ok=True)
    prepared = prepared or out_dir / "prepared.csv"
    quarantine = quarantine or out_dir / "quarantine.csv"
    excluded = excluded or out_dir / "excluded.csv"
    preparer = Preparer(message, selection, PolicyContext(now=now, history=send_history),
                        prepare_config, time_numbers=True)
    with (
        prepared.open("w", encoding="utf-8", newline="") as p_out,
        quarantine.open("w", encoding="utf-8", newline="") as q_out,
        excluded.open("w", encoding="utf-8", newline="") as e_out,
    ):
        plan = preparer.run(list(audience), p_out, q_out, e_out)
    plan.notes[:0] = notes
    plan.outputs.update(prepared=str(prepared), quarantine=str(quarantine), excluded=str(excluded))

    if as_json:
        click.echo(json.dumps(plan.as_dict(), indent=2, ensure_ascii=False))
    else:
        _print_plan(plan)


def _print_plan(plan: PreparePlan) -> None:
    data = plan.as_dict()
    # Piped output gets 120 columns rather than rich's 80, so tables are not wrapped.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
    msg = data["message"]
    console.print(f"[bold]SMS plan[/bold] for message [bold]{msg['key']}[/bold] "
                  f"({msg['classification']}) at {data['send_at']}")
    if plan.message.public_notice:
        console.print(f"  public_notice classified by {msg['classified_by']}: advertising "
                      f"rules skipped: {', '.join(msg['advertising_rules_skipped']) or 'none'}")
    console.print(f"  text: {msg['template']}")
    if plan.unaccented:
        console.print(f"  sent không dấu: {plain_text(plan.template)}")
    for decision in data["policies"]["message_decisions"]:
        if decision["action"] != "pass" or decision.get("exempt_by"):
            until = f" until {decision['until']}" if "until" in decision else ""
            console.print(f"  {decision['policy']}: {decision['action']}{until} — {decision['reason']}")

    totals = data["totals"]
    table = Table(title="Rows", show_header=True)
    table.add_column("bucket")
    table.add_column("rows", justify="right")
    table.add_row("read", f"{totals['rows_read']:,}")
    table.add_row("valid", f"{totals['valid']:,}")
    for code, count in data["quarantined_by_reason"].items():
        table.add_row(f"quarantined: {code}", f"{count:,}")
    table.add_row("duplicates", f"{totals['duplicates']:,}")
    for name, count in data["suppressed_by_policy"].items():
        table.add_row(f"suppressed by {name}", f"{count:,}")
    for name, held in data["held_by_policy"].items():
        table.add_row(f"(valid, held by {name} until ≤ {held['until_latest']})", f"{held['count']:,}")
    console.print(table)
    sums = "adds up" if totals["adds_up"] else "DOES NOT ADD UP"
    console.print(f"read {totals['rows_read']:,} = valid {totals['valid']:,} + quarantined "
                  f"{totals['quarantined']:,} + duplicates {totals['duplicates']:,} + suppressed "
                  f"{totals['suppressed']:,}: {sums}")

    carriers = Table(title="Carrier hints (prefix only: numbers can be ported)")
    carriers.add_column("carrier")
    carriers.add_column("recipients", justify="right")
    for carrier in Carrier:
        count = data["carrier_hints"].get(carrier.value)
        if count:
            carriers.add_row(carrier.value, f"{count:,}")
    console.print(carriers)

    cost = Table(title="Cost")
    cost.add_column("variant")
    cost.add_column("encodings")
    cost.add_column("parts per SMS")
    cost.add_column("total parts", justify="right")
    cost.add_column("cost", justify="right")
    alt = data["alternative"]
    for name, variant in (
        ("không dấu" if plan.unaccented else "with diacritics", data),
        ("with diacritics" if plan.unaccented else "không dấu", alt),
    ):
        money = variant["cost"]
        cost.add_row(
            name + (" (chosen)" if variant is data else ""),
            ", ".join(f"{k} {v:,}" for k, v in variant["encodings"].items()),
            ", ".join(f"{k}: {v:,}" for k, v in variant["segments_per_message"].items()),
            f"{variant['total_segments']:,}",
            f"{money['total']} {money['currency']}" if money else "(no --price)",
        )
    console.print(cost)
    for note in data["notes"]:
        console.print(f"note: {note}")
    outputs = data["outputs"]
    console.print(f"wrote {outputs.get('prepared')}, {outputs.get('quarantine')}, "
                  f"{outputs.get('excluded')}")


def register(sms_group: click.Group) -> None:
    """Add ``prepare`` to the ``sms`` group."""
    sms_group.add_command(prepare)
