"""Built-in SMS compliance policies: Decree 91/2020/NĐ-CP rules for advertising SMS.

Written as a third-party plugin would be (public API only).  Every rule here except
``opt_out`` is an *advertising rule*: it does not apply to a message an operator marked
``public_notice`` (the exemption is recorded by ``Policy.check``).

============== ======== =========== =================================================
name           scope    advertising  what it does
============== ======== =========== =================================================
sending_window message  yes         hold outside 07:00–22:00 Asia/Ho_Chi_Minh
frequency_cap  recipient yes        hold a number that had 3 promotional SMS in 24 h
qc_label       message  yes         rewrite: put ``[QC]`` at the start
opt_out_footer message  yes         rewrite: put the opt-out instruction at the end
do_not_call    recipient yes        suppress numbers on the Do-Not-Call list
opt_out        recipient no         suppress numbers that refused this sender's SMS
============== ======== =========== =================================================

Configuration keys are documented in docs/sms-preparation.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self

import attrs
import pendulum

from langson_comms import LOCAL_TZ, ConfigContext, PolicyError, hookimpl
from langson_comms.config import at_least
from langson_comms.messages import Message
from langson_comms.sms.audience import NumberList
from langson_comms.sms.policies import (
    BatchSendHistory,
    Decision,
    Policy,
    PolicyContext,
    Scope,
    SmsItem,
    TimedSendHistory,
)
from langson_comms.sms.render import add_footer, add_label

__all__ = [
    "DoNotCall",
    "FrequencyCap",
    "OptOut",
    "OptOutFooter",
    "QcLabel",
    "SendingWindow",
]


@attrs.frozen
class _WindowConfig:
    start: dt.time = dt.time(7, 0)
    end: dt.time = dt.time(22, 0)


class SendingWindow(Policy):
    """Advertising SMS only between ``start`` and ``end`` local time (07:00–22:00)."""

    name: ClassVar[str] = "sending_window"
    advertising_rule: ClassVar[bool] = True
    scope: ClassVar[Scope] = "message"

    def __init__(self, start: dt.time = dt.time(7, 0), end: dt.time = dt.time(22, 0)) -> None:
        if not start < end:
            raise ValueError(f"sending window start {start} must be before end {end}")
        self.start = start
        self.end = end

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: ConfigContext) -> Self:
        table = context.structure(config, _WindowConfig)
        if not table.start < table.end:
            raise context.error(f"start {table.start:%H:%M} must be before end {table.end:%H:%M}",
                                "end")
        return cls(table.start, table.end)

    def decide(self, item: SmsItem, ctx: PolicyContext) -> Decision:
        local = ctx.now.in_timezone(LOCAL_TZ)
        if self.start <= local.time() < self.end:
            return Decision.passed(self.name)
        day = local if local.time() < self.start else local.add(days=1)
        until = pendulum.datetime(day.year, day.month, day.day, self.start.hour,
                                  self.start.minute, tz=LOCAL_TZ)
        return Decision.hold(
            self.name, until,
            f"{local:%H:%M} is outside the advertising window "
            f"{self.start:%H:%M}–{self.end:%H:%M} {LOCAL_TZ}",
        )


@attrs.frozen
class _CapConfig:
    max_messages: int = attrs.field(default=3, validator=at_least(1))
    window_hours: int = attrs.field(default=24, validator=at_least(1))


class FrequencyCap(Policy):
    """At most ``max_messages`` promotional SMS per number per ``window_hours`` (3 per 24 h).

    Counts earlier sends in ``ctx.history``.  The hold ends when the oldest counted send
    leaves the window if the history can list times, else a whole window from now.
    """

    name: ClassVar[str] = "frequency_cap"
    advertising_rule: ClassVar[bool] = True
    scope: ClassVar[Scope] = "recipient"

    def __init__(self, max_messages: int = 3, window_hours: int = 24) -> None:
        self.max_messages = max_messages
        self.window_hours = window_hours
        self._since: tuple[pendulum.DateTime, pendulum.DateTime] | None = None

    def _window_start(self, now: pendulum.DateTime) -> pendulum.DateTime:
        # pendulum arithmetic costs ~15 µs; a send run asks with the same ``now`` many times.
        cached = self._since
        if cached is None or cached[0] != now:
            cached = self._since = (now, now.subtract(hours=self.window_hours))
        return cached[1]

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: ConfigContext) -> Self:
        table = context.structure(config, _CapConfig)
        if table.max_messages < 1:
            raise context.error("must be at least 1", "max_messages")
        if table.window_hours < 1:
            raise context.error("must be at least 1", "window_hours")
        return cls(table.max_messages, table.window_hours)

    def decide(self, item: SmsItem, ctx: PolicyContext) -> Decision:
        if item.msisdn is None:
            return Decision.passed(self.name, "checked per recipient")
        if ctx.history is None:
            raise PolicyError("needs a send history (ctx.history) to count earlier sends",
                              policy=self.name)
        since = self._window_start(ctx.now)
        count = ctx.history.count_promotional(item.msisdn, since)
        if count < self.max_messages:
            return Decision.passed(self.name)
        until = ctx.now.add(hours=self.window_hours)
        if isinstance(ctx.history, TimedSendHistory):
            times = sorted(ctx.history.promotional_times(item.msisdn, since))
            if len(times) >= self.max_messages:
                until = times[len(times) - self.max_messages].add(hours=self.window_hours)
        return Decision.hold(
            self.name, until,
            f"{count} promotional SMS in the last {self.window_hours} h "
            f"(at most {self.max_messages})",
        )


    def decide_batch(self, message: Message, texts: Sequence[str], msisdns: Sequence[str],
                     fields: Sequence[Mapping[str, str] | None],
                     ctx: PolicyContext) -> dict[int, Decision]:
        history = ctx.history
        if not isinstance(history, BatchSendHistory):
            return super().decide_batch(message, texts, msisdns, fields, ctx)
        # one count per number with earlier sends; Decisions only for the capped ones
        counts = history.promotional_counts(msisdns, self._window_start(ctx.now))
        capped = {m for m, n in counts.items() if n >= self.max_messages}
        if not capped:
            return {}
        return {i: self.decide(SmsItem(message, texts[i], m, fields[i] or {}), ctx)
                for i, m in enumerate(msisdns) if m in capped}


@attrs.frozen
class _LabelConfig:
    label: str = "[QC]"
    accept: list[str] = attrs.field(factory=lambda: ["[QC]", "[AD]"])


class QcLabel(Policy):
    """An advertising SMS starts with ``[QC]`` (``[AD]`` accepted); adds it if missing."""

    name: ClassVar[str] = "qc_label"
    advertising_rule: ClassVar[bool] = True
    scope: ClassVar[Scope] = "message"

    def __init__(self, label: str = "[QC]", accept: tuple[str, ...] = ("[QC]", "[AD]")) -> None:
        self.label = label
        self.accept = tuple(dict.fromkeys((label, *accept)))

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: ConfigContext) -> Self:
        table = context.structure(config, _LabelConfig)
        if not table.label.strip():
            raise context.error("must not be empty", "label")
        return cls(table.label, tuple(table.accept))

    def decide(self, item: SmsItem, ctx: PolicyContext) -> Decision:
        head = item.text.lstrip()
        if head.startswith(self.accept):
            return Decision.passed(self.name)
        return Decision.rewrite(self.name, add_label(item.text, self.label),
                                f"added {self.label!r} label at the start")


@attrs.frozen
class _FooterConfig:
    footer: str


class OptOutFooter(Policy):
    """An advertising SMS ends with the opt-out instruction; appends it if missing."""

    name: ClassVar[str] = "opt_out_footer"
    advertising_rule: ClassVar[bool] = True
    scope: ClassVar[Scope] = "message"

    def __init__(self, footer: str) -> None:
        if not footer.strip():
            raise ValueError("the opt-out footer must not be empty")
        self.footer = footer.strip()

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: ConfigContext) -> Self:
        if "footer" not in config:
            raise context.error(
                "required for promotional messages (Decree 91/2020): the opt-out instruction "
                "that ends every advertising SMS, e.g. 'Tu choi QC soan TC gui 1234' (a "
                "message that is not advertising is marked classification = "
                "\"public_notice\" with classified_by)", "footer")
        table = context.structure(config, _FooterConfig)
        if not table.footer.strip():
            raise context.error("must not be empty", "footer")
        return cls(table.footer)

    def decide(self, item: SmsItem, ctx: PolicyContext) -> Decision:
        if item.text.rstrip().endswith(self.footer):
            return Decision.passed(self.name)
        return Decision.rewrite(self.name, add_footer(item.text, self.footer),
                                "added the opt-out instruction at the end")


@attrs.frozen
class _ListConfig:
    files: list[str] = attrs.field(factory=list)


def _load_lists(policy: str, config: Mapping[str, Any], context: ConfigContext,
                required: bool) -> NumberList:
    table = context.structure(config, _ListConfig)
    if required and not table.files:
        raise context.error(
            f"required for promotional messages (Decree 91/2020): the "
            f"{policy.replace('_', '-')} list file(s) to suppress", "files")
    merged = NumberList(source=", ".join(table.files))
    for index, value in enumerate(table.files):
        path = context.resolve_file(value, f"files[{index}]")
        loaded = NumberList.from_file(path)
        merged.update(loaded)
    return merged


class _ListPolicy(Policy):
    scope: ClassVar[Scope] = "recipient"
    list_required: ClassVar[bool] = False
    what: ClassVar[str] = ""

    def __init__(self, numbers: NumberList) -> None:
        self.numbers = numbers

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: ConfigContext) -> Self:
        return cls(_load_lists(cls.name, config, context, cls.list_required))

    def decide(self, item: SmsItem, ctx: PolicyContext) -> Decision:
        if item.msisdn is not None and item.msisdn in self.numbers:
            return Decision.suppress(self.name, self.what)
        return Decision.passed(self.name)

    def decide_batch(self, message: Message, texts: Sequence[str], msisdns: Sequence[str],
                     fields: Sequence[Mapping[str, str] | None],
                     ctx: PolicyContext) -> dict[int, Decision]:
        hits = self.numbers.on_list(msisdns)
        if not hits:
            return {}
        decision = Decision.suppress(self.name, self.what)
        return dict.fromkeys(hits, decision)


class DoNotCall(_ListPolicy):
    """Numbers on the Do-Not-Call list (registered via 5656) get no advertising SMS."""

    name: ClassVar[str] = "do_not_call"
    advertising_rule: ClassVar[bool] = True
    list_required: ClassVar[bool] = True
    what: ClassVar[str] = "on the Do-Not-Call list"


class OptOut(_ListPolicy):
    """Numbers that refused this sender's SMS (TC/HUY replies) get none, notices included."""

    name: ClassVar[str] = "opt_out"
    advertising_rule: ClassVar[bool] = False
    what: ClassVar[str] = "opted out of this sender's SMS"


@hookimpl
def register_policies() -> list[type[Any]]:
    return [SendingWindow, FrequencyCap, QcLabel, OptOutFooter, DoNotCall, OptOut]
