"""Rendering a message for one recipient: fields, không dấu, label, footer, limits."""

from __future__ import annotations

import pytest

from langson_comms.errors import ConfigError, DataError
from langson_comms.messages import Message
from langson_comms.sms.encoding import Encoding, analyse
from langson_comms.sms.render import (
    MessageRenderer,
    MissingFieldError,
    RenderOptions,
    TooLongError,
    check_brandname,
    render,
)

INVITE = Message(key="invite", text="Chào {ten}, mời tải “Công dân số Xứ Lạng” tại xã {xa}.")


def test_fields_are_filled_and_cost_matches_the_text() -> None:
    sms = render(INVITE, {"ten": "Nguyễn Văn Đức", "xa": "Hữu Lũng"})
    assert sms.text == "Chào Nguyễn Văn Đức, mời tải “Công dân số Xứ Lạng” tại xã Hữu Lũng."
    assert sms.cost == analyse(sms.text)
    assert sms.cost.encoding is Encoding.UCS2


def test_missing_field_error_names_the_field_and_the_row() -> None:
    renderer = MessageRenderer(INVITE)
    with pytest.raises(MissingFieldError) as caught:
        renderer.render({"ten": "An", "xa": ""}, source="list.csv", line=12)
    error = caught.value
    assert isinstance(error, DataError)
    assert error.field == "xa" and error.line == 12
    assert str(error).startswith("list.csv:12: xa: message 'invite' needs field {xa}")
    assert "fields with values: ten" in str(error)


def test_defaults_fill_missing_fields() -> None:
    renderer = MessageRenderer(INVITE, RenderOptions(defaults={"ten": "bạn"}))
    assert renderer.render({"xa": "Mai Pha"}).text.startswith("Chào bạn,")


def test_unaccented_option_strips_message_and_fields_and_is_cheaper() -> None:
    fields = {"ten": "Nguyễn Văn Đức", "xa": "Hữu Lũng"}
    accented = render(INVITE, fields)
    plain = render(INVITE, fields, RenderOptions(unaccented=True))
    assert plain.text == 'Chao Nguyen Van Duc, moi tai "Cong dan so Xu Lang" tai xa Huu Lung.'
    assert plain.cost.encoding is Encoding.GSM7
    assert accented.cost.encoding is Encoding.UCS2
    assert plain.cost.segments <= accented.cost.segments


def test_label_and_footer_are_added_once_and_counted() -> None:
    options = RenderOptions(label="[QC]", footer="Tu choi QC soan TC gui 1234", unaccented=True)
    sms = render(INVITE, {"ten": "An", "xa": "Mai Pha"}, options)
    assert sms.text.startswith("[QC] Chao An,")
    assert sms.text.endswith(". Tu choi QC soan TC gui 1234")
    assert sms.cost == analyse(sms.text)
    already = Message(key="m", text="[QC] Xin chao. Tu choi QC soan TC gui 1234")
    assert render(already, {}, options).text == "[QC] Xin chao. Tu choi QC soan TC gui 1234"


def test_max_segments_refuses_long_texts() -> None:
    long = Message(key="long", text="Chào {ten}. " + "Nội dung dài. " * 10)
    renderer = MessageRenderer(long, RenderOptions(max_segments=2))
    with pytest.raises(TooLongError) as caught:
        renderer.render({"ten": "An"}, source="a.csv", line=3)
    assert caught.value.cost.segments > 2
    assert "at most 2 allowed" in str(caught.value)
    assert MessageRenderer(long, RenderOptions(max_segments=2, unaccented=True)).render(
        {"ten": "An"}).cost.segments == 1


def test_composed_cost_equals_full_analysis_for_many_values() -> None:
    """The renderer sums measured parts; check it against analysing the whole text."""
    text = "[QC] {ten} ở {xa}: " + "x" * 120 + " €{ten}"
    renderer = MessageRenderer(Message(key="k", text=text))
    for ten in ("An", "Đức", "{brace}", "a" * 40, "😀", "É"):
        for xa in ("Mai Pha", "X" * 30, "~|^"):
            sms = renderer.render({"ten": ten, "xa": xa})
            assert sms.cost == analyse(sms.text), (ten, xa)


@pytest.mark.parametrize("text", ["Chào {ten.upper}", "Chào {0}", "Chào {ten!r}",
                                  "Chào {ten:>10}", "Chào {", "Chào {}"])
def test_templates_only_take_plain_field_names(text: str) -> None:
    with pytest.raises(ConfigError, match="message 'bad'"):
        MessageRenderer(Message(key="bad", text=text))


def test_literal_braces_are_escaped() -> None:
    assert render(Message(key="b", text="{{QC}} {ten}"), {"ten": "An"}).text == "{QC} An"


@pytest.mark.parametrize("name", ["UBND LSON", "LANGSON", "STTTT-LS", "A" * 11])
def test_brandnames_up_to_eleven_characters(name: str) -> None:
    assert check_brandname(name) == name
    assert RenderOptions(brandname=name).brandname == name


@pytest.mark.parametrize("name", ["", "A" * 12, "Lạng Sơn", "UBND/LS", " LEADING"])
def test_bad_brandnames_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="brandname"):
        check_brandname(name)
