"""Compliance policies: each one passes, holds, suppresses or rewrites one outgoing SMS.

A policy is a plugin class (contributed by ``register_policies``) with a unique
``name``, a ``from_config(config, context)`` classmethod, and ``check(item, ctx)``,
which returns a ``Decision`` that always names the policy.  ``check`` is pure: the time
comes in ``ctx.now`` and earlier sends in ``ctx.history``, never from the system, so the
SMS preparation (``sms prepare``) and the send engine call the same code.

Advertising rules (``advertising_rule = True``: sending window, frequency cap, ``[QC]``
label, opt-out footer, Do-Not-Call) do not apply to a message an operator classified as
``public_notice``; ``check`` then returns an *exempt* decision naming who classified it,
so the skip is on record.  Subclasses implement ``decide``, not ``check``.

``scope`` says what a policy looks at: ``"message"`` policies depend only on the text
and the time (the label, the footer, the sending window) and can be checked once per
message; ``"recipient"`` policies depend on the number (lists, send history).
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol, Self, runtime_checkable

import attrs
import pendulum

from ..clock import LOCAL_TZ
from ..config import ConfigContext
from ..errors import DataError, PolicyError
from ..messages import Message
from ..tabular import RejectedRow, read_table

__all__ = [
    "Action",
    "BatchSendHistory",
    "CsvSendHistory",
    "Decision",
    "Outcome",
    "Policy",
    "PolicyContext",
    "PolicySet",
    "Scope",
    "SendHistory",
    "SmsItem",
]

Scope = Literal["message", "recipient"]


class Action(enum.StrEnum):
    PASS = "pass"
    HOLD = "hold"
    SUPPRESS = "suppress"
    REWRITE = "rewrite"


def _aware(_: object, attribute: attrs.Attribute[Any], value: pendulum.DateTime | None) -> None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"{attribute.name} must be timezone-aware, got {value!r}")


@attrs.frozen
class Decision:
    """One policy's answer about one item; build with the classmethods.

    ``exempt_by`` is set when an advertising rule was skipped because the message is a
    ``public_notice`` (it holds the message's ``classified_by``).
    """

    policy: str
    action: Action
    reason: str = ""
    until: pendulum.DateTime | None = attrs.field(default=None, validator=_aware)
    text: str | None = None
    exempt_by: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.action is Action.HOLD and self.until is None:
            raise ValueError(f"{self.policy}: a hold needs 'until'")
        if self.action is Action.REWRITE and self.text is None:
            raise ValueError(f"{self.policy}: a rewrite needs 'text'")

    @classmethod
    def passed(cls, policy: str, reason: str = "") -> Decision:
        return _passed(policy, reason)

    @classmethod
    def hold(cls, policy: str, until: pendulum.DateTime, reason: str) -> Decision:
        return cls(policy, Action.HOLD, reason, until=until)

    @classmethod
    def suppress(cls, policy: str, reason: str) -> Decision:
        return cls(policy, Action.SUPPRESS, reason)

    @classmethod
    def rewrite(cls, policy: str, text: str, reason: str) -> Decision:
        return cls(policy, Action.REWRITE, reason, text=text)

    @classmethod
    def exempt(cls, policy: str, classified_by: str) -> Decision:
        return cls(
            policy, Action.PASS,
            f"advertising rule skipped: message classified public_notice by {classified_by}",
            exempt_by=classified_by,
        )

    @property
    def is_exempt(self) -> bool:
        return self.exempt_by is not None

    def describe(self) -> str:
        extra = f" until {self.until.isoformat()}" if self.until is not None else ""
        return f"{self.policy}: {self.action}{extra}" + (f" ({self.reason})" if self.reason else "")


@functools.lru_cache(maxsize=1024)
def _passed(policy: str, reason: str) -> Decision:
    # Decisions are immutable; the send engine and preparation ask for millions of passes.
    return Decision(policy, Action.PASS, reason)


@attrs.frozen
class SmsItem:
    """One SMS to check: the campaign message, its text as it would go out, and the
    recipient (E.164; ``None`` when a message is checked as a whole)."""

    message: Message
    text: str
    msisdn: str | None = None
    fields: Mapping[str, str] = attrs.field(factory=dict)


@runtime_checkable
class SendHistory(Protocol):
    """Earlier sends, as the frequency cap needs them."""

    def count_promotional(self, msisdn: str, since: pendulum.DateTime) -> int:
        """How many promotional SMS went to ``msisdn`` (E.164) at or after ``since``."""
        ...


@runtime_checkable
class TimedSendHistory(SendHistory, Protocol):
    """A history that can also list times, so a hold can end exactly when a slot frees."""

    def promotional_times(self, msisdn: str, since: pendulum.DateTime) -> Sequence[
        pendulum.DateTime
    ]:
        """The send times (aware, ascending) of promotional SMS to ``msisdn`` since ``since``."""
        ...


@runtime_checkable
class BatchSendHistory(SendHistory, Protocol):
    """A history that can count for many numbers at once (the ledger's, per claim)."""

    def promotional_counts(self, msisdns: Sequence[str], since: pendulum.DateTime) -> Mapping[
        str, int
    ]:
        """Promotional SMS per number since ``since``; numbers with none may be absent."""
        ...


@attrs.frozen
class PolicyContext:
    """What a policy may know besides the item: the time (injected) and the send history."""

    now: pendulum.DateTime = attrs.field(validator=_aware)
    history: SendHistory | None = None


class Policy:
    """Base of compliance policies.  Subclasses set ``name`` and implement ``decide``.

    ``from_config`` builds the policy from its configuration table; the default accepts
    only an empty table.  Override it (using ``context.structure``) for options.
    """

    name: ClassVar[str]
    advertising_rule: ClassVar[bool] = False
    scope: ClassVar[Scope] = "recipient"

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: ConfigContext) -> Self:
        if config:
            raise context.error(
                f"policy {cls.name!r} takes no options (got {', '.join(sorted(config))})"
            )
        return cls()

    def check(self, item: SmsItem, ctx: PolicyContext) -> Decision:
        """Decide about ``item``; advertising rules exempt a ``public_notice`` on record."""
        message = item.message
        if self.advertising_rule and message.public_notice:
            return Decision.exempt(self.name, message.classified_by or "?")
        return self.decide(item, ctx)

    def decide(self, item: SmsItem, ctx: PolicyContext) -> Decision:
        raise NotImplementedError(f"policy {type(self).__qualname__} must implement decide()")

    def check_batch(self, message: Message, texts: Sequence[str], msisdns: Sequence[str],
                    fields: Sequence[Mapping[str, str] | None],
                    ctx: PolicyContext) -> dict[int, Decision]:
        """``check`` for many recipients of ``message`` at once (the send engine asks per
        claimed batch): the decisions that are *not* plain passes, by index.  An exempt
        advertising rule passes everyone.  Do not override; override ``decide_batch``."""
        if self.advertising_rule and message.public_notice:
            return {}
        return self.decide_batch(message, texts, msisdns, fields, ctx)

    def decide_batch(self, message: Message, texts: Sequence[str], msisdns: Sequence[str],
                     fields: Sequence[Mapping[str, str] | None],
                     ctx: PolicyContext) -> dict[int, Decision]:
        """The non-pass decisions for a batch, by index.  The default asks ``decide`` per
        item; a policy overrides it when it can decide a whole batch faster (a set
        lookup, one history query) — it must answer exactly as ``decide`` would."""
        found: dict[int, Decision] = {}
        decide, name = self.decide, self.name
        for i, msisdn in enumerate(msisdns):
            decision = decide(SmsItem(message, texts[i], msisdn, fields[i] or {}), ctx)
            if decision.action is not _PASS or decision.policy != name:
                found[i] = decision
        return found

    def __repr__(self) -> str:
        return f"<policy {self.name}>"


@attrs.frozen
class Outcome:
    """All policies' verdict on one item: the final action, the text, every decision."""

    action: Action
    text: str
    decisions: tuple[Decision, ...]
    until: pendulum.DateTime | None = None

    @property
    def deciding(self) -> Decision | None:
        """The decision that suppressed or (latest) held the item, if any."""
        for decision in self.decisions:
            if decision.action is Action.SUPPRESS:
                return decision
        holds = [d for d in self.decisions if d.action is Action.HOLD]
        return max(holds, key=lambda d: d.until) if holds else None  # type: ignore[arg-type,return-value]


class PolicySet:
    """Policies applied in order: rewrites feed the next policy, a suppression stops,
    holds add up to the latest ``until``."""

    def __init__(self, policies: Iterable[Policy]) -> None:
        self.policies = tuple(policies)

    def __iter__(self) -> Iterator[Policy]:
        return iter(self.policies)

    def of_scope(self, scope: Scope) -> PolicySet:
        return PolicySet(p for p in self.policies if p.scope == scope)

    def evaluate(self, item: SmsItem, ctx: PolicyContext) -> Outcome:
        decisions: list[Decision] = []
        until: pendulum.DateTime | None = None
        rewritten = False
        for policy in self.policies:
            decision = policy.check(item, ctx)
            if decision.policy != policy.name:
                raise PolicyError(
                    f"returned a decision naming {decision.policy!r}", policy=policy.name
                )
            decisions.append(decision)
            action = decision.action
            if action is _PASS:
                continue
            if action is _SUPPRESS:
                return Outcome(Action.SUPPRESS, item.text, tuple(decisions))
            if action is _REWRITE:
                assert decision.text is not None
                item = attrs.evolve(item, text=decision.text)
                rewritten = True
            elif action is _HOLD:
                assert decision.until is not None
                until = decision.until if until is None else max(until, decision.until)
        if until is not None:
            return Outcome(Action.HOLD, item.text, tuple(decisions), until)
        return Outcome(_REWRITE if rewritten else _PASS, item.text, tuple(decisions))


    def screen(self, item: SmsItem, ctx: PolicyContext) -> tuple[Decision | None, str]:
        """``evaluate`` without the record, for hot loops: the deciding decision (the
        suppression, else the latest hold; ``None`` if the item may go now) and the text
        after rewrites.  Same order and rules as ``evaluate``."""
        held: Decision | None = None
        text = item.text
        for policy in self.policies:
            decision = policy.check(item, ctx)
            action = decision.action
            if decision.policy != policy.name:
                raise PolicyError(
                    f"returned a decision naming {decision.policy!r}", policy=policy.name
                )
            if action is _PASS:
                continue
            if action is _SUPPRESS:
                return decision, text
            if action is _REWRITE:
                assert decision.text is not None
                text = decision.text
                item = attrs.evolve(item, text=text)
            elif action is _HOLD and (held is None or decision.until > held.until):  # type: ignore[operator]
                held = decision
        return held, text


    def screen_batch(
        self, message: Message, texts: Sequence[str], msisdns: Sequence[str],
        fields: Sequence[Mapping[str, str] | None], ctx: PolicyContext,
    ) -> dict[int, tuple[Decision | None, str]]:
        """``screen`` for a batch of recipients: ``{index: (deciding, text)}`` for the
        items some policy did not simply pass (absent: may go now with its text).

        Each policy decides the whole batch at once (``Policy.check_batch``), so the
        all-pass path builds no per-item objects.  Same answers as ``screen``: the first
        suppression in policy order wins, else the latest hold; an item a policy
        *rewrote* is screened again item by item, so later policies see the new text."""
        found: dict[int, list[Decision]] = {}
        for policy in self.policies:
            for i, decision in policy.check_batch(message, texts, msisdns, fields, ctx).items():
                if decision.policy != policy.name:
                    raise PolicyError(
                        f"returned a decision naming {decision.policy!r}", policy=policy.name
                    )
                if decision.action is not _PASS:
                    found.setdefault(i, []).append(decision)
        out: dict[int, tuple[Decision | None, str]] = {}
        for i, decisions in found.items():
            if any(d.action is _REWRITE for d in decisions):
                out[i] = self.screen(SmsItem(message, texts[i], msisdns[i], fields[i] or {}), ctx)
                continue
            deciding = next((d for d in decisions if d.action is _SUPPRESS), None)
            if deciding is None:
                for d in decisions:  # holds only: the latest wins (the first on a tie)
                    if deciding is None or d.until > deciding.until:  # type: ignore[operator]
                        deciding = d
            out[i] = (deciding, texts[i])
        return out


_PASS, _HOLD, _SUPPRESS, _REWRITE = Action.PASS, Action.HOLD, Action.SUPPRESS, Action.REWRITE


# --- a send history from a CSV file --------------------------------------------------


class CsvSendHistory:
    """Earlier sends read from a CSV file until the dispatch ledger provides them.

    Columns: ``msisdn`` (any shape ``normalize`` accepts), ``sent_at`` (ISO 8601; without
    an offset it is Asia/Ho_Chi_Minh time) and optionally ``classification``
    (``promotional``, the default, or ``public_notice``, which is not counted).
    Times are kept as epoch seconds per number.
    """

    def __init__(self, times: Mapping[str, Sequence[int]]) -> None:
        self._times = {k: sorted(v) for k, v in times.items()}

    @classmethod
    def empty(cls) -> CsvSendHistory:
        return cls({})

    @classmethod
    def from_csv(cls, path: str | Path) -> CsvSendHistory:
        from .numbers import NumberNormalizer

        normalizer = NumberNormalizer()
        times: dict[str, list[int]] = {}
        source = str(path)
        with read_table(path, allow_unknown=True, source=source) as table:
            missing = {"msisdn", "sent_at"} - set(table.header)
            if missing:
                raise DataError(
                    f"send history needs columns msisdn and sent_at (missing: "
                    f"{', '.join(sorted(missing))})", source=source, line=table.header_line,
                )
            for item in table:
                if isinstance(item, RejectedRow):
                    raise item.error(source)
                row: Mapping[str, str | None] = item.values
                line = item.line
                kind = (row.get("classification") or "promotional").strip()
                if kind not in ("promotional", "public_notice"):
                    raise DataError(
                        f"classification {kind!r} is not promotional or public_notice",
                        source=source, line=line, column="classification", value=kind,
                    )
                number = normalizer(row["msisdn"] or "")
                if number.e164 is None:
                    raise DataError(f"not a phone number ({number.reason})", source=source,
                                    line=line, column="msisdn", value=row["msisdn"])
                try:
                    sent = pendulum.parse((row["sent_at"] or "").strip(), tz=LOCAL_TZ)
                except ValueError as exc:
                    raise DataError(f"not an ISO 8601 date-time ({exc})", source=source,
                                    line=line, column="sent_at", value=row["sent_at"]) from exc
                if not isinstance(sent, pendulum.DateTime):
                    raise DataError("expected a date-time, not a date or duration",
                                    source=source, line=line, column="sent_at",
                                    value=row["sent_at"])
                if kind == "promotional":
                    times.setdefault(number.e164, []).append(int(sent.timestamp()))
        return cls(times)

    def count_promotional(self, msisdn: str, since: pendulum.DateTime) -> int:
        return len(self.promotional_times(msisdn, since))

    def promotional_times(self, msisdn: str, since: pendulum.DateTime) -> list[pendulum.DateTime]:
        times = self._times.get(msisdn)
        if not times:
            return []
        floor = since.timestamp()
        return [pendulum.from_timestamp(t, tz=LOCAL_TZ) for t in times if t >= floor]

    def __len__(self) -> int:
        return sum(len(v) for v in self._times.values())
