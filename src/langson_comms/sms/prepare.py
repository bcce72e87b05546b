"""SMS preparation: raw subscriber lists and one campaign message → a counted send plan.

``Preparer.run`` streams every audience file once and puts each data row in exactly one
bucket, so the plan always adds up::

    rows read = valid + quarantined + duplicates + suppressed

* **quarantined** — the row cannot be used: undecodable line, misaligned cells, not a
  mobile number (with ``phonenumbers``'s or our reason), a landline, a template field
  missing for this recipient, too many SMS parts.  Written to the quarantine CSV.
* **duplicates** — a number already seen in this send (across all files).
* **suppressed** — a recipient policy (Do-Not-Call, opt-out, third-party) refused it;
  the policy is named.
* **valid** — written to the prepared audience file.  Some may be *held* (the frequency
  cap, or the whole message outside the sending window at ``send_at``); holds are
  reported, the send engine re-checks them when it sends.

Message policies (label, footer, sending window) are checked once on the message text;
their rewrites become the template.  A ``public_notice`` message skips the advertising
rules because an operator classified it: the plan records who, and which rules were
skipped, and a log line says so.

Memory is constant in the number of rows except for the dedupe set (one Python ``int``
per distinct valid number) and the suppression lists.
"""

from __future__ import annotations

import csv
import itertools
import logging
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import attrs
import pendulum

from ..config import ConfigContext
from ..errors import ConfigError
from ..messages import Message
from ..registry import Registry
from .audience import AudienceFile, AudienceRow, PreparedWriter, QuarantineWriter, open_audience
from .encoding import Encoding
from .numbers import Carrier, NumberNormalizer
from .policies import Action, Decision, PolicyContext, SmsItem
from .policy_selection import PolicySelection, select_policies
from .render import MessageRenderer, RenderError, RenderOptions

__all__ = [
    "EXCLUDED_COLUMNS",
    "PrepareConfig",
    "PreparePlan",
    "PolicySelection",
    "Preparer",
    "build_policies",
]

logger = logging.getLogger(__name__)

EXCLUDED_COLUMNS = ("source_file", "source_line", "msisdn", "status", "policy", "reason")


@attrs.frozen
class PrepareConfig:
    """The ``[sms_prepare]``-style table (every key also has a CLI option).

    ``prices`` maps a carrier hint (or ``default``) to the price of one SMS part;
    ``policies`` holds one table per policy name; ``disable`` names policies that must
    not run (recorded in the plan).
    """

    brandname: str | None = None
    max_segments: int | None = None
    unaccented: bool = False
    prices: dict[str, float] = attrs.field(factory=dict)
    currency: str = "VND"
    defaults: dict[str, str] = attrs.field(factory=dict)
    encoding: str | None = None
    fallback_encoding: str = "cp1258"
    delimiter: str | None = None
    phone_column: str | None = None
    policies: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    disable: list[str] = attrs.field(factory=list)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: ConfigContext) -> PrepareConfig:
        table = context.structure(config, cls)
        for carrier in table.prices:
            if carrier != "default" and carrier not in Carrier.__members__.values():
                raise context.error(
                    f"{carrier!r} is not a carrier (expected default or one of "
                    f"{', '.join(c.value for c in Carrier)})", f"prices.{carrier}")
        for carrier, price in table.prices.items():
            if price < 0:
                raise context.error("a price cannot be negative", f"prices.{carrier}")
        if table.max_segments is not None and table.max_segments < 1:
            raise context.error("must be at least 1", "max_segments")
        if table.delimiter is not None and len(table.delimiter) != 1:
            raise context.error("must be one character", "delimiter")
        try:
            RenderOptions(brandname=table.brandname)
        except ConfigError as exc:
            raise context.error(exc.message, "brandname") from None
        return table

    def render_options(self) -> RenderOptions:
        return RenderOptions(
            unaccented=self.unaccented, brandname=self.brandname,
            max_segments=self.max_segments, defaults=dict(self.defaults),
        )

    def price_table(self) -> dict[str, Decimal]:
        return {k: Decimal(str(v)) for k, v in self.prices.items()}


def build_policies(
    registry: Registry, message: Message, config: PrepareConfig, context: ConfigContext,
    policy_contexts: Mapping[str, ConfigContext] | None = None,
) -> PolicySelection:
    """The policies for ``message`` from ``config.policies`` and ``config.disable``: the
    same ``select_policies`` the send engine uses (see ``sms.policy_selection``).

    ``policy_contexts`` gives the context of a policy table that came from elsewhere
    (e.g. the campaign file's ``[channels.sms.policies]``), for its paths and errors.
    """
    return select_policies(registry, message, config.policies, context.child("policies"),
                           disable=config.disable, disable_context=context.child("disable"),
                           table_contexts=policy_contexts)


@attrs.define
class PreparePlan:
    """The counted result of a preparation; ``as_dict`` is the ``--json`` output."""

    message: Message
    template: str
    send_at: pendulum.DateTime
    unaccented: bool
    brandname: str | None
    files: list[AudienceFile] = attrs.field(factory=list)
    rows_read: int = 0
    valid: int = 0
    duplicates: int = 0
    quarantined: Counter[str] = attrs.field(factory=Counter)
    suppressed: Counter[str] = attrs.field(factory=Counter)
    held: Counter[str] = attrs.field(factory=Counter)
    held_until: dict[str, pendulum.DateTime] = attrs.field(factory=dict)
    carriers: Counter[str] = attrs.field(factory=Counter)
    encodings: Counter[str] = attrs.field(factory=Counter)
    segments: Counter[int] = attrs.field(factory=Counter)
    segments_by_carrier: Counter[str] = attrs.field(factory=Counter)
    alternative_encodings: Counter[str] = attrs.field(factory=Counter)
    alternative_segments: Counter[int] = attrs.field(factory=Counter)
    alternative_by_carrier: Counter[str] = attrs.field(factory=Counter)
    message_decisions: list[Decision] = attrs.field(factory=list)
    exempt: tuple[str, ...] = ()
    disabled: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()
    prices: dict[str, Decimal] = attrs.field(factory=dict)
    currency: str = "VND"
    outputs: dict[str, str] = attrs.field(factory=dict)
    notes: list[str] = attrs.field(factory=list)
    seconds_total: float = 0.0
    seconds_numbers: float | None = None
    dedupe_numbers: int = 0
    dedupe_bytes: int = 0

    @property
    def total_quarantined(self) -> int:
        return sum(self.quarantined.values())

    @property
    def total_suppressed(self) -> int:
        return sum(self.suppressed.values())

    @property
    def adds_up(self) -> bool:
        return self.rows_read == (self.valid + self.total_quarantined + self.duplicates
                                  + self.total_suppressed)

    @property
    def total_segments(self) -> int:
        return sum(k * v for k, v in self.segments.items())

    @property
    def alternative_total_segments(self) -> int:
        return sum(k * v for k, v in self.alternative_segments.items())

    def cost(self, by_carrier: Mapping[str, int]) -> tuple[Decimal, dict[str, Decimal]] | None:
        if not self.prices:
            return None
        parts: dict[str, Decimal] = {}
        for carrier, count in by_carrier.items():
            price = self.prices.get(carrier, self.prices.get("default"))
            if price is None:
                raise ConfigError(
                    f"no price for carrier {carrier!r} and no default price", key="prices")
            parts[carrier] = price * count
        return sum(parts.values(), Decimal(0)), parts

    @property
    def classification_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"classification": str(self.message.classification)}
        if self.message.public_notice:
            record["classified_by"] = self.message.classified_by
            record["advertising_rules_skipped"] = list(self.exempt)
        return record

    def as_dict(self) -> dict[str, Any]:
        def money(value: Decimal) -> str:
            return format(value.normalize(), "f")

        def cost_dict(by_carrier: Mapping[str, int]) -> dict[str, Any] | None:
            found = self.cost(by_carrier)
            if found is None:
                return None
            total, parts = found
            return {"currency": self.currency, "total": money(total),
                    "by_carrier": {k: money(v) for k, v in sorted(parts.items())}}

        return {
            "message": {
                "key": self.message.key,
                **self.classification_record,
                "template": self.template,
                "unaccented": self.unaccented,
                "brandname": self.brandname,
            },
            "send_at": self.send_at.isoformat(),
            "policies": {
                "applied": list(self.policies),
                "exempt": list(self.exempt),
                "disabled": list(self.disabled),
                "message_decisions": [
                    {"policy": d.policy, "action": str(d.action), "reason": d.reason,
                     **({"until": d.until.isoformat()} if d.until else {}),
                     **({"exempt_by": d.exempt_by} if d.exempt_by else {})}
                    for d in self.message_decisions
                ],
            },
            "files": [f.as_dict() for f in self.files],
            "totals": {
                "rows_read": self.rows_read,
                "valid": self.valid,
                "quarantined": self.total_quarantined,
                "duplicates": self.duplicates,
                "suppressed": self.total_suppressed,
                "adds_up": self.adds_up,
            },
            "quarantined_by_reason": dict(sorted(self.quarantined.items())),
            "suppressed_by_policy": dict(sorted(self.suppressed.items())),
            "held_by_policy": {
                name: {"count": count, "until_latest": self.held_until[name].isoformat()}
                for name, count in sorted(self.held.items())
            },
            "carrier_hints": dict(sorted(self.carriers.items())),
            "encodings": dict(sorted(self.encodings.items())),
            "segments_per_message": {str(k): v for k, v in sorted(self.segments.items())},
            "total_segments": self.total_segments,
            "cost": cost_dict(self.segments_by_carrier),
            "alternative": {
                "unaccented": not self.unaccented,
                "encodings": dict(sorted(self.alternative_encodings.items())),
                "segments_per_message": {
                    str(k): v for k, v in sorted(self.alternative_segments.items())},
                "total_segments": self.alternative_total_segments,
                "cost": cost_dict(self.alternative_by_carrier),
            },
            "outputs": dict(self.outputs),
            "notes": list(self.notes),
            "memory": {"dedupe_numbers": self.dedupe_numbers,
                       "dedupe_mb": round(self.dedupe_bytes / 2**20, 1)},
            "seconds": {"total": round(self.seconds_total, 3),
                        **({"phone_validation": round(self.seconds_numbers, 3)}
                           if self.seconds_numbers is not None else {})},
        }


class Preparer:
    """Prepares one message for a set of audience files (see the module docstring)."""

    def __init__(
        self,
        message: Message,
        policies: PolicySelection,
        context: PolicyContext,
        config: PrepareConfig | None = None,
        *,
        normalizer: NumberNormalizer | None = None,
        time_numbers: bool = False,
    ) -> None:
        self.message = message
        self.selection = policies
        self.context = context
        self.config = config or PrepareConfig()
        self.normalizer = normalizer or NumberNormalizer()
        self.time_numbers = time_numbers

    def run(
        self,
        audience: Sequence[str | Path],
        prepared: IO[str],
        quarantine: IO[str],
        excluded: IO[str] | None = None,
        *,
        names: Sequence[str] | None = None,
    ) -> PreparePlan:
        """Stream ``audience`` files into ``prepared``/``quarantine`` (and ``excluded``:
        duplicates and suppressed rows); return the plan.  ``names`` are how the files
        are named in the outputs (default: the paths as given)."""
        started = time.perf_counter()
        config = self.config
        message = self.message
        plan = PreparePlan(
            message=message, template=message.text, send_at=self.context.now,
            unaccented=config.unaccented, brandname=config.brandname,
            exempt=self.selection.exempt, disabled=self.selection.disabled,
            policies=tuple(p.name for p in self.selection.policies),
            prices=config.price_table(), currency=config.currency,
        )
        self.selection.log(logger, message, "the operator")
        for name in self.selection.disabled:
            plan.notes.append(f"policy {name} disabled by the operator")

        # 1. Message-wide policies, once: rewrites (label, footer) become the template.
        whole = self.selection.policies.of_scope("message").evaluate(
            SmsItem(message, message.text), self.context)
        plan.message_decisions = list(whole.decisions)
        plan.template = whole.text
        held_all: Decision | None = None
        suppressed_all: Decision | None = None
        if whole.action is Action.SUPPRESS:
            suppressed_all = whole.deciding
        elif whole.action is Action.HOLD:
            held_all = whole.deciding
        recipient_policies = self.selection.policies.of_scope("recipient")
        run_recipient = bool(recipient_policies.policies)
        screen = recipient_policies.screen

        rendered_message = attrs.evolve(message, text=whole.text)
        options = config.render_options()
        renderer = MessageRenderer(rendered_message, options)
        alternative = MessageRenderer(
            rendered_message, attrs.evolve(options, unaccented=not options.unaccented,
                                           max_segments=None))

        # 2. Open every file (headers now) so the prepared file knows all field names.
        files: list[tuple[AudienceFile, Iterator[AudienceRow]]] = []
        names = list(names) if names is not None else [str(p) for p in audience]
        for path, name in zip(audience, names, strict=True):
            info, rows = open_audience(
                path, encoding=config.encoding, fallback_encoding=config.fallback_encoding,
                delimiter=config.delimiter, phone_column=config.phone_column,
                normalizer=self.normalizer, source=name)
            missing = sorted(renderer.fields - set(info.fields) - set(options.defaults))
            if missing and info.header:
                raise ConfigError(
                    f"message {message.key!r} uses {', '.join('{' + m + '}' for m in missing)} "
                    f"but {name} has no such column (its fields: "
                    f"{', '.join(info.fields) or 'none'}); add the column or a default",
                    source=name, line=1)
            files.append((info, rows))
            plan.files.append(info)
        all_fields = list(dict.fromkeys(f for info, _ in files for f in info.fields))

        # 3. Stream the rows.
        out = PreparedWriter(prepared, all_fields)
        bad = QuarantineWriter(quarantine)
        other = _ExcludedWriter(excluded) if excluded is not None else None
        seen: set[int] = set()
        normalize = self.normalizer.normalize
        clock = time.perf_counter
        number_seconds = 0.0
        timing = self.time_numbers
        ctx = self.context
        quarantined, suppressed = plan.quarantined, plan.suppressed
        rewrites = 0
        combos: Counter[tuple[str, Encoding, int, Encoding, int]] = Counter()
        for _info, rows in files:
            for row in rows:
                plan.rows_read += 1
                if row.problem is not None:
                    quarantined[row.problem_code or "bad_row"] += 1
                    bad.write(row.source, row.line, row.raw, row.problem_code or "bad_row",
                              row.problem)
                    continue
                if timing:
                    t0 = clock()
                    number = normalize(row.raw)
                    number_seconds += clock() - t0
                else:
                    number = normalize(row.raw)
                msisdn = number.e164
                if number.reason is not None or msisdn is None:
                    code = number.code or "invalid_number"
                    quarantined[code] += 1
                    bad.write(row.source, row.line, row.raw, code, number.reason or "invalid")
                    continue
                key = int(msisdn[3:])
                if key in seen:
                    plan.duplicates += 1
                    if other is not None:
                        other.write(row.source, row.line, msisdn, "duplicate", "",
                                    "number already in this send")
                    continue
                seen.add(key)
                try:
                    sms = renderer.render(row.fields, source=row.source, line=row.line)
                except RenderError as exc:
                    quarantined[exc.code] += 1
                    bad.write(row.source, row.line, row.raw, exc.code, exc.message)
                    continue
                if suppressed_all is not None:
                    suppressed[suppressed_all.policy] += 1
                    if other is not None:
                        other.write(row.source, row.line, msisdn, "suppressed",
                                    suppressed_all.policy, suppressed_all.reason)
                    continue
                held_by: Decision | None = held_all
                if run_recipient:
                    decision, text = screen(SmsItem(message, sms.text, msisdn, row.fields), ctx)
                    if decision is not None:
                        if decision.action is Action.SUPPRESS:
                            suppressed[decision.policy] += 1
                            if other is not None:
                                other.write(row.source, row.line, msisdn, "suppressed",
                                            decision.policy, decision.reason)
                            continue
                        if held_by is None or decision.until > held_by.until:  # type: ignore[operator]
                            held_by = decision
                    if text is not sms.text and text != sms.text:
                        rewrites += 1
                if held_by is not None and held_by.until is not None:
                    plan.held[held_by.policy] += 1
                    latest = plan.held_until.get(held_by.policy)
                    if latest is None or held_by.until > latest:
                        plan.held_until[held_by.policy] = held_by.until
                carrier = number.carrier_hint.value
                cost = sms.cost
                alt = alternative.cost(row.fields)
                # one counter update per row; split into the plan's counters at the end
                combos[(carrier, cost.encoding, cost.segments, alt.encoding, alt.segments)] += 1
                out.write(msisdn, carrier, row.source, row.line, row.fields)
        for (carrier, enc, parts, alt_enc, alt_parts), count in combos.items():
            plan.valid += count
            plan.carriers[carrier] += count
            plan.encodings[enc.value] += count
            plan.segments[parts] += count
            plan.segments_by_carrier[carrier] += parts * count
            plan.alternative_encodings[alt_enc.value] += count
            plan.alternative_segments[alt_parts] += count
            plan.alternative_by_carrier[carrier] += alt_parts * count
        for info in plan.files:
            if info.rows == 0:
                empty = (f"{info.source}: no data rows (the audience is empty"
                         f"{'' if info.header else ', not even a header'})")
                plan.notes.append(empty)
                logger.warning("%s", empty)
        if rewrites:
            plan.notes.append(
                f"recipient policies rewrote {rewrites} texts after rendering; costs are of "
                "the texts before those rewrites")
        # The one structure that grows with the audience: the set table and its ints.
        plan.dedupe_numbers = len(seen)
        plan.dedupe_bytes = sys.getsizeof(seen) + sum(map(sys.getsizeof, itertools.islice(
            seen, 1000))) * len(seen) // max(1, min(len(seen), 1000))
        plan.seconds_total = time.perf_counter() - started
        plan.seconds_numbers = number_seconds if timing else None
        if not plan.adds_up:  # pragma: no cover - a bug, not bad input
            raise AssertionError(f"preparation lost rows: {plan.as_dict()['totals']}")
        return plan


class _ExcludedWriter:
    def __init__(self, handle: IO[str]) -> None:
        self._writer = csv.writer(handle, lineterminator="\n")
        self._writer.writerow(EXCLUDED_COLUMNS)

    def write(self, source: str, line: int, msisdn: str, status: str, policy: str,
              reason: str) -> None:
        self._writer.writerow((source, line, msisdn, status, policy, reason))
