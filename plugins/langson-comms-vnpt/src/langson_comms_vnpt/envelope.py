"""The ``RQST``/``RPLY`` JSON envelope of VNPT's brandname API (``send_sms_list``).

Request (every value a string)::

    {"RQST": {"name": "send_sms_list", "REQID": "…", "LABELID": "<brandname>",
              "CONTRACTTYPEID": "1", "CONTRACTID": "…", "TEMPLATEID": "…",
              "PARAMS": [{"NUM": "1", "CONTENT": "<the rendered text>"}],
              "SCHEDULETIME": "", "MOBILELIST": "84912345678", "ISTELCOSUB": "0",
              "AGENTID": "…", "APIUSER": "…", "APIPASS": "…", "USERNAME": "…",
              "DATACODING": "0" | "8"}}

Answer: ``{"RPLY": {"name": "send_sms_list", "ERROR": "0", "ERROR_DESC": "success"}}``.
The format comes from public integrations: check it against the carrier's contract.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple

__all__ = ["DATACODING_GSM", "DATACODING_UCS2", "OPERATION", "Reply", "UnreadableReply",
           "build_request", "parse_reply", "read_request", "reply"]

OPERATION = "send_sms_list"
DATACODING_GSM = "0"
DATACODING_UCS2 = "8"


class Reply(NamedTuple):
    error: str
    description: str


class UnreadableReply(ValueError):
    """Not an ``RPLY`` answer (the message says what was found)."""


def build_request(fields: Mapping[str, Any]) -> bytes:
    """The request body: ``{"RQST": {"name": "send_sms_list", **fields}}`` in UTF-8."""
    return json.dumps({"RQST": {"name": OPERATION, **fields}}, ensure_ascii=False).encode()


def parse_reply(content: bytes) -> Reply:
    try:
        data = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        raise UnreadableReply("not JSON") from None
    reply_ = data.get("RPLY") if isinstance(data, dict) else None
    if not isinstance(reply_, dict):
        raise UnreadableReply(f"no RPLY object in a {type(data).__name__}")
    error = reply_.get("ERROR")
    if isinstance(error, bool) or not isinstance(error, str | int) or error == "":
        raise UnreadableReply("RPLY without an ERROR code")
    description = reply_.get("ERROR_DESC")
    return Reply(str(error), description if isinstance(description, str) else "")


def reply(error: str, description: str) -> dict[str, Any]:
    """An answer (the simulator's side)."""
    return {"RPLY": {"name": OPERATION, "ERROR": error, "ERROR_DESC": description}}


def read_request(content: bytes) -> dict[str, Any]:
    """The ``RQST`` object of a request (the simulator's side)."""
    try:
        data = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        raise UnreadableReply("the body is not JSON") from None
    request = data.get("RQST") if isinstance(data, dict) else None
    if not isinstance(request, dict):
        raise UnreadableReply("no RQST object")
    return request
