"""Rendering a campaign message as the SMS one recipient receives, and what it costs.

A message text is a template: ``{ten}``, ``{xa}`` … are filled from the recipient's
fields (the extra columns of their audience row); ``{{`` and ``}}`` are literal braces.
Only plain names are allowed in braces (no ``{ten.upper}`` or format specs).

``MessageRenderer`` compiles a message once and renders it per recipient.  It also
prices texts without re-reading them: GSM-7/UCS-2 units are additive, so the cost of a
rendered text is the sum of its template's literal parts (measured once) and its field
values (measured once per distinct value, cached).  Only a long text holding 2-unit
characters is re-analysed in full, because where it splits then depends on position.

Options: "không dấu" (``unaccented``: diacritics removed, đ → d, typographic quotes and
dashes made ASCII — see ``encoding.plain_text``), a ``[QC]``-style label
and an opt-out footer (normally added by the compliance policies, see
``sms.policies``), a brandname (≤ 11 characters, checked) and a maximum number of parts.
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata
from collections.abc import Callable, Mapping

import attrs

from ..errors import ConfigError, DataError
from ..messages import Message
from .encoding import SmsCost, TextMeasure, analyse, measure, plain_text

__all__ = [
    "BRANDNAME_MAX",
    "MessageRenderer",
    "MissingFieldError",
    "RenderError",
    "RenderOptions",
    "RenderedSms",
    "Template",
    "TooLongError",
    "check_brandname",
    "render",
]

BRANDNAME_MAX = 11
_BRANDNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._&-]*$")
_FIELD_RE = re.compile(r"^[^\W\d]\w*$")


class RenderError(DataError):
    """A message cannot be rendered for a recipient (a field is missing, it is too long)."""

    code: str = "render"


class MissingFieldError(RenderError):
    """A template field has no value in the recipient's row."""

    code = "missing_field"

    def __init__(self, message: str, *, field: str, **where: object) -> None:
        self.field = field
        super().__init__(message, **where)  # type: ignore[arg-type]


class TooLongError(RenderError):
    """The rendered text needs more parts than allowed."""

    code = "too_long"

    def __init__(self, message: str, *, cost: SmsCost, **where: object) -> None:
        self.cost = cost
        super().__init__(message, **where)  # type: ignore[arg-type]


def check_brandname(name: str) -> str:
    """Return ``name`` if it can be an SMS brandname (1–11 characters, ASCII letters,
    digits, space and ``. _ & -``, starting with a letter or digit); ``ConfigError`` if not."""
    if not name or len(name) > BRANDNAME_MAX:
        raise ConfigError(
            f"brandname {name!r} has {len(name)} characters; expected 1 to {BRANDNAME_MAX}",
            key="brandname",
        )
    if not _BRANDNAME_RE.match(name):
        raise ConfigError(
            f"brandname {name!r} may only hold ASCII letters, digits, spaces and . _ & -",
            key="brandname",
        )
    return name


@attrs.frozen
class Template:
    """A message text split into literal parts and field names."""

    source: str
    parts: tuple[tuple[str, str | None], ...]

    @classmethod
    def parse(cls, text: str, *, where: str = "message") -> Template:
        parts: list[tuple[str, str | None]] = []
        try:
            parsed = list(string.Formatter().parse(text))
        except ValueError as exc:
            raise ConfigError(
                f"{where}: bad braces in text ({exc}); write {{{{ and }}}} for literal braces"
            ) from exc
        for literal, field, spec, conversion in parsed:
            if field is not None:
                if spec or conversion or not _FIELD_RE.match(field):
                    raise ConfigError(
                        f"{where}: template field {{{field}{'!' + conversion if conversion else ''}"
                        f"{':' + spec if spec else ''}}} is not a plain name such as {{ten}}"
                    )
            parts.append((literal, field))
        return cls(text, tuple(parts))

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(f for _, f in self.parts if f is not None)


@attrs.frozen
class RenderOptions:
    """How to turn a message into SMS text.

    ``label`` is put in front (``"[QC]"`` → ``"[QC] text"``) unless the text already
    starts with it; ``footer`` is appended after a space unless already there;
    ``defaults`` gives values for fields a recipient lacks (an empty cell counts as
    lacking).  ``max_segments`` refuses longer texts.
    """

    unaccented: bool = False
    label: str | None = None
    footer: str | None = None
    brandname: str | None = attrs.field(default=None)
    max_segments: int | None = None
    defaults: Mapping[str, str] = attrs.field(factory=dict)

    @brandname.validator
    def _check_brandname(self, _: object, value: str | None) -> None:
        if value is not None:
            check_brandname(value)

    def __attrs_post_init__(self) -> None:
        if self.max_segments is not None and self.max_segments < 1:
            raise ConfigError(f"max_segments must be at least 1, got {self.max_segments}",
                              key="max_segments")


@attrs.frozen
class RenderedSms:
    """The text one recipient receives and its cost."""

    text: str
    cost: SmsCost


def add_label(text: str, label: str) -> str:
    """``label`` + space + ``text`` unless ``text`` already starts with the label."""
    return text if text.lstrip().startswith(label) else f"{label} {text.lstrip()}"


def add_footer(text: str, footer: str) -> str:
    """``text`` + space + ``footer`` unless ``text`` already ends with it."""
    return text if text.rstrip().endswith(footer) else f"{text.rstrip()} {footer}"


class MessageRenderer:
    """Renders one message for many recipients (compile once, render per row)."""

    def __init__(self, message: Message, options: RenderOptions | None = None) -> None:
        self.message = message
        self.options = options or RenderOptions()
        text = message.text
        if self.options.label:
            text = add_label(text, self.options.label)
        if self.options.footer:
            text = add_footer(text, self.options.footer)
        self.template = Template.parse(text, where=f"message {message.key!r}")
        transform: Callable[[str], str] = (
            plain_text if self.options.unaccented else _nfc
        )
        self._transform = transform
        self._literals = tuple(transform(lit) for lit, _ in self.template.parts)
        self._fields = tuple(f for _, f in self.template.parts)
        lit = TextMeasure.total(measure(lit) for lit in self._literals)
        self._literal_parts = (
            lit.chars, -1 if lit.gsm_units is None else lit.gsm_units, lit.ucs2_units,
            lit.gsm_ext, lit.astral)
        self._value = functools.lru_cache(maxsize=100_000)(self._measure_value)
        self._cost = functools.lru_cache(maxsize=4096)(self._cost_of)

    @property
    def fields(self) -> frozenset[str]:
        return self.template.fields

    def _measure_value(self, value: str) -> tuple[str, int, int, int, bool, bool]:
        text = self._transform(value)
        m = measure(text)
        gsm = -1 if m.gsm_units is None else m.gsm_units
        return text, m.chars, gsm, m.ucs2_units, m.gsm_ext, m.astral

    @staticmethod
    def _cost_of(chars: int, gsm: int, ucs2: int, ext: bool, astral: bool) -> SmsCost | None:
        return TextMeasure(chars, None if gsm < 0 else gsm, ucs2, ext, astral).cost()

    def _compose(
        self, fields: Mapping[str, str], source: str | None, line: int | None
    ) -> tuple[list[str], SmsCost | None]:
        # Hot loop (once or twice per recipient): plain ints rather than TextMeasure sums.
        pieces: list[str] = []
        chars, gsm, ucs2, ext, astral = self._literal_parts
        defaults = self.options.defaults
        for literal, field in zip(self._literals, self._fields, strict=True):
            pieces.append(literal)
            if field is None:
                continue
            value = fields.get(field) or defaults.get(field)
            if not value:
                known = ", ".join(sorted(k for k, v in fields.items() if v)) or "none"
                raise MissingFieldError(
                    f"message {self.message.key!r} needs field {{{field}}} but this recipient "
                    f"has no value for it (fields with values: {known})",
                    field=field, source=source, line=line, column=field,
                )
            text, v_chars, v_gsm, v_ucs2, v_ext, v_astral = self._value(value)
            pieces.append(text)
            chars += v_chars
            gsm = -1 if gsm < 0 or v_gsm < 0 else gsm + v_gsm
            ucs2 += v_ucs2
            ext = ext or v_ext
            astral = astral or v_astral
        return pieces, self._cost(chars, gsm, ucs2, ext, astral)

    def _checked(self, cost: SmsCost, source: str | None, line: int | None) -> SmsCost:
        limit = self.options.max_segments
        if limit is not None and cost.segments > limit:
            raise TooLongError(
                f"message {self.message.key!r} needs {cost.segments} {cost.encoding} parts "
                f"({cost.units} units) for this recipient; at most {limit} allowed",
                cost=cost, source=source, line=line,
            )
        return cost

    def render(
        self, fields: Mapping[str, str], *, source: str | None = None, line: int | None = None
    ) -> RenderedSms:
        """Render for one recipient; ``MissingFieldError``/``TooLongError`` name the row."""
        pieces, cost = self._compose(fields, source, line)
        rendered = "".join(pieces)
        return RenderedSms(rendered, self._checked(cost or analyse(rendered), source, line))

    def cost(
        self, fields: Mapping[str, str], *, source: str | None = None, line: int | None = None
    ) -> SmsCost:
        """What ``render(fields).cost`` would be, without building the text when possible."""
        pieces, cost = self._compose(fields, source, line)
        return self._checked(cost or analyse("".join(pieces)), source, line)


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def render(
    message: Message, fields: Mapping[str, str] | None = None,
    options: RenderOptions | None = None,
) -> RenderedSms:
    """Render ``message`` for one recipient (see ``MessageRenderer`` for many)."""
    return MessageRenderer(message, options).render(fields or {})
