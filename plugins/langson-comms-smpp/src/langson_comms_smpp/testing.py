"""A test SMSC on 127.0.0.1: smpp34's ``Server`` behind a small bind gate.

``TestSmsc`` accepts ``submit_sm``, answers every ``throttle_every``-th one with
``ESME_RTHROTTLED``, refuses destinations in ``reject``, answers everything with
``status`` when set, holds the answers when ``hang``, and sends a delivery receipt
(standard text + ``receipted_message_id``/``message_state`` TLVs) for every accepted
message that asked for one.  It records what it accepted (``accepted``) so tests can
assert exactly-once.

smpp34's ``Server`` accepts any bind (it exposes no password), so a gate in front of
it — an asyncio TCP server, the address clients use — reads the bind PDU, answers a
wrong system id or password itself (``ESME_RINVSYSID``/``ESME_RINVPASWD``) and
otherwise pipes the connection through to the server.  The gate can also answer
non-SMPP bytes (``garbage``) and cut every session (``drop_sessions``)::

    async with TestSmsc(password="secret", throttle_every=5) as smsc:
        gateway = SmppGateway("smpp", SmppConfig(host="127.0.0.1", port=smsc.port, ...), ...)
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Coroutine
from typing import Any, Self

import attrs
import smpp34

from .bindprobe import BIND_TRANSCEIVER, RESPONSE, UNBIND
from .status import TLV_MESSAGE_STATE, TLV_RECEIPTED_MESSAGE_ID, Status

__all__ = ["Submitted", "TestSmsc"]

_HEADER = struct.Struct(">IIII")
_BINDS = {0x00000001, 0x00000002, BIND_TRANSCEIVER}
_STATES = {"DELIVRD": 2, "EXPIRED": 3, "DELETED": 4, "UNDELIV": 5, "UNKNOWN": 7, "REJECTD": 8}


@attrs.frozen
class Submitted:
    """One ``submit_sm`` the SMSC accepted."""

    message_id: str
    destination: str
    source: str
    source_ton: int
    source_npi: int
    dest_ton: int
    dest_npi: int
    data_coding: int
    esm_class: int
    short_message: bytes
    payload: bytes | None
    registered_delivery: int

    def text(self) -> str:
        """The text of this submit (its part, for a UDH part)."""
        data = self.payload if self.payload is not None else self.short_message
        if self.esm_class & 0x40:
            data = data[1 + data[0]:]
        return data.decode("utf-16-be" if self.data_coding == 8 else "gsm03.38")

    def udh(self) -> tuple[int, int, int] | None:
        """(reference, total, number) of a concatenated part."""
        if not self.esm_class & 0x40:
            return None
        header = self.short_message
        return header[3], header[4], header[5]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cstrings(body: bytes, count: int) -> list[str]:
    values = body.split(b"\0", count)[:count]
    return [v.decode("ascii", "replace") for v in values]


@attrs.define(eq=False)
class TestSmsc:
    """See the module docstring."""

    __test__ = False  # not a pytest test class

    system_id: str = "langson"
    password: str = "secret"
    throttle_every: int = 0
    reject: set[str] = attrs.Factory(set)
    status: int | None = None
    hang: bool = False
    garbage: bool = False
    receipts: bool = True
    receipt_stat: str = "DELIVRD"
    receipt_delay: float = 0.0
    accepted: list[Submitted] = attrs.Factory(list)
    submits: int = 0
    binds: int = 0
    refused_binds: int = 0
    #: ``unbind`` PDUs ESMEs sent (a session closed on purpose, not merely cut)
    unbinds: int = 0
    port: int = 0
    _server: smpp34.Server | None = None
    _gate: asyncio.Server | None = None
    _inner_port: int = 0
    _esmes: dict[str, smpp34.Esme] = attrs.Factory(dict)
    _held: list[smpp34.SubmitSmEvent] = attrs.Factory(list)
    _pipes: set[asyncio.StreamWriter] = attrs.Factory(set)
    _tasks: set[asyncio.Task[None]] = attrs.Factory(set)
    _pending_receipts: list[tuple[Submitted, str]] = attrs.Factory(list)
    _next_id: int = 0

    async def start(self) -> int:
        for _ in range(5):
            self._inner_port = _free_port()
            server = smpp34.Server("127.0.0.1", self._inner_port, system_id="LSSMSC")
            try:
                await server.start()
            except (OSError, smpp34.SmppError):
                continue
            self._server = server
            break
        else:
            raise RuntimeError("could not start the smpp34 server on a free port")
        self._spawn(self._serve())
        self._gate = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = int(self._gate.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self._gate is not None:
            self._gate.close()
        self.drop_sessions()
        self._held.clear()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def drop_sessions(self) -> None:
        """Cut every connection (as a network failure would)."""
        for writer in list(self._pipes):
            writer.transport.abort()
        self._pipes.clear()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- the gate ------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._pipes.add(writer)
        try:
            header = await reader.readexactly(16)
            if self.garbage:
                writer.write(b"HTTP/1.1 502 Bad Gateway\r\n\r\n<html>gateway error</html>")
                await writer.drain()
                return
            length, command_id, _, sequence = _HEADER.unpack(header)
            body = await reader.readexactly(length - 16) if 16 < length < 4096 else b""
            if command_id not in _BINDS:
                return
            system_id, password = _cstrings(body, 2)
            refusal = (Status.ESME_RINVSYSID if system_id != self.system_id else
                       Status.ESME_RINVPASWD if password != self.password else None)
            if refusal is not None:
                self.refused_binds += 1
                writer.write(_HEADER.pack(16, command_id | RESPONSE, int(refusal), sequence))
                await writer.drain()
                return
            self.binds += 1
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._inner_port)
            self._pipes.add(up_writer)
            up_writer.write(header + body)
            await asyncio.gather(self._pipe(reader, up_writer, watch=True),
                                 self._pipe(up_reader, writer))
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._pipes.discard(writer)
            writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                    watch: bool = False) -> None:
        """Copy bytes; with ``watch`` (ESME → SMSC), frame the PDUs and count unbinds."""
        pending = b""
        try:
            while data := await reader.read(65536):
                writer.write(data)
                if watch:
                    pending = self._watch(pending + data)
                await writer.drain()
        except OSError:
            pass
        finally:
            self._pipes.discard(writer)
            writer.transport.abort()

    def _watch(self, data: bytes) -> bytes:
        """Count the ``unbind`` PDUs in ``data``; return the incomplete tail."""
        while len(data) >= 16:
            length, command_id, _, _ = _HEADER.unpack_from(data)
            if length < 16 or len(data) < length:
                break
            if command_id == UNBIND:
                self.unbinds += 1
            data = data[length:]
        return data if len(data) < 16 or _HEADER.unpack_from(data)[0] >= 16 else b""

    # -- the SMSC ------------------------------------------------------------------------

    async def _serve(self) -> None:
        assert self._server is not None
        while True:
            event = await self._server.next()
            if isinstance(event, smpp34.Esme):
                self._esmes[event.session_id] = event
                for submitted, _ in self._pending_receipts:
                    self._spawn(self._receipt(submitted))
                self._pending_receipts.clear()
            elif isinstance(event, smpp34.Unbound):
                self._esmes.pop(event.session_id, None)
            else:
                self._on_submit(event)

    def _on_submit(self, event: smpp34.SubmitSmEvent) -> None:
        self.submits += 1
        if self.hang:
            self._held.append(event)  # never answered (dropping it would NAK)
            return
        if self.status is not None:
            event.reject(self.status)
            return
        if self.throttle_every and self.submits % self.throttle_every == 0:
            event.reject(Status.ESME_RTHROTTLED)
            return
        if event.destination_addr in self.reject:
            event.reject(Status.ESME_RINVDSTADR)
            return
        self._next_id += 1
        message_id = f"{self._next_id:08X}"
        payload = next((t.value for t in event.tlvs if t.tag == 0x0424), None)
        submitted = Submitted(
            message_id, event.destination_addr, event.source_addr, event.source_addr_ton,
            event.source_addr_npi, event.dest_addr_ton, event.dest_addr_npi, event.data_coding,
            event.esm_class, event.short_message, payload, event.registered_delivery)
        event.accept(message_id)
        self.accepted.append(submitted)
        if self.receipts and event.registered_delivery & 1:
            self._spawn(self._receipt(submitted, event.session_id))

    async def _receipt(self, submitted: Submitted, session_id: str | None = None) -> None:
        if self.receipt_delay:
            await asyncio.sleep(self.receipt_delay)
        esme = self._esmes.get(session_id or "") or next(iter(self._esmes.values()), None)
        if esme is None:  # nobody bound: delivered when an ESME binds again
            self._pending_receipts.append((submitted, self.receipt_stat))
            return
        stat = self.receipt_stat
        text = (f"id:{submitted.message_id} sub:001 dlvrd:{'001' if stat == 'DELIVRD' else '000'}"
                f" submit date:2611262050 done date:2611262051 stat:{stat} "
                f"err:{'000' if stat == 'DELIVRD' else '001'} text:")
        try:
            await esme.deliver_sm(
                submitted.source, text.encode("ascii"), source_addr=submitted.destination,
                source_addr_ton=1, source_addr_npi=1, esm_class=0x04,
                tlvs=[smpp34.Tlv(TLV_RECEIPTED_MESSAGE_ID, submitted.message_id.encode() + b"\0"),
                      smpp34.Tlv(TLV_MESSAGE_STATE, bytes([_STATES[stat]]))])
        except smpp34.SmppError:
            self._pending_receipts.append((submitted, stat))
