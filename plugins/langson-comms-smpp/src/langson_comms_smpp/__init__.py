"""SMPP 3.4 SMS gateway for langson_comms (``kind = "smpp"``), on the smpp34 package.

Registered through the ``langson_comms`` entry point group; see README.md for every key.
"""

from __future__ import annotations

from typing import Any

from langson_comms import hookimpl

from .config import LongMessages, SmppConfig
from .gateway import SmppGateway

__all__ = ["LongMessages", "SmppConfig", "SmppGateway", "register_sms_gateways"]


@hookimpl
def register_sms_gateways() -> list[type[Any]]:
    return [SmppGateway]
