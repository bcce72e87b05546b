"""Phone numbers: every input shape, old prefixes, carrier hints, landlines, rejects."""

from __future__ import annotations

import random

import phonenumbers
import pytest

from langson_comms.sms.numbers import (
    CARRIER_PREFIXES,
    OLD_PREFIXES,
    Carrier,
    NumberKind,
    NumberNormalizer,
    normalize,
)

SHAPES = [
    "+84 912 345 678",
    "84912345678",
    "0912.345.678",
    "0912-345-678",
    "0912 345 678",
    "(+84)912345678",
    "(+84) 912-345-678",
    "(84) 912 345 678",
    "0084912345678",
    "00 84 912 345 678",
    "+84 0912345678",
    "+84 (0) 912 345 678",
    "84 0912345678",  # review: the trunk 0 after a bare 84 was kept (+840912345678)
    "840912345678",
    "0912345678",
    "912345678",  # a spreadsheet dropped the leading 0
    "'0912345678",  # Excel's text apostrophe
    "０９１２３４５６７８",  # full-width digits
    "＋８４ ９１２ ３４５ ６７８",  # full-width plus too
    "٠٩١٢٣٤٥٦٧٨",  # Arabic-Indic digits
    "SĐT: 0912 345 678",
    "0912 345 678 (Zalo)",
    "Anh Hùng - 0912345678 - nhà văn hoá",
    "  0912345678\t",
    "0912\u00a0345\u00a0678",
]


@pytest.mark.parametrize("raw", SHAPES)
def test_every_input_shape_normalises_to_e164(raw: str) -> None:
    result = normalize(raw)
    assert result.ok, result.reason
    assert result.e164 == "+84912345678"
    assert result.kind is NumberKind.MOBILE
    assert result.carrier_hint is Carrier.VINAPHONE
    assert result.raw == raw


@pytest.mark.parametrize(("old", "new"), sorted(OLD_PREFIXES.items()))
def test_each_old_eleven_digit_prefix_is_converted(old: str, new: str) -> None:
    for raw in (f"0{old}1234567", f"+84 {old} 123 4567", f"84{old}1234567"):
        result = normalize(raw)
        assert result.ok, (raw, result.reason)
        assert result.e164 == f"+84{new}1234567"
        assert result.converted_from == f"0{old}1234567"
        # phonenumbers alone rejects the old form: that is why we convert first.
        assert not phonenumbers.is_valid_number(phonenumbers.parse(f"0{old}1234567", "VN"))


def test_old_prefix_table_matches_domain_facts() -> None:
    assert len(OLD_PREFIXES) == 21
    assert OLD_PREFIXES["168"] == "38" and OLD_PREFIXES["121"] == "79"
    assert OLD_PREFIXES["127"] == "81" and OLD_PREFIXES["199"] == "59"


@pytest.mark.parametrize(
    ("number", "carrier"),
    [
        ("0321234567", Carrier.VIETTEL), ("0861234567", Carrier.VIETTEL),
        ("0961234567", Carrier.VIETTEL), ("0981234567", Carrier.VIETTEL),
        ("0811234567", Carrier.VINAPHONE), ("0881234567", Carrier.VINAPHONE),
        ("0941234567", Carrier.VINAPHONE),
        ("0701234567", Carrier.MOBIFONE), ("0761234567", Carrier.MOBIFONE),
        ("0901234567", Carrier.MOBIFONE), ("0931234567", Carrier.MOBIFONE),
        ("0896123456", Carrier.MOBIFONE),
        ("0561234567", Carrier.VIETNAMOBILE), ("0581234567", Carrier.VIETNAMOBILE),
        ("0921234567", Carrier.VIETNAMOBILE), ("0522234567", Carrier.VIETNAMOBILE),
        ("0591234567", Carrier.GMOBILE), ("0991234567", Carrier.GMOBILE),
        ("0871234567", Carrier.ITELECOM),
        ("0559123456", Carrier.WINTEL),
    ],
)
def test_every_carrier_hint(number: str, carrier: Carrier) -> None:
    result = normalize(number)
    assert result.ok, result.reason
    assert result.carrier_hint is carrier


def test_every_prefix_in_the_table_has_a_carrier_and_all_carriers_are_used() -> None:
    assert set(CARRIER_PREFIXES.values()) == set(Carrier) - {Carrier.UNKNOWN}


def test_carrier_hint_is_only_a_hint_a_table_can_be_injected() -> None:
    # Number portability: an operator may know better; the table is data, not code.
    custom = NumberNormalizer(carriers={**CARRIER_PREFIXES, "91": Carrier.VIETTEL})
    assert custom("0912345678").carrier_hint is Carrier.VIETTEL
    assert normalize("0912345678").carrier_hint is Carrier.VINAPHONE


@pytest.mark.parametrize("raw", ["0205 3870 123", "02053870123", "+84 205 3870 123",
                                 "024 3825 1234"])
def test_landlines_are_refused_with_reason(raw: str) -> None:
    result = normalize(raw)
    assert result.kind is NumberKind.LANDLINE
    assert not result.ok
    assert result.code == "landline"
    assert result.reason == "landline: cannot receive SMS"
    assert result.e164 is not None and result.e164.startswith("+842")


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("không có", "no_number"),
        ("12345", "invalid_number"),
        ("0123", "invalid_number"),
        ("091234567", "invalid_number"),  # one digit short
        ("09123456789", "invalid_number"),  # one digit too many, not an old prefix
        ("01301234567", "unknown_old_prefix"),
        ("0912345678 / 0987654321", "several_numbers"),
        ("0912345678 0987654321", "several_numbers"),
        ("+1 202 555 0123", "foreign_number"),
        ("0086 10 1234 5678", "foreign_number"),
        ("1900 1234", "not_mobile"),
        ("1800 1234", "not_mobile"),
        ("0912+345678", "invalid_number"),
    ],
)
def test_invalid_numbers_have_a_reason_and_code(raw: str, code: str) -> None:
    result = normalize(raw)
    assert result.kind is NumberKind.INVALID
    assert result.e164 is None
    assert not result.ok
    assert result.code == code
    assert result.reason


@pytest.mark.parametrize("raw", ["0892 345 678", "0552 111 222", "0992 123 456",
                                 "0521 234 567"])
def test_numbers_phonenumbers_wrongly_rejects_are_flagged_not_dropped(raw: str) -> None:
    result = normalize(raw)
    parsed = phonenumbers.parse(raw, "VN")
    assert not phonenumbers.is_valid_number(parsed)  # the library says no …
    assert result.code == "rejected_live_prefix"  # … we say why, for a person to check
    assert "rejected by phonenumbers" in (result.reason or "")
    assert result.candidate == "+84" + "".join(c for c in raw if c.isdigit())[1:]
    assert result.carrier_hint is not Carrier.UNKNOWN


def test_normalize_never_raises_on_garbage() -> None:
    rng = random.Random(7)
    alphabet = "0123456789+()-. /abcĐđ０９\u00a0\t,;"
    for _ in range(3000):
        raw = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 25)))
        result = normalize(raw)
        assert result.ok == (result.reason is None)


def test_fast_path_agrees_with_phonenumbers_for_every_three_digit_prefix() -> None:
    """The fast path reuses phonenumbers' mobile pattern; check it never disagrees."""
    fast = NumberNormalizer()
    slow = NumberNormalizer(fast_path=False)
    rng = random.Random(3)
    for prefix in range(100, 1000):
        for _ in range(3):
            nsn = f"{prefix}{rng.randrange(10**6):06d}"
            a, b = fast("0" + nsn), slow("0" + nsn)
            assert (a.e164, a.kind, a.code, a.carrier_hint) == (
                b.e164, b.kind, b.code, b.carrier_hint), nsn
    assert fast.fast_hits > 0 and slow.fast_hits == 0
