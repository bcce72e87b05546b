"""Delivery receipts: a ``deliver_sm`` with the receipt bit in ``esm_class`` → DeliveryReport.

SMPP 3.4 (appendix B) gives the receipt text's customary form::

    id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm
    stat:DDDDDDD err:E text:…

and the TLVs ``receipted_message_id`` and ``message_state``.  The TLVs win when
present (they are typed); the text is read otherwise.  Final states map to the
ledger's statuses; ``ENROUTE``/``ACCEPTD``/``SCHEDULED`` are not final and are dropped
(counted by the gateway).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import attrs
import smpp34

from langson_comms.sms.ledger import DeliveryReport, ReportStatus

from .status import TLV_MESSAGE_STATE, TLV_NETWORK_ERROR_CODE, TLV_RECEIPTED_MESSAGE_ID

__all__ = ["ESM_TYPE_MASK", "RECEIPT", "Receipt", "UnreadableReceipt", "is_receipt",
           "parse_receipt"]

ESM_TYPE_MASK = 0x3C
RECEIPT = 0x04  # esm_class bits 2-5: SMSC delivery receipt

#: The receipt ``stat`` words and what the ledger makes of them (None: not final).
STAT: dict[str, ReportStatus | None] = {
    "DELIVRD": ReportStatus.DELIVERED,
    "UNDELIV": ReportStatus.FAILED,
    "REJECTD": ReportStatus.FAILED,
    "DELETED": ReportStatus.FAILED,
    "UNKNOWN": ReportStatus.FAILED,
    "EXPIRED": ReportStatus.EXPIRED,
    "ENROUTE": None,
    "ACCEPTD": None,
    "SCHEDULED": None,
}

#: ``message_state`` TLV values (SMPP 3.4 §5.2.28) → receipt ``stat`` words.
MESSAGE_STATE = {1: "ENROUTE", 2: "DELIVRD", 3: "EXPIRED", 4: "DELETED", 5: "UNDELIV",
                 6: "ACCEPTD", 7: "UNKNOWN", 8: "REJECTD", 9: "SCHEDULED"}

_FIELD = re.compile(r"\b(id|stat|err):(\S*)", re.IGNORECASE)


class UnreadableReceipt(ValueError):
    """A receipt without a message id or a known state."""


@attrs.frozen
class Receipt:
    """What one receipt says: the carrier id, the ``stat`` word, the error code."""

    message_id: str
    stat: str
    error: str | None

    @property
    def status(self) -> ReportStatus | None:
        return STAT[self.stat]

    def report(self, gateway: str | None = None, *, part: int = 1,
               parts: int | None = None, message_id: str | None = None) -> DeliveryReport:
        status = self.status
        if status is None:
            raise UnreadableReceipt(f"{self.stat} is not a final state")
        error = None if status is ReportStatus.DELIVERED else (
            f"{self.stat} err:{self.error}" if self.error else self.stat)
        return DeliveryReport(message_id or self.message_id, status, part, parts, error,
                              gateway)


def is_receipt(esm_class: int) -> bool:
    return esm_class & ESM_TYPE_MASK == RECEIPT


def parse_receipt(short_message: bytes, tlvs: Iterable[smpp34.Tlv]) -> Receipt:
    """Read a receipt from its text and TLVs; ``UnreadableReceipt`` says what is missing."""
    text = short_message.decode("latin-1")
    fields: dict[str, str] = {}
    for key, value in _FIELD.findall(text):
        fields.setdefault(key.lower(), value)
    message_id = fields.get("id")
    stat = fields.get("stat", "").upper() or None
    error = fields.get("err") or None
    for tlv in tlvs:
        if tlv.tag == TLV_RECEIPTED_MESSAGE_ID:
            value = tlv.value.rstrip(b"\0").decode("latin-1")
            if value:
                message_id = value
        elif tlv.tag == TLV_MESSAGE_STATE and len(tlv.value) == 1:
            stat = MESSAGE_STATE.get(tlv.value[0], stat)
        elif tlv.tag == TLV_NETWORK_ERROR_CODE and len(tlv.value) == 3 and error in (None, "000"):
            network, code = tlv.value[0], int.from_bytes(tlv.value[1:], "big")
            if code:
                error = f"network {network}/{code}"
    if not message_id:
        raise UnreadableReceipt(f"no message id in receipt {text[:120]!r}")
    if stat is None or stat not in STAT:
        raise UnreadableReceipt(f"unknown state {stat!r} in receipt {text[:120]!r}")
    return Receipt(message_id, stat, error)
