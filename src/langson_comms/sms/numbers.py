"""Vietnamese phone numbers: every input shape to E.164, a kind, and a carrier *hint*.

``normalize(raw)`` never raises on bad input: it returns a ``NumberResult`` whose
``reason`` says why the value is not a usable mobile number (``None`` when it is).

Steps, and why each is ours rather than ``phonenumbers``'s:

1. Find the number in the cell: NFKC turns full-width digits (``０９１２…``) into ASCII,
   other Unicode decimal digits are mapped too, and stray text around the number
   (``SĐT: 0912 345 678 (Zalo)``) is dropped.  A cell holding two numbers is refused
   rather than guessed.
2. Reduce every shape (``+84 …``, ``84…``, ``0084…``, ``+84 0…``, ``(+84)``, leading
   ``0``, a leading ``0`` lost by a spreadsheet) to the 9- or 10-digit national
   significant number.
3. Convert pre-2018 11-digit mobile numbers (``0168 …`` → ``038 …``): ``phonenumbers``
   rejects them as invalid, but agencies' lists still hold them.
4. Validate with ``phonenumbers``.  Fast path: a 9-digit number that fully matches the
   Vietnamese *mobile* pattern of the installed ``phonenumbers`` metadata is a valid
   mobile number (the same regular expression ``is_valid_number`` ends up using; a test
   checks both paths agree over every 3-digit prefix).  Anything else goes through
   ``phonenumbers.parse`` / ``is_valid_number`` / ``number_type``.
5. Numbers ``phonenumbers`` rejects although their prefix belongs to a live mobile range
   (its metadata lags the carriers: 0890–0895, 052x, 0550–0558, 0992…) are reported with
   a reason that says so, so they are quarantined for a person to check, never dropped.

The carrier is a routing **hint** from the prefix table in ``CARRIER_PREFIXES``: since
16/11/2018 a subscriber can keep their number when changing carrier.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Mapping

import attrs
import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberType

__all__ = [
    "CARRIER_PREFIXES",
    "OLD_PREFIXES",
    "Carrier",
    "NumberKind",
    "NumberNormalizer",
    "NumberResult",
    "carrier_hint",
    "normalize",
]


class Carrier(enum.StrEnum):
    """A carrier *hint* taken from the number's prefix (portability makes it a hint only)."""

    VIETTEL = "viettel"
    VINAPHONE = "vinaphone"
    MOBIFONE = "mobifone"
    VIETNAMOBILE = "vietnamobile"
    GMOBILE = "gmobile"
    ITELECOM = "itelecom"
    WINTEL = "wintel"
    UNKNOWN = "unknown"


class NumberKind(enum.StrEnum):
    MOBILE = "mobile"
    LANDLINE = "landline"
    INVALID = "invalid"


def _prefixes(carrier: Carrier, *codes: str) -> dict[str, Carrier]:
    return dict.fromkeys(codes, carrier)


#: Two-digit prefix of the 9-digit national significant number (``0`` dropped) →
#: carrier hint, 10-digit era (domain.md; Itelecom 087 and Wintel 055 are single-source).
CARRIER_PREFIXES: Mapping[str, Carrier] = {
    **_prefixes(Carrier.VIETTEL, "32", "33", "34", "35", "36", "37", "38", "39", "86", "96",
                "97", "98"),
    **_prefixes(Carrier.VINAPHONE, "81", "82", "83", "84", "85", "88", "91", "94"),
    **_prefixes(Carrier.MOBIFONE, "70", "76", "77", "78", "79", "89", "90", "93"),
    **_prefixes(Carrier.VIETNAMOBILE, "52", "56", "58", "92"),
    **_prefixes(Carrier.GMOBILE, "59", "99"),
    **_prefixes(Carrier.ITELECOM, "87"),
    **_prefixes(Carrier.WINTEL, "55"),
}

#: Pre-2018 11-digit mobile prefixes (without the leading ``0``) → their 10-digit
#: replacement (without ``0``); the last 7 digits stay.  Converted 15/9–14/11/2018.
OLD_PREFIXES: Mapping[str, str] = {
    # Viettel
    "162": "32", "163": "33", "164": "34", "165": "35", "166": "36", "167": "37",
    "168": "38", "169": "39",
    # MobiFone
    "120": "70", "121": "79", "122": "77", "126": "76", "128": "78",
    # VinaPhone
    "123": "83", "124": "84", "125": "85", "127": "81", "129": "82",
    # Vietnamobile
    "186": "56", "188": "58",
    # Gmobile
    "199": "59",
}


def carrier_hint(nsn: str) -> Carrier:
    """The carrier hint for a national significant number (9 digits, no leading 0)."""
    return CARRIER_PREFIXES.get(nsn[:2], Carrier.UNKNOWN)


@attrs.frozen
class NumberResult:
    """What one raw value turned out to be.

    ``e164`` is set for a valid number (mobile or landline); ``reason`` is ``None`` only
    for a valid mobile number.  ``candidate`` is the E.164 form that was tried, kept for
    quarantine files even when the number is rejected; ``converted_from`` holds the old
    11-digit national form when a pre-2018 number was converted.
    """

    raw: str
    e164: str | None
    kind: NumberKind
    carrier_hint: Carrier
    reason: str | None
    candidate: str | None = None
    converted_from: str | None = None
    code: str | None = None

    @property
    def ok(self) -> bool:
        """A valid mobile number that can receive SMS."""
        return self.reason is None and self.kind is NumberKind.MOBILE


# Characters that may sit inside a written phone number; everything else is "stray text".
_CANDIDATE_RE = re.compile(r"[+(]*\d[\d\s().\-+]*\d|\d")
_SEPARATORS_RE = re.compile(r"[^\d+]")
_NOT_DIGITS_RE = re.compile(r"\D")
# A group of at least this many digits counts as a number in the cell.
_MIN_DIGITS = 7
_MAX_NSN = 10


def _ascii_digits(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    if text.isascii():
        return text
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)


class NumberNormalizer:
    """Normalises raw values to ``NumberResult``; carrier and old-prefix tables injectable.

    Build one and call it for each value; ``fast_hits``/``slow_calls`` count how often
    the fast path answered versus a full ``phonenumbers`` parse (the benchmark reports
    them).  ``fast_path=False`` always asks ``phonenumbers``.
    """

    def __init__(
        self,
        *,
        carriers: Mapping[str, Carrier] = CARRIER_PREFIXES,
        old_prefixes: Mapping[str, str] = OLD_PREFIXES,
        fast_path: bool = True,
    ) -> None:
        self._carriers = dict(carriers)
        self._old = dict(old_prefixes)
        metadata = PhoneMetadata.metadata_for_region("VN")
        assert metadata is not None and metadata.mobile is not None
        pattern = metadata.mobile.national_number_pattern
        self._mobile_re = re.compile(pattern) if fast_path and pattern else None
        self.fast_hits = 0
        self.slow_calls = 0

    def __call__(self, raw: str) -> NumberResult:
        return self.normalize(raw)

    def normalize(self, raw: str) -> NumberResult:
        """Normalise one raw value; never raises for bad input."""
        text = raw if raw.isascii() else _ascii_digits(raw)
        # Fast lane for the commonest shape: already bare digits.
        if text.isdigit():
            candidates = [text]
        else:
            found = [m.group() for m in _CANDIDATE_RE.finditer(text)]
            candidates = [c for c in found if len(_NOT_DIGITS_RE.sub("", c)) >= _MIN_DIGITS]
            if not candidates:
                if not text.strip():
                    return self._invalid(raw, "empty", "empty")
                return self._invalid(raw, "no_number", "no phone number found")
            if len(candidates) > 1:
                return self._invalid(
                    raw, "several_numbers", f"{len(candidates)} numbers in one field (split them into rows)"
                )
        return self._from_candidate(raw, candidates[0])

    # -- steps -------------------------------------------------------------------------

    def _from_candidate(self, raw: str, candidate: str) -> NumberResult:
        cleaned = candidate if candidate.isdigit() else _SEPARATORS_RE.sub("", candidate)
        international = cleaned.startswith("+")
        if "+" in cleaned[1:]:
            return self._invalid(raw, "invalid_number", "'+' in the middle of the number")
        digits = cleaned.lstrip("+")
        if digits.startswith("00"):
            digits = digits[2:]
            international = True
        if international:
            if not digits.startswith("84"):
                return self._invalid(raw, "foreign_number", f"not a Vietnamese number (country code +{digits[:3]}…)")
            nsn = digits[2:]
            if nsn.startswith("0"):  # "+84 0912…": trunk prefix written after the code
                nsn = nsn[1:]
        elif digits.startswith("0"):
            nsn = digits[1:]
        elif digits.startswith("84") and len(digits) in (11, 12):
            nsn = digits[2:]
            if nsn.startswith("0"):  # "84 0912…": trunk prefix written after the code
                nsn = nsn[1:]
        else:
            # A spreadsheet dropped the leading 0 ("912345678").
            nsn = digits
        if not nsn:
            return self._invalid(raw, "invalid_number", "no digits after the country code")
        if len(nsn) > _MAX_NSN:
            if len(nsn) >= 2 * _MIN_DIGITS + 2:
                return self._invalid(raw, "several_numbers", f"{len(digits)} digits: several numbers in one field?")
            return self._invalid(raw, "too_long", f"too many digits ({len(nsn) + 1} in national form)")
        converted_from = None
        if len(nsn) == 10 and nsn[:3] in self._old:
            converted_from = "0" + nsn
            nsn = self._old[nsn[:3]] + nsn[3:]
        return self._validate(raw, nsn, converted_from)

    def _validate(self, raw: str, nsn: str, converted_from: str | None) -> NumberResult:
        e164 = "+84" + nsn
        if self._mobile_re is not None and len(nsn) == 9 and self._mobile_re.fullmatch(nsn):
            self.fast_hits += 1
            return NumberResult(
                raw, e164, NumberKind.MOBILE, self._carriers.get(nsn[:2], Carrier.UNKNOWN),
                None, e164, converted_from,
            )
        self.slow_calls += 1
        hint = self._carriers.get(nsn[:2], Carrier.UNKNOWN) if len(nsn) == 9 else Carrier.UNKNOWN
        try:
            parsed = phonenumbers.parse(e164, None)
        except phonenumbers.NumberParseException as exc:
            return NumberResult(raw, None, NumberKind.INVALID, hint,
                                f"not a phone number ({exc})", e164, converted_from, "invalid_number")
        if phonenumbers.is_valid_number(parsed):
            kind_code = phonenumbers.number_type(parsed)
            if kind_code == PhoneNumberType.MOBILE:
                return NumberResult(raw, e164, NumberKind.MOBILE, hint, None, e164,
                                    converted_from)
            if kind_code in (PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE):
                return NumberResult(raw, e164, NumberKind.LANDLINE, Carrier.UNKNOWN,
                                    "landline: cannot receive SMS", e164, converted_from, "landline")
            type_name = _TYPE_NAMES.get(kind_code, str(kind_code))
            return NumberResult(raw, None, NumberKind.INVALID, hint,
                                f"not a mobile number ({type_name})", e164, converted_from, "not_mobile")
        if len(nsn) == 9 and hint is not Carrier.UNKNOWN:
            return NumberResult(
                raw, None, NumberKind.INVALID, hint,
                f"rejected by phonenumbers {phonenumbers.__version__} although 0{nsn[:2]} is a "
                f"{hint.value} mobile prefix (its metadata may lag the carriers): check by hand",
                e164, converted_from, "rejected_live_prefix",
            )
        if len(nsn) == 10 and nsn[:1] == "1":
            return NumberResult(raw, None, NumberKind.INVALID, hint,
                                f"old 11-digit prefix 0{nsn[:3]} has no known 10-digit form",
                                e164, converted_from, "unknown_old_prefix")
        length = len(nsn) + 1
        return NumberResult(
            raw, None, NumberKind.INVALID, hint,
            f"invalid number ({length} digits in national form 0{nsn})", e164, converted_from,
            "invalid_number",
        )

    @staticmethod
    def _invalid(raw: str, code: str, reason: str) -> NumberResult:
        return NumberResult(raw, None, NumberKind.INVALID, Carrier.UNKNOWN, reason, code=code)


_TYPE_NAMES = {
    PhoneNumberType.TOLL_FREE: "toll-free",
    PhoneNumberType.PREMIUM_RATE: "premium-rate",
    PhoneNumberType.SHARED_COST: "shared-cost",
    PhoneNumberType.VOIP: "VoIP",
    PhoneNumberType.PERSONAL_NUMBER: "personal number",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "universal access number",
    PhoneNumberType.VOICEMAIL: "voicemail",
    PhoneNumberType.UNKNOWN: "unknown type",
}


def normalize(raw: str) -> NumberResult:
    """Normalise one raw value with the default tables (see ``NumberNormalizer``)."""
    return NumberNormalizer().normalize(raw)
