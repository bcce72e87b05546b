"""Text to SMPP octets: data_coding, single message, message_payload or UDH parts.

``data_coding`` 0 (the SMSC default alphabet, GSM 03.38, one septet per octet,
unpacked, as SMPP carries it) for texts the GSM-7 alphabet can write; 8 (UCS-2,
UTF-16 big-endian) for the others — Vietnamese with diacritics.  The GSM codec is the
PyPI ``gsm0338`` one (a dependency of langson-comms), not a table of ours.

Long texts go one of two ways (``long_messages``):

* ``payload`` — the whole text in the ``message_payload`` TLV, ``short_message``
  empty: one ``submit_sm``, one message id, the SMSC splits it for the handset;
* ``udh`` — 153 septets / 67 UCS-2 units per part, each with a 6-octet concatenation
  header (IEI 0x00, 8-bit reference), ``esm_class`` UDHI bit set: one ``submit_sm`` and
  one message id per part.  An escape (GSM extension character) or a surrogate pair is
  never split between parts.
"""

from __future__ import annotations

from typing import NamedTuple

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

__all__ = ["DC_DEFAULT", "DC_UCS2", "ESM_UDHI", "MAX_UDH_PARTS", "Encoded", "encode_text", "part_count",
           "udh_parts"]

DC_DEFAULT = 0x00
DC_UCS2 = 0x08
ESM_UDHI = 0x40
MAX_UDH_PARTS = 255  # an 8-bit concatenation header counts parts in one octet
_GSM = "gsm03.38"
_ESC = 0x1B
SINGLE = {DC_DEFAULT: 160, DC_UCS2: 140}  # octets in one unconcatenated SMS
PER_PART = {DC_DEFAULT: 153, DC_UCS2: 134}  # octets of text next to a 6-octet UDH


class Encoded(NamedTuple):
    data_coding: int
    octets: bytes

    @property
    def fits_one(self) -> bool:
        return len(self.octets) <= SINGLE[self.data_coding]


def encode_text(text: str, *, unicode: bool) -> Encoded:
    """GSM-7 unless ``unicode`` is set or the text has a character GSM-7 cannot write."""
    if not unicode:
        try:
            return Encoded(DC_DEFAULT, text.encode(_GSM))
        except UnicodeEncodeError:
            pass
    return Encoded(DC_UCS2, text.encode("utf-16-be"))


def _cuts(encoded: Encoded) -> list[bytes]:
    data, per = encoded.octets, PER_PART[encoded.data_coding]
    parts: list[bytes] = []
    start = 0
    while start < len(data):
        end = min(start + per, len(data))
        if end < len(data):
            if encoded.data_coding == DC_DEFAULT:
                # never cut between ESC and the character it escapes
                i, last = start, start
                while i < end:
                    last = i
                    i += 2 if data[i] == _ESC else 1
                if i > end:
                    end = last
            elif 0xD8 <= data[end - 2] <= 0xDB:  # a high surrogate ends the part
                end -= 2
        parts.append(data[start:end])
        start = end
    return parts


def part_count(encoded: Encoded) -> int:
    """How many SMS the text takes: 1 when it fits one, else its concatenated parts
    (153 GSM-7 septets / 67 UCS-2 units each, never splitting an escape or a surrogate
    pair) — the count an SMSC splitting a ``message_payload`` arrives at too."""
    return 1 if encoded.fits_one else len(_cuts(encoded))


def udh_parts(encoded: Encoded, reference: int) -> list[bytes]:
    """``short_message`` octets (UDH + text) of each part; one part without a UDH when
    the text fits one SMS."""
    if encoded.fits_one:
        return [encoded.octets]
    pieces = _cuts(encoded)
    total = len(pieces)
    if total > 255:
        raise ValueError(f"{total} parts: an 8-bit concatenation header holds at most 255")
    return [bytes([5, 0, 3, reference & 0xFF, total, n]) + piece
            for n, piece in enumerate(pieces, start=1)]
