"""SMPP 3.4 ``command_status`` values and how the gateway judges them.

smpp34 exports only eleven of the spec's status constants (``ESME_ROK`` …
``ESME_RUNKNOWNERR``); the names of the others, which SMSCs do answer (bind refusals,
``ESME_RX_T_APPN``…), are copied here from the SMPP 3.4 specification, table 5-2, so
errors and logs say ``ESME_RINVPASWD`` instead of ``0x0000000E``.
"""

from __future__ import annotations

import enum

__all__ = ["BIND_REFUSED", "RESESSION", "THROTTLING", "TLV_MESSAGE_PAYLOAD", "TLV_MESSAGE_STATE",
           "TLV_NETWORK_ERROR_CODE", "TLV_RECEIPTED_MESSAGE_ID", "TRANSIENT", "Status", "status_name"]


class Status(enum.IntEnum):
    ESME_ROK = 0x00
    ESME_RINVMSGLEN = 0x01
    ESME_RINVCMDLEN = 0x02
    ESME_RINVCMDID = 0x03
    ESME_RINVBNDSTS = 0x04
    ESME_RALYBND = 0x05
    ESME_RINVPRTFLG = 0x06
    ESME_RINVREGDLVFLG = 0x07
    ESME_RSYSERR = 0x08
    ESME_RINVSRCADR = 0x0A
    ESME_RINVDSTADR = 0x0B
    ESME_RINVMSGID = 0x0C
    ESME_RBINDFAIL = 0x0D
    ESME_RINVPASWD = 0x0E
    ESME_RINVSYSID = 0x0F
    ESME_RCANCELFAIL = 0x11
    ESME_RREPLACEFAIL = 0x13
    ESME_RMSGQFUL = 0x14
    ESME_RINVSERTYP = 0x15
    ESME_RINVNUMDESTS = 0x33
    ESME_RINVDLNAME = 0x34
    ESME_RINVDESTFLAG = 0x40
    ESME_RINVSUBREP = 0x42
    ESME_RINVESMCLASS = 0x43
    ESME_RCNTSUBDL = 0x44
    ESME_RSUBMITFAIL = 0x45
    ESME_RINVSRCTON = 0x48
    ESME_RINVSRCNPI = 0x49
    ESME_RINVDSTTON = 0x50
    ESME_RINVDSTNPI = 0x51
    ESME_RINVSYSTYP = 0x53
    ESME_RINVREPFLAG = 0x54
    ESME_RINVNUMMSGS = 0x55
    ESME_RTHROTTLED = 0x58
    ESME_RINVSCHED = 0x61
    ESME_RINVEXPIRY = 0x62
    ESME_RINVDFTMSGID = 0x63
    ESME_RX_T_APPN = 0x64
    ESME_RX_P_APPN = 0x65
    ESME_RX_R_APPN = 0x66
    ESME_RQUERYFAIL = 0x67
    ESME_RINVOPTPARSTREAM = 0xC0
    ESME_ROPTPARNOTALLWD = 0xC1
    ESME_RINVPARLEN = 0xC2
    ESME_RMISSINGOPTPARAM = 0xC3
    ESME_RINVOPTPARAMVAL = 0xC4
    ESME_RDELIVERYFAILURE = 0xFE
    ESME_RUNKNOWNERR = 0xFF


#: The SMSC is too busy right now: retry after ``throttle_backoff`` seconds.
THROTTLING = frozenset({Status.ESME_RTHROTTLED, Status.ESME_RMSGQFUL})

#: Worth another attempt (the SMSC's trouble, not the message's).
TRANSIENT = THROTTLING | {Status.ESME_RSYSERR, Status.ESME_RX_T_APPN, Status.ESME_RUNKNOWNERR,
                          Status.ESME_RINVBNDSTS}

#: The session is in a bad state: bind a new one before the next submit.
RESESSION = frozenset({Status.ESME_RINVBNDSTS})

#: A bind answered with one of these is refused for good: wrong system id, password or
#: system type, or the SMSC's generic "bind failed" (IP not allowed, account blocked).
#: An operator must act; the engine stops with the rows still queued.
BIND_REFUSED = frozenset({Status.ESME_RBINDFAIL, Status.ESME_RINVPASWD, Status.ESME_RINVSYSID,
                          Status.ESME_RINVSYSTYP, Status.ESME_RALYBND})


def status_name(status: int) -> str:
    """``ESME_RTHROTTLED (0x00000058)``; unknown values as hex only."""
    try:
        return f"{Status(status).name} (0x{status:08X})"
    except ValueError:
        return f"command_status 0x{status:08X}"


# TLV tags (SMPP 3.4 §5.3.2).  smpp34 sets its ``TLV_*`` names on the package at import
# time, which type checkers cannot see; the values are the spec's (a test compares them).
TLV_RECEIPTED_MESSAGE_ID = 0x001E
TLV_NETWORK_ERROR_CODE = 0x0423
TLV_MESSAGE_PAYLOAD = 0x0424
TLV_MESSAGE_STATE = 0x0427
