"""VNPT (VinaPhone) brandname SMS gateway for langson_comms (``kind = "vnpt"``): the JSON
``RQST`` envelope's ``send_sms_list``, with a registered template and its PARAMS.

Registered through the ``langson_comms`` entry point group; see README.md for every key.
The wire format comes from public integrations: check it against the carrier's contract.
"""

from __future__ import annotations

from typing import Any

from langson_comms import hookimpl

from .config import VnptCodes, VnptConfig
from .gateway import VnptGateway

__all__ = ["VnptCodes", "VnptConfig", "VnptGateway", "register_sms_gateways"]


@hookimpl
def register_sms_gateways() -> list[type[Any]]:
    return [VnptGateway]
