"""MobiFone brandname SMS gateway for langson_comms (``kind = "mobifone"``): the session
API (``login.jsp`` → session id, ``send.jsp`` / ``send_2.jsp``).

Registered through the ``langson_comms`` entry point group; see README.md for every key.
"""

from __future__ import annotations

from typing import Any

from langson_comms import hookimpl

from .config import MobifoneConfig
from .gateway import ACCOUNT_REFUSED, MobifoneGateway, Status

__all__ = ["ACCOUNT_REFUSED", "MobifoneConfig", "MobifoneGateway", "Status", "register_sms_gateways"]


@hookimpl
def register_sms_gateways() -> list[type[Any]]:
    return [MobifoneGateway]
