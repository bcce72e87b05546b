"""``kind = "smpp"``: an SMPP 3.4 ESME (transceiver bind) on smpp34's Rust/tokio client.

One session per gateway, bound lazily on the first ``send`` and again after it is lost.
``send`` pipelines its batch: every message is submitted at once, at most ``window``
``submit_sm`` in flight over all batches (an asyncio semaphore; smpp34's own
``window_size`` is set to the same).  Each message gets its own ``SubmitResult``:

* ``command_status`` 0 → accepted with the ``submit_sm_resp`` message id;
* ``ESME_RTHROTTLED``/``ESME_RMSGQFUL`` → transient, ``retry_after = throttle_backoff``;
  ``ESME_RSYSERR``, ``ESME_RX_T_APPN``, ``ESME_RUNKNOWNERR``, ``ESME_RINVBNDSTS`` → transient;
* any other status (``ESME_RINVDSTADR``…) → permanent for that message;
* no ``submit_sm_resp`` within ``response_timeout``, or the session lost → transient
  (the session is dropped and bound again by the next ``send``).

When no message of a batch got through and every error is transient, ``send`` raises
that error for the whole batch (the engine then also backs its rate limiter off).
A bind that cannot be made raises for the whole batch: refused by the SMSC (wrong
system id or password…) → ``PermanentGatewayError`` with status 401, which stops the
engine with the rows still queued; no connection or no answer → transient.

Delivery receipts arrive on the same session as ``deliver_sm`` (smpp34 acknowledges
them); they are parsed (``receipts``) and buffered until ``poll_reports()`` hands them
to the engine's ``ReportPoller``.  SMPP has no idempotency key: a message whose answer
was lost (timeout, dropped session) may be sent twice when retried.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import random
import time
from collections.abc import Mapping, Sequence
from typing import Any, Self

import smpp34

from langson_comms.config import ConfigContext
from langson_comms.errors import GatewayError, PermanentGatewayError, TransientGatewayError
from langson_comms.sms import read_secret
from langson_comms.sms.gateway import OutgoingSms, SmsGateway, SubmitResult
from langson_comms.sms.ledger import DeliveryReport

from .bindprobe import probe_bind
from .coding import DC_UCS2, ESM_UDHI, MAX_UDH_PARTS, encode_text, part_count, udh_parts
from .config import LongMessages, SmppConfig
from .receipts import Receipt, UnreadableReceipt, is_receipt, parse_receipt
from .status import (
    BIND_REFUSED,
    RESESSION,
    THROTTLING,
    TLV_MESSAGE_PAYLOAD,
    TRANSIENT,
    status_name,
)

__all__ = ["BIND_REFUSED_STATUS", "SmppGateway"]

log = logging.getLogger(__name__)

#: The status of the error a refused bind raises: one of ``FATAL_STATUSES`` (the engine
#: stops sending, rows stay queued for ``sms resume``).
BIND_REFUSED_STATUS = 401

#: Reports handed out per ``poll_reports`` call (the poller asks again while it gets some).
POLL_PAGE = 1000


class _Session:
    """One bound transceiver session and the task reading what the SMSC sends on it."""

    def __init__(self, client: smpp34.Client, smsc: smpp34.Smsc) -> None:
        self.client = client
        self.smsc = smsc
        self.alive = True
        self.reader: asyncio.Task[None] | None = None


class SmppGateway(SmsGateway):
    """``kind = "smpp"``: submit_sm over one SMPP 3.4 transceiver session."""

    name = "smpp"

    def __init__(self, gateway_id: str, config: SmppConfig, *, password: str,
                 seed: int | None = None) -> None:
        super().__init__(gateway_id, config.capabilities())
        self.config = config
        self._password = password
        self._session: _Session | None = None
        self._bind_lock = asyncio.Lock()
        self._window = asyncio.Semaphore(config.window)
        #: receipts as they came; mapped to reports when polled (see ``poll_reports``)
        self._receipts: collections.deque[tuple[float, Receipt]] = collections.deque()
        #: UDH mode: message id of a part → (id of part 1, part number, total)
        self._parts: dict[str, tuple[str, int, int]] = {}
        #: UDH mode: multipart messages whose parts are still being submitted
        self._udh_in_flight = 0
        self._reference = random.Random(seed).randrange(256)
        #: sessions being retired in the background (``_drop``); ``close`` waits for them
        self._retiring: set[asyncio.Task[None]] = set()
        self.stats: collections.Counter[str] = collections.Counter()

    # -- configuration -------------------------------------------------------------------

    @classmethod
    def parse_config(cls, config: Mapping[str, Any], context: ConfigContext) -> SmppConfig:
        parsed = context.structure(dict(config), SmppConfig)
        if not parsed.host:
            raise context.error("host is empty", "host")
        if not parsed.system_id:
            raise context.error("system_id is empty", "system_id")
        if not parsed.password_env:
            raise context.error("password_env is empty (name an environment variable)",
                                "password_env")
        return parsed

    @classmethod
    def check_config(cls, config: Mapping[str, Any], context: ConfigContext) -> None:
        """Everything ``from_config`` checks except that ``password_env`` is set."""
        cls.parse_config(config, context)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: ConfigContext,
                    env: Mapping[str, str] | None = None) -> Self:
        parsed = cls.parse_config(config, context)
        password = read_secret(context, "password", env_name=parsed.password_env, file_name=None,
                               what="the SMPP password", environ=env)
        if not password.isascii() or len(password) > 8:
            raise context.error(f"the password in {parsed.password_env} must be ASCII, at "
                                "most 8 characters (SMPP 3.4)", "password_env")
        return cls(context.key.rsplit(".", 1)[-1] or cls.name, parsed, password=password)

    # -- the session ---------------------------------------------------------------------

    async def _bound(self) -> _Session:
        async with self._bind_lock:
            session = self._session
            if session is not None and session.alive:
                return session
            if session is not None:
                await self._retire(session)
            cfg = self.config
            client = smpp34.Client(
                cfg.host, cfg.port, cfg.system_id, self._password, bind_type="TRX",
                system_type=cfg.system_type, window_size=cfg.window,
                connect_timeout_ms=max(1, int(cfg.bind_timeout * 1000)),
            )
            try:
                async with asyncio.timeout(cfg.bind_timeout + 1.0):
                    smsc = await client.connect()
            except (smpp34.SmppError, TimeoutError, OSError) as exc:
                with contextlib.suppress(Exception):
                    await client.stop()
                raise await self._bind_failure(exc) from exc
            session = _Session(client, smsc)
            session.reader = asyncio.create_task(self._read(session),
                                                 name=f"smpp-{self.gateway_id}-reader")
            self._session = session
            self.stats["binds"] += 1
            return session

    async def _bind_failure(self, exc: BaseException) -> GatewayError:
        cfg = self.config
        where = f"{cfg.host}:{cfg.port}"
        if isinstance(exc, smpp34.SmppError) and "bind timed out" not in str(exc):
            return self.transient(f"cannot bind to {where}: {exc}")
        # smpp34 reports a refused bind as a timeout: ask the SMSC once more (bindprobe).
        answer = await probe_bind(cfg.host, cfg.port, cfg.system_id, self._password,
                                  cfg.system_type, cfg.bind_timeout)
        if answer.status is None:
            return self.transient(f"bind to {where} failed: {answer.problem}")
        if answer.status in BIND_REFUSED:
            return self.permanent(
                f"the SMSC at {where} refuses to bind system_id {cfg.system_id!r}: "
                f"{status_name(answer.status)}; sending stops until an operator fixes the "
                "credentials", status=BIND_REFUSED_STATUS)
        if answer.status == 0:
            return self.transient(f"bind to {where} timed out (a second bind was answered)")
        return self.transient(f"bind to {where} refused for now: {status_name(answer.status)}")

    async def _retire(self, session: _Session, *, unbind: bool = False) -> None:
        session.alive = False
        if self._session is session:
            self._session = None
        if unbind:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self.config.response_timeout):
                    await session.smsc.unbind()
        with contextlib.suppress(Exception):
            await session.client.stop()
        if session.reader is not None and session.reader is not asyncio.current_task():
            session.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await session.reader

    def _drop(self, session: _Session) -> None:
        """Forget a broken session (the next ``send`` binds a new one) and stop its
        client in the background; the task is kept (the loop holds tasks weakly) and
        ``close`` waits for it."""
        if session.alive:
            session.alive = False
            self.stats["sessions_lost"] += 1
            if self._session is session:
                self._session = None
            task = asyncio.get_running_loop().create_task(self._retire(session))
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)

    async def close(self) -> None:
        """Unbind the session, if any, and finish retiring lost ones (idempotent; safe
        on a gateway that never bound)."""
        async with self._bind_lock:
            if self._session is not None:
                await self._retire(self._session, unbind=True)
        while self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- sending -------------------------------------------------------------------------

    async def send(self, batch: Sequence[OutgoingSms]) -> list[SubmitResult]:
        session = await self._bound()
        results = list(await asyncio.gather(*(self._submit(session, sms) for sms in batch)))
        if results and all(isinstance(r.error, TransientGatewayError) for r in results):
            # Nothing got through (throttled, SMSC trouble, timeouts): raise for the batch,
            # so the engine also backs its rate limiter off and counts a breaker failure.
            errors = [r.error for r in results if isinstance(r.error, TransientGatewayError)]
            waits = [e.retry_after for e in errors if e.retry_after]
            first = str(errors[0]).removeprefix(f"{self.gateway_id}: ")
            raise self.transient(first, retry_after=max(waits) if waits else None)
        return results

    def _parts_of(self, sms: OutgoingSms) -> list[tuple[bytes, int, list[smpp34.Tlv]]] | str:
        """(short_message, esm_class, tlvs) per ``submit_sm``, or why it cannot be sent."""
        encoded = encode_text(sms.text, unicode=sms.unicode)
        if encoded.data_coding == DC_UCS2 and not self.config.supports_unicode:
            return "this gateway does not send UCS-2 texts (supports_unicode = false)"
        if encoded.fits_one:
            return [(encoded.octets, 0, [])]
        # Counted exactly as the parts are cut (67 UCS-2 units a part, not 66), before
        # cutting: a text over 255 parts has no 8-bit UDH and must fail, not raise.
        parts = part_count(encoded)
        if parts > self.config.max_parts:
            return f"{parts} parts, more than max_parts {self.config.max_parts}"
        if self.config.long_messages is LongMessages.PAYLOAD:
            return [(b"", 0, [smpp34.Tlv(TLV_MESSAGE_PAYLOAD, encoded.octets)])]
        if parts > MAX_UDH_PARTS:
            return f"{parts} parts, more than an 8-bit concatenation header holds ({MAX_UDH_PARTS})"
        self._reference = (self._reference + 1) % 256
        return [(piece, ESM_UDHI, []) for piece in udh_parts(encoded, self._reference)]

    async def _submit(self, session: _Session, sms: OutgoingSms) -> SubmitResult:
        cfg = self.config
        destination = sms.msisdn.removeprefix("+")
        if not (destination.isascii() and destination.isdigit()):
            return SubmitResult(sms.ref, error=self.permanent(
                f"{sms.msisdn!r} is not an international number"))
        parts = self._parts_of(sms)
        if isinstance(parts, str):
            return SubmitResult(sms.ref, error=self.permanent(parts))
        source = sms.sender or cfg.source_addr or ""
        if source.startswith("+") and source[1:].isdigit():
            source = source[1:]  # a number, sent international (TON 1) without its "+"
        data_coding = encode_text(sms.text, unicode=sms.unicode).data_coding
        multipart = len(parts) > 1
        self._udh_in_flight += multipart
        try:
            return await self._submit_parts(session, sms, parts, destination, source, data_coding)
        finally:
            self._udh_in_flight -= multipart

    async def _submit_parts(self, session: _Session, sms: OutgoingSms,
                            parts: list[tuple[bytes, int, list[smpp34.Tlv]]], destination: str,
                            source: str, data_coding: int) -> SubmitResult:
        cfg = self.config
        source_ton, source_npi = cfg.source_address(source)
        ids: list[str] = []
        for short_message, esm_class, tlvs in parts:
            try:
                async with self._window:
                    if not session.alive:  # lost while this submit waited for the window
                        return SubmitResult(sms.ref,
                                            error=self.transient("the SMPP session was lost"))
                    async with asyncio.timeout(cfg.response_timeout):
                        resp = await session.smsc.submit_sm(
                            destination, short_message, source_addr=source,
                            service_type=cfg.service_type, source_addr_ton=source_ton,
                            source_addr_npi=source_npi, dest_addr_ton=cfg.dest_ton,
                            dest_addr_npi=cfg.dest_npi, esm_class=esm_class,
                            registered_delivery=1 if cfg.registered_delivery else 0,
                            data_coding=data_coding, tlvs=tlvs)
            except TimeoutError:
                self.stats["timeouts"] += 1
                self._drop(session)
                return SubmitResult(sms.ref, error=self.transient(
                    f"no submit_sm_resp within {cfg.response_timeout:g} s"))
            except (smpp34.SmppError, OSError) as exc:
                self._drop(session)
                return SubmitResult(sms.ref, error=self.transient(f"SMPP session error: {exc}"))
            status = resp.command_status
            if status != 0 or not resp.message_id:
                return SubmitResult(sms.ref, error=self._refusal(session, status, len(ids)))
            ids.append(resp.message_id)
            if len(parts) > 1:
                self._parts[resp.message_id] = (ids[0], len(ids), len(parts))
        self.stats["accepted"] += 1
        return SubmitResult(sms.ref, ids[0], None, len(parts) if len(parts) > 1 else None)

    def _refusal(self, session: _Session, status: int, sent_parts: int) -> GatewayError:
        self.stats[f"status_{status:#x}"] += 1
        if status == 0:
            return self.transient("submit_sm_resp without a message id")
        name = status_name(status)
        if sent_parts:
            name += f" (after {sent_parts} part(s) were accepted: the message is sent again whole)"
        if status in THROTTLING:
            return self.transient(name, retry_after=self.config.throttle_backoff)
        if status in RESESSION:
            self._drop(session)
        if status in TRANSIENT:
            return self.transient(name)
        return PermanentGatewayError(f"refused: {name}", gateway=self.gateway_id)

    # -- receipts ------------------------------------------------------------------------

    async def _read(self, session: _Session) -> None:
        try:
            while session.alive:
                event = await session.smsc.next()
                if isinstance(event, smpp34.Disconnected):
                    break
                self._on_deliver(event)
        except asyncio.CancelledError:
            # cancelled by _retire, or by the loop shutting down: no new task then
            session.alive = False
            raise
        except Exception as exc:  # the session is gone; the next send binds again
            log.warning("gateway %s: reading the SMPP session failed: %s", self.gateway_id, exc)
        finally:
            self._drop(session)  # a lost session's client is stopped too

    def _on_deliver(self, event: smpp34.DeliverSmEvent) -> None:
        if not is_receipt(event.esm_class):
            self.stats["mo_ignored"] += 1  # mobile-originated messages are not ours to read
            return
        try:
            receipt = parse_receipt(event.short_message, event.tlvs)
        except UnreadableReceipt as exc:
            self.stats["receipts_unreadable"] += 1
            log.warning("gateway %s: %s", self.gateway_id, exc)
            return
        if receipt.status is None:
            self.stats["receipts_not_final"] += 1
            return
        self.stats["receipts"] += 1
        self._receipts.append((time.monotonic(), receipt))

    async def poll_reports(self) -> list[DeliveryReport]:
        """The receipts received since the last call (at most ``POLL_PAGE``).

        A part's receipt can come before that part's ``submit_sm_resp`` is handled (the
        SMSC answers and reports at once), so parts are mapped to their message here,
        not on arrival; while multipart messages are being submitted, a receipt for an
        id not known yet waits for a later poll — at most ``response_timeout`` seconds,
        the longest a part's answer can take."""
        page: list[DeliveryReport] = []
        waiting: list[tuple[float, Receipt]] = []
        young = time.monotonic() - self.config.response_timeout
        while self._receipts and len(page) < POLL_PAGE:
            arrived, receipt = self._receipts.popleft()
            part = self._parts.pop(receipt.message_id, None)
            if part is not None:
                first, number, total = part
                page.append(receipt.report(self.gateway_id, part=number, parts=total,
                                           message_id=first))
            elif self._udh_in_flight and arrived > young:
                waiting.append((arrived, receipt))
            else:
                page.append(receipt.report(self.gateway_id))
        self._receipts.extendleft(reversed(waiting))
        return page
