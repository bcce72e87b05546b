"""``langson-comms sms prepare``: audience files + a campaign message → a counted send plan.

Options can also come from a TOML file (``--config``) holding an ``[sms_prepare]`` table;
options given on the command line win.  Every key and option is documented in
docs/sms-preparation.md.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import pendulum
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .. import api
from ..api.sms_prepare import CONFIG_TABLE, _load_config_file
from ..clock import LOCAL_TZ
from ..runtime import Runtime
from ..sms.encoding import plain_text
from ..sms.numbers import Carrier
from ..sms.prepare import PreparePlan
from .options import api_flags, campaign_option

__all__ = ["prepare", "register"]

_ = _load_config_file  # still importable from here (tests/core/test_campaign_file_limits.py)

#: the API's parameter names as ``sms prepare``'s options
FLAGS = {"message": "--message", "audience": "--audience", "prepared": "--prepared",
         "quarantine": "--quarantine", "excluded": "--excluded",
         "options.config_file": "--config", "options.history": "--history"}


def _pairs(values: Sequence[str], option: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", param_hint=option)
        result[key.strip()] = rest.strip()
    return result


@click.command("prepare")
@campaign_option(positional=True)
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
    runtime: Runtime, campaign: Path, message_key: str, audience: tuple[Path, ...],
    out_dir: Path, prepared: Path | None, quarantine: Path | None, excluded: Path | None,
    config_file: Path | None, brandname: str | None, max_segments: int | None,
    unaccented: bool | None, prices: tuple[str, ...], currency: str | None,
    defaults: tuple[str, ...], dnc_files: tuple[Path, ...], opt_out_files: tuple[Path, ...],
    footer: str | None, label: str | None, history: Path | None, send_at: str | None,
    disabled: tuple[str, ...], encoding: str | None, fallback_encoding: str | None,
    delimiter: str | None, phone_column: str | None, as_json: bool,
) -> None:
    """Prepare the campaign's message for the audience files and print the plan.

    Writes the prepared audience (valid recipients), the quarantine file (rows that
    cannot be used, with reasons) and the excluded file (duplicates, suppressed rows).
    Rows read = valid + quarantined + duplicates + suppressed.
    """
    loaded = runtime.load_campaign(campaign)
    try:
        loaded.message(message_key)
    except KeyError as exc:
        raise click.BadParameter(str(exc.args[0]), param_hint="--message") from None
    options = api.PrepareOptions(
        config_file=config_file, brandname=brandname, max_segments=max_segments,
        unaccented=unaccented, prices=_prices(prices), currency=currency,
        defaults=_pairs(defaults, "--default"), dnc_files=dnc_files,
        opt_out_files=opt_out_files, footer=footer, label=label, history=history,
        send_at=_send_at(send_at), disabled=disabled, encoding=encoding,
        fallback_encoding=fallback_encoding, delimiter=delimiter, phone_column=phone_column)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    with api_flags(FLAGS):
        plan = api.prepare_audience(loaded, message_key, audience, out_dir=out_dir,
                                    prepared=prepared, quarantine=quarantine,
                                    excluded=excluded, options=options, runtime=runtime)
    if as_json:
        click.echo(json.dumps(plan.as_dict(), indent=2, ensure_ascii=False))
    else:
        _print_plan(plan)


def _prices(values: Sequence[str]) -> dict[str, float]:
    table = {}
    for carrier, amount in _pairs(values, "--price").items():
        try:
            table[carrier] = float(amount)
        except ValueError:
            raise click.BadParameter(f"{amount!r} is not a number", param_hint="--price") from None
    return table


def _send_at(value: str | None) -> pendulum.DateTime | None:
    if value is None:
        return None
    try:
        parsed = pendulum.parse(value, tz=LOCAL_TZ)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not ISO 8601 ({exc})",
                                 param_hint="--send-at") from None
    if not isinstance(parsed, pendulum.DateTime):
        raise click.BadParameter(f"{value!r} is not a date-time", param_hint="--send-at")
    return parsed


def _print_plan(plan: PreparePlan) -> None:
    data = plan.as_dict()
    # Piped output gets 120 columns rather than rich's 80, so tables are not wrapped.
    # Message text, reasons and paths are the user's: printed as they are, never as markup.
    console = Console(highlight=False, markup=False,
                      width=None if sys.stdout.isatty() else 120)
    msg = data["message"]
    console.print(Text.assemble(("SMS plan", "bold"), " for message ", (msg["key"], "bold"),
                                f" ({msg['classification']}) at {data['send_at']}"))
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

    _print_carriers_and_cost(console, plan, data)


def _print_carriers_and_cost(console: Console, plan: PreparePlan, data: dict[str, Any]) -> None:
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
