"""Who reads the report: the whole campaign, or one office of the plan.

``--for press|digital-transformation|technology-centre|district:<code>`` picks a ``View``;
each section of the report (``sections.py``) says which offices it serves, and a
district view also keeps only that district's rows.  The offices are those of the
reference plan: the Press-Publishing office (press weeks, press reach), the Digital
Transformation office (the campaign's KPIs, pacing, the leaderboard), the Digital
Technology Centre (the app's installs, sign-ups per platform, SMS delivery and the
attribution of installs) and the district centres (their district's figures).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from ..errors import ConfigError
from ..regions import Level

if TYPE_CHECKING:
    from ..campaign import Campaign

__all__ = ["OFFICES", "View", "parse_view"]

#: office key → its name in Vietnamese (the report's heading)
OFFICES = {
    "press": "Phòng Báo chí – Xuất bản",
    "digital-transformation": "Phòng Chuyển đổi số",
    "technology-centre": "Trung tâm Công nghệ số",
    "district": "Trung tâm huyện",
}


@attrs.frozen
class View:
    """``office`` is ``None`` for the whole report; ``district`` the district code of a
    ``district:<code>`` view."""

    office: str | None = None
    district: str | None = None

    @property
    def title(self) -> str:
        if self.office is None:
            return "Toàn chiến dịch"
        if self.district is not None:
            return f"{OFFICES['district']} {self.district}"
        return OFFICES[self.office]

    @property
    def slug(self) -> str:
        """A file-name part: ``""`` for the whole report, ``-press``, ``-district-<code>``."""
        if self.office is None:
            return ""
        return f"-{self.office}" + ("" if self.district is None else f"-{self.district}")

    def shows(self, offices: tuple[str, ...]) -> bool:
        return self.office is None or self.office in offices


def parse_view(text: str | None, campaign: Campaign | None = None) -> View:
    """The ``--for`` value as a ``View``; ``ConfigError`` saying what is expected.  With
    ``campaign`` (whose regions name districts), a ``district:<code>`` must be one of
    them (a typo would be a report of zeros)."""
    if text is None or text == "":
        return View()
    if text.startswith("district:"):
        code = text.removeprefix("district:").strip()
        if not code:
            raise ConfigError("--for district: needs a district code (expected district:<code>, e.g. district:180)")
        districts = [] if campaign is None else sorted(
            (r.code for r in campaign.regions if r.level is Level.DISTRICT), key=int)
        if districts:
            code = str(int(code)) if code.isdigit() else code  # 0178 is 178, as in the regions file
            if code not in districts:
                raise ConfigError(f"{text!r}: {code} is not a district of the campaign (expected one of the "
                                  f"campaign's districts: {', '.join(districts)})", key="--for")
        return View("district", code)
    if text in OFFICES and text != "district":
        return View(text)
    expected = ", ".join([*(k for k in OFFICES if k != "district"), "district:<code>"])
    raise ConfigError(f"--for {text!r} is not an office of the plan (expected one of {expected})")
