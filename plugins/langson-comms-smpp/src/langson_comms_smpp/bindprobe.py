"""Why did a bind fail?  A one-shot bind over a plain socket, read back with smpp34.

smpp34 1.5.0's ``Client.connect()`` does not report the SMSC's answer to a refused bind:
a ``bind_transceiver_resp`` carrying ``ESME_RINVPASWD`` (or any other error status)
surfaces as ``SmppError('bind timed out')`` after ``connect_timeout_ms``, exactly like
an SMSC that never answers (checked against a raw server answering each status).  The
gateway must tell the two apart — a wrong password stops the run, a slow SMSC is
retried — so after a failed ``connect()`` it binds once more by hand and reads the
status.  smpp34 has no class for bind PDUs, hence the few lines of encoding below;
the answer is decoded with ``smpp34.decode``.  If this probe binds successfully (the
first attempt was merely slow), it unbinds at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct

import attrs
import smpp34

__all__ = ["BIND_TRANSCEIVER", "BindAnswer", "encode_bind", "probe_bind"]

BIND_TRANSCEIVER = 0x00000009
UNBIND = 0x00000006
GENERIC_NACK = 0x80000000
RESPONSE = 0x80000000
INTERFACE_VERSION = 0x34
_HEADER = struct.Struct(">IIII")


@attrs.frozen
class BindAnswer:
    """What the probe learnt: ``status`` of the bind response, or why there was none."""

    status: int | None
    problem: str | None = None


def _cstring(value: str) -> bytes:
    return value.encode("ascii") + b"\0"


def encode_bind(system_id: str, password: str, system_type: str = "", *, sequence: int = 1,
                command_id: int = BIND_TRANSCEIVER) -> bytes:
    """A ``bind_transceiver`` (SMPP 3.4 §4.1.1) with addr_ton/npi 0 and no address range."""
    body = (_cstring(system_id) + _cstring(password) + _cstring(system_type)
            + bytes([INTERFACE_VERSION, 0, 0]) + b"\0")
    return _HEADER.pack(16 + len(body), command_id, 0, sequence) + body


async def probe_bind(host: str, port: int, system_id: str, password: str, system_type: str,
                     timeout: float) -> BindAnswer:
    """Bind once and return the status the SMSC answered (unbinding if it was 0)."""
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(encode_bind(system_id, password, system_type))
            await writer.drain()
            header = await reader.readexactly(16)
            length, command_id, status, sequence = _HEADER.unpack(header)
            if not 16 <= length <= 4096:
                return BindAnswer(None, f"not an SMPP answer (command_length {length})")
            pdu = smpp34.decode(header + await reader.readexactly(length - 16))
            command_id = getattr(pdu, "command_id", command_id)
            if command_id not in (BIND_TRANSCEIVER | RESPONSE, GENERIC_NACK):
                return BindAnswer(None, f"unexpected answer to bind (command_id 0x{command_id:08X})")
            if status == 0:
                writer.write(_HEADER.pack(16, UNBIND, 0, sequence + 1))
                await writer.drain()
            return BindAnswer(status)
    except TimeoutError:
        return BindAnswer(None, f"no answer to bind within {timeout:g} s")
    except (OSError, asyncio.IncompleteReadError) as exc:
        return BindAnswer(None, f"connection error: {type(exc).__name__}: {exc}")
    except smpp34.SmppError as exc:
        return BindAnswer(None, f"not an SMPP answer: {exc}")
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await writer.wait_closed()
