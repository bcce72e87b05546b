"""SMS cost: GSM-7 vs UCS-2, parts, extension characters, Vietnamese, NFC vs NFD."""

from __future__ import annotations

import random
import unicodedata

import pytest

from langson_comms.sms.encoding import (
    GSM_BASIC,
    GSM_EXTENSION,
    Encoding,
    analyse,
    plain_text,
    strip_diacritics,
)


@pytest.mark.parametrize(
    ("length", "segments"), [(0, 0), (1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3),
                             (460, 4)],
)
def test_gsm7_parts(length: int, segments: int) -> None:
    cost = analyse("a" * length)
    assert cost.encoding is Encoding.GSM7
    assert (cost.units, cost.segments, cost.chars) == (length, segments, length)


@pytest.mark.parametrize(
    ("length", "segments"), [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)],
)
def test_ucs2_parts(length: int, segments: int) -> None:
    cost = analyse("ạ" * length)
    assert cost.encoding is Encoding.UCS2
    assert (cost.units, cost.segments) == (length, segments)


def test_extension_characters_count_two() -> None:
    assert GSM_EXTENSION == set("^{}\\[~]|€\f")
    cost = analyse("{x}")
    assert (cost.encoding, cost.units, cost.chars) == (Encoding.GSM7, 5, 3)
    assert analyse("€" * 80).segments == 1  # 160 units
    assert analyse("€" * 81).segments == 2  # 162 units


def test_extension_character_is_not_split_across_parts() -> None:
    # 152 plain characters then '€': 154 units; the escape pair cannot straddle the
    # 153-unit boundary, so part 1 holds 152 units and part 2 the rest.
    text = "a" * 152 + "€" + "b" * 152
    cost = analyse(text)
    assert cost.units == 152 + 2 + 152
    assert cost.segments == 3  # naive ceil(306 / 153) would say 2


def test_one_non_gsm_character_makes_the_whole_message_ucs2() -> None:
    assert analyse("Hello " * 20).encoding is Encoding.GSM7
    cost = analyse("Hello " * 20 + "ạ")
    assert cost.encoding is Encoding.UCS2
    assert cost.segments == 2  # 121 UCS-2 units


def test_characters_outside_the_bmp_take_two_ucs2_units() -> None:
    cost = analyse("🙂")
    assert (cost.encoding, cost.units, cost.chars) == (Encoding.UCS2, 2, 1)


def test_fast_count_agrees_with_the_gsm0338_codec() -> None:
    rng = random.Random(11)
    alphabet = sorted(GSM_BASIC | GSM_EXTENSION)
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
        assert analyse(text).units == len(text.encode("gsm03.38"))


VIETNAMESE = ("Hãy tải phần mềm Công dân số Xứ Lạng trên CHPlay/AppStore để phản ánh kiến "
              "nghị, dùng dịch vụ công trực tuyến và hỏi trợ lý ảo iSee thật nhanh chóng!!!")


def test_vietnamese_with_diacritics_is_ucs2_and_without_is_gsm7() -> None:
    assert len(VIETNAMESE) == 151
    accented = analyse(VIETNAMESE)
    assert (accented.encoding, accented.units, accented.segments) == (Encoding.UCS2, 151, 3)
    plain = strip_diacritics(VIETNAMESE)
    assert plain.startswith("Hay tai phan mem Cong dan so Xu Lang")
    unaccented = analyse(plain)
    assert (unaccented.encoding, unaccented.units, unaccented.segments) == (Encoding.GSM7, 151, 1)


def test_the_few_accented_letters_in_gsm7() -> None:
    assert analyse("àèéìòùÉ").encoding is Encoding.GSM7
    assert analyse("á").encoding is Encoding.UCS2


def test_nfd_input_is_normalised_before_counting() -> None:
    nfd = unicodedata.normalize("NFD", VIETNAMESE)
    assert len(nfd) > len(VIETNAMESE)
    assert analyse(nfd) == analyse(VIETNAMESE)
    # 'è' decomposed would not be GSM-7; composed it is.
    assert analyse(unicodedata.normalize("NFD", "è")).encoding is Encoding.GSM7


def test_strip_diacritics_maps_d_with_stroke() -> None:
    assert strip_diacritics("Đường Đình Lập, đồng bào") == "Duong Dinh Lap, dong bao"
    assert strip_diacritics("Ðà") == "Da"  # U+00D0, the look-alike
    assert strip_diacritics(unicodedata.normalize("NFD", "Lạng Sơn")) == "Lang Son"


def test_plain_text_makes_typographic_punctuation_gsm() -> None:
    text = "Tải “Công dân số Xứ Lạng” – nhanh…"
    assert plain_text(text) == 'Tai "Cong dan so Xu Lang" - nhanh...'
    assert analyse(plain_text(text)).encoding is Encoding.GSM7
    assert analyse(strip_diacritics(text)).encoding is Encoding.UCS2


def test_qc_label_and_footer_are_counted() -> None:
    body = "a" * 130
    footer = "Tu choi QC soan TC gui 1234"
    assert analyse(body).segments == 1
    # '[' and ']' are extension characters: "[QC] " costs 7 units.
    assert analyse(f"[QC] {body} {footer}").units == 7 + 130 + 1 + len(footer)
    assert analyse(f"[QC] {body} {footer}").segments == 2
    assert analyse("[QC]").units == 6
