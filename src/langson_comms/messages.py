"""Campaign messages: text normalised to NFC, promotional unless an operator says otherwise.

Decree 91/2020 treats advertising SMS strictly; whether a campaign message is
advertising is a legal judgement.  So every message is ``promotional`` by default and
becomes ``public_notice`` only when the campaign file says so *and* names who decided
(``classified_by``); the decision is kept on the message so it can be logged.
"""

from __future__ import annotations

import enum
import unicodedata

import attrs

from .config import InvalidValue

__all__ = ["Classification", "Message", "nfc"]


def nfc(text: str) -> str:
    """Unicode NFC: composed Vietnamese letters, so counts and comparisons are stable."""
    return unicodedata.normalize("NFC", text)


class Classification(enum.StrEnum):
    PROMOTIONAL = "promotional"
    PUBLIC_NOTICE = "public_notice"


def _nonempty(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value.strip():
        raise InvalidValue(attribute.name, f"{attribute.name} must not be empty")


def _classification(value: str | Classification) -> Classification:
    try:
        return Classification(value)
    except ValueError:
        raise InvalidValue(
            "classification",
            f"{value!r} is not a classification (expected 'promotional' or 'public_notice')",
        ) from None


@attrs.frozen
class Message:
    """One campaign message.

    ``classified_by`` is required for a ``public_notice`` (who decided it is not
    advertising), and ignored otherwise.
    """

    key: str = attrs.field(validator=_nonempty)
    text: str = attrs.field(converter=nfc, validator=_nonempty)
    classification: Classification = attrs.field(
        default=Classification.PROMOTIONAL, converter=_classification
    )
    classified_by: str | None = None
    tags: frozenset[str] = attrs.field(default=frozenset(), converter=frozenset)
    language: str = "vi"
    audience: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.classification is Classification.PUBLIC_NOTICE and not self.classified_by:
            raise InvalidValue(
                "classification",
                "a public_notice message needs classified_by (who decided it is not advertising)",
            )

    @property
    def promotional(self) -> bool:
        return self.classification is Classification.PROMOTIONAL

    @property
    def public_notice(self) -> bool:
        return self.classification is Classification.PUBLIC_NOTICE
