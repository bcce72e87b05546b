"""Preparing claimed rows: rendering, the compliance policies, routing candidates."""

from __future__ import annotations

from collections.abc import Sequence

import pendulum

from ...errors import (
    DataError,
)
from ..encoding import Encoding, SmsCost
from ..gateway import OutgoingSms
from ..ledger import (
    QueuedSms,
    Result,
    SmsState,
    in_doubt_gateways,
    refused_gateways,
    routes_tried,
)
from ..ledger.records import IN_DOUBT
from ..policies import Action, Decision, PolicyContext, SmsItem
from ..render import RenderedSms
from .base import EngineBase
from .lanes import _Pending
from .settings import HISTORY_PREFETCH_SECONDS

_UCS2 = Encoding.UCS2


class Preparing(EngineBase):
    """Rows claimed → rows to send (or results to record)."""

    # -- preparing rows ----------------------------------------------------------------

    def _cost(self, text: str) -> SmsCost:
        return self._analyse(text)

    def _prepare(self, rows: Sequence[QueuedSms], now: pendulum.DateTime) -> list[_Pending]:
        """Render and check rows; returns the ones to send, records the others.

        Per claim, not per row where it can be: message-scope policies once per distinct
        text, recipient-scope policies once for the whole claim (``screen_batch``: set
        lookups and one history read, no per-row objects when everyone passes), routing
        candidates once per (carrier, encoding, parts)."""
        ctx = PolicyContext(now=now, history=self._history)
        deadline = self.send_by.timestamp() if self.send_by is not None else None
        held: list[Result] = []
        # 1. render and apply message-scope policies (cached per rendered text)
        live: list[QueuedSms] = []
        texts: list[str] = []
        costs: list[SmsCost] = []
        if self._render is not None:
            try:
                rendered = self._render()
            except DataError as exc:
                reason = f"render: {exc.message}"
                held.extend(Result(r.id, SmsState.FAILED, attempted=False, reason=reason)
                            for r in rows)
                self.stats["failed"] += len(rows)
                self._add(held)
                return []
            text, cost, deciding = self._message_verdict(rendered, ctx)
            if deciding is not None:
                for row in rows:
                    held.append(self._not_now(row, deciding, deadline))
                self._add(held)
                return []
            live = list(rows)
            texts = [text] * len(live)
            costs = [cost] * len(live)
        else:
            for row in rows:
                try:
                    rendered = self._render_fields(row.fields or {})
                except DataError as exc:
                    held.append(Result(row.id, SmsState.FAILED, attempted=False,
                                       reason=f"render: {exc.message}"))
                    self.stats["failed"] += 1
                    continue
                text, cost, deciding = self._message_verdict(rendered, ctx)
                if deciding is not None:
                    held.append(self._not_now(row, deciding, deadline))
                    continue
                live.append(row)
                texts.append(text)
                costs.append(cost)
        # 2. recipient-scope policies, for the whole claim at once
        verdicts: dict[int, tuple[Decision | None, str]] = {}
        if self._rcp_policies.policies and live:
            msisdns = [r.msisdn for r in live]
            # one query for the batch instead of one per row (the frequency cap asks)
            self._history.prefetch(msisdns, now.timestamp() - HISTORY_PREFETCH_SECONDS)
            try:
                verdicts = self._rcp_policies.screen_batch(
                    self.message, texts, msisdns, [r.fields for r in live], ctx)
            finally:
                self._history.clear()
        # 3. route; build what the lanes send
        ready: list[_Pending] = []
        routes = self._routes
        sender = self.sender
        for i, row in enumerate(live):
            text, cost = texts[i], costs[i]
            verdict = verdicts.get(i) if verdicts else None
            if verdict is not None:
                deciding, new_text = verdict
                if deciding is not None:
                    held.append(self._not_now(row, deciding, deadline))
                    continue
                if new_text != text:
                    text, cost = new_text, self._cost(new_text)
            key = (row.carrier_hint, cost)
            candidates = routes.get(key)
            if candidates is None:
                candidates = routes[key] = self._candidates(row.carrier_hint, cost)
            if row.routes_tried:  # gateways that said "not mine" never get it again
                refused = refused_gateways(row.routes_tried)
                left = tuple(g for g in candidates if g not in refused)
                if not left:
                    held.append(self._no_route(row, cost))
                    continue
                # a gateway that may have it already (an answer lost there) is the only
                # one it goes to again: never a second gateway too
                doubt = in_doubt_gateways(row.routes_tried)
                candidates = tuple(g for g in left if g in doubt) or left
            if not candidates:
                held.append(Result(row.id, SmsState.FAILED, attempted=False, segments=cost.segments,
                                   reason=f"no gateway takes this message ({cost.encoding}, "
                                          f"{cost.segments} parts) for carrier {row.carrier_hint}"))
                self.stats["failed"] += 1
                continue
            ready.append(_Pending(row, OutgoingSms(
                row.id, row.msisdn, text, cost.segments, cost.encoding is _UCS2,
                row.idempotency_key, sender), candidates))
        self._add(held)
        return ready

    def _message_verdict(self, rendered: RenderedSms, ctx: PolicyContext) -> tuple[
        str, SmsCost, Decision | None
    ]:
        """Message-scope policies for one rendered text (cached per text and ``now``):
        the text after rewrites, its cost, and the suppression or hold, if any."""
        key = (rendered.text, ctx.now)
        found = self._verdicts.get(key)
        if found is None:
            text, cost, deciding = rendered.text, rendered.cost, None
            if self._msg_policies.policies:
                outcome = self._msg_policies.evaluate(SmsItem(self.message, text), ctx)
                if outcome.action is Action.SUPPRESS or outcome.action is Action.HOLD:
                    deciding = outcome.deciding
                elif outcome.text != text:
                    text, cost = outcome.text, self._cost(outcome.text)
            if len(self._verdicts) > 1024:
                self._verdicts.clear()
            found = self._verdicts[key] = (text, cost, deciding)
        return found

    def _candidates(self, carrier_hint: str, cost: SmsCost) -> tuple[str, ...]:
        unicode = cost.encoding is _UCS2
        return tuple(
            gid for gid in self.routing.candidates(carrier_hint)
            if (not unicode or self.gateways[gid].capabilities.supports_unicode)
            and cost.segments <= self.gateways[gid].capabilities.max_parts
        )

    def _no_route(self, row: QueuedSms, cost: SmsCost) -> Result:
        """Every candidate gateway of ``row`` said it is not theirs: failed, with why."""
        self.stats["failed"] += 1
        self.stats["no_route"] += 1
        tried = ", ".join(f"{g}: {why}" for g, why in routes_tried(row.routes_tried)
                          if why != IN_DOUBT)
        refused = refused_gateways(row.routes_tried)
        unable = [g for g in self.routing.candidates(row.carrier_hint) if g not in refused]
        if unable:  # left out by _candidates: not Unicode, or too many parts
            tried += (f"; {', '.join(unable)} cannot take this message ({cost.encoding}, "
                      f"{cost.segments} parts)")
        return Result(row.id, SmsState.FAILED, attempted=False, segments=cost.segments,
                      reason=f"no_route: {tried}")

    def _not_now(self, row: QueuedSms, deciding: Decision, deadline: float | None) -> Result:
        """A policy suppressed or held ``row``: the result to record."""
        why = deciding.describe()
        if deciding.action is Action.SUPPRESS:
            self.stats["suppressed"] += 1
            return Result(row.id, SmsState.SUPPRESSED, attempted=False, reason=why)
        until = deciding.until
        assert until is not None
        if deadline is not None and until.timestamp() >= deadline:
            self.stats["expired"] += 1
            return Result(row.id, SmsState.EXPIRED, attempted=False,
                          reason=f"send-by deadline falls inside a hold: {why}")
        self.stats["held"] += 1
        return Result(row.id, SmsState.QUEUED, attempted=False, reason=why,
                      next_at=until.timestamp())
