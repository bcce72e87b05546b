"""SMS: numbers, text cost, audiences, rendering, compliance policies and preparation.

Submodules: ``numbers`` (E.164, kind, carrier hint), ``encoding`` (GSM-7/UCS-2 cost,
"không dấu"), ``audience`` (reading subscriber lists, the prepared and quarantine
files), ``render`` (a message for one recipient), ``policies`` (the policy base and
decisions), ``prepare`` (all of it into a counted send plan), ``gateway`` (the
gateway base a plugin subclasses, ``OutgoingSms`` in and ``SubmitResult`` out) and
``http_gateway`` (the generic HTTP gateway) and ``secrets`` (a gateway's credential from
the environment or a secret file).

``__all__`` below is the curated public surface of those modules, importable from here
(``from langson_comms.sms import OutgoingSms``); each name is loaded from its module on
first use, so importing this package stays cheap and ``tabular`` (which uses
``encoding``) can import from ``langson_comms.sms`` without a cycle. The sending
machinery (``ledger``, ``engine``, ``reports``, ``lease``, ``breaker``, ``ratelimit``) is
imported from its own module.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .audience import (
        AudienceFile,
        AudienceRow,
        NumberList,
        PreparedRow,
        iter_prepared,
        open_audience,
        read_audience,
        write_prepared,
    )
    from .encoding import Encoding, SmsCost, analyse, plain_text, strip_diacritics
    from .gateway import GatewayCapabilities, OutgoingSms, SmsGateway, SubmitResult
    from .http_gateway import GenericHttpConfig, GenericHttpGateway
    from .numbers import Carrier, NumberKind, NumberNormalizer, NumberResult, carrier_hint, normalize
    from .policies import Action, Decision, Outcome, Policy, PolicyContext, PolicySet, SendHistory, SmsItem
    from .prepare import PrepareConfig, PreparePlan, Preparer
    from .render import (
        MessageRenderer,
        MissingFieldError,
        RenderedSms,
        RenderError,
        RenderOptions,
        Template,
        TooLongError,
        render,
    )
    from .secrets import load_secret, read_secret

__all__ = [
    "Action",
    "AudienceFile",
    "AudienceRow",
    "Carrier",
    "Decision",
    "Encoding",
    "GatewayCapabilities",
    "GenericHttpConfig",
    "GenericHttpGateway",
    "MessageRenderer",
    "MissingFieldError",
    "NumberKind",
    "NumberList",
    "NumberNormalizer",
    "NumberResult",
    "Outcome",
    "OutgoingSms",
    "Policy",
    "PolicyContext",
    "PolicySet",
    "PrepareConfig",
    "PreparePlan",
    "PreparedRow",
    "Preparer",
    "RenderError",
    "RenderOptions",
    "RenderedSms",
    "SendHistory",
    "SmsCost",
    "SmsGateway",
    "SmsItem",
    "SubmitResult",
    "Template",
    "TooLongError",
    "analyse",
    "carrier_hint",
    "iter_prepared",
    "load_secret",
    "normalize",
    "open_audience",
    "plain_text",
    "read_audience",
    "read_secret",
    "render",
    "strip_diacritics",
    "write_prepared",
]

#: public name -> the submodule that defines it
_HOME = {
    "Action": "policies",
    "AudienceFile": "audience",
    "AudienceRow": "audience",
    "Carrier": "numbers",
    "Decision": "policies",
    "Encoding": "encoding",
    "GatewayCapabilities": "gateway",
    "GenericHttpConfig": "http_gateway",
    "GenericHttpGateway": "http_gateway",
    "MessageRenderer": "render",
    "MissingFieldError": "render",
    "NumberKind": "numbers",
    "NumberList": "audience",
    "NumberNormalizer": "numbers",
    "NumberResult": "numbers",
    "Outcome": "policies",
    "OutgoingSms": "gateway",
    "Policy": "policies",
    "PolicyContext": "policies",
    "PolicySet": "policies",
    "PrepareConfig": "prepare",
    "PreparePlan": "prepare",
    "PreparedRow": "audience",
    "Preparer": "prepare",
    "RenderError": "render",
    "RenderOptions": "render",
    "RenderedSms": "render",
    "SendHistory": "policies",
    "SmsCost": "encoding",
    "SmsGateway": "gateway",
    "SmsItem": "policies",
    "SubmitResult": "gateway",
    "Template": "render",
    "TooLongError": "render",
    "analyse": "encoding",
    "carrier_hint": "numbers",
    "iter_prepared": "audience",
    "load_secret": "secrets",
    "normalize": "numbers",
    "open_audience": "audience",
    "plain_text": "encoding",
    "read_audience": "audience",
    "read_secret": "secrets",
    "render": "render",
    "strip_diacritics": "encoding",
    "write_prepared": "audience",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
