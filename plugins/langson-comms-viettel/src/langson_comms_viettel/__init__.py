"""Viettel brandname SMS gateway for langson_comms (``kind = "viettel"``): the SOAP
service's ``wsCpMt`` operation, built and read with lxml.

Registered through the ``langson_comms`` entry point group; see README.md for every key.
The wire format comes from public integrations: check it against the carrier's contract.
"""

from __future__ import annotations

from typing import Any

from langson_comms import hookimpl

from .config import ViettelCodes, ViettelConfig
from .gateway import ViettelGateway

__all__ = ["ViettelCodes", "ViettelConfig", "ViettelGateway", "register_sms_gateways"]


@hookimpl
def register_sms_gateways() -> list[type[Any]]:
    return [ViettelGateway]
