"""The one error tree of langson_comms.

Every error the library raises on purpose is a ``LangsonCommsError``::

    LangsonCommsError
    ├── ConfigError (ValueError)          a campaign file, CSV or option is wrong; says where
    │   ├── CampaignFileError             one or more located problems in a campaign file
    │   └── OutputClashError              an output is an input or another output (names both)
    ├── DataError (ValueError)            an input row is malformed; says file, line, column
    │   └── DataErrors                    several malformed rows of one file, all listed
    ├── PluginError                       a plugin failed to load, clashed or raised; names it
    │   └── UnknownNameError (LookupError) no registered class has that name
    ├── PolicyError                       a policy refused a message (names the policy)
    ├── GatewayError                      a gateway could not hand a message over
    │   ├── TransientGatewayError         worth retrying: timeout, connection, 5xx, 429
    │   └── PermanentGatewayError         never retried: rejected number, bad credentials
    │       └── WrongRouteError           not this gateway's to reach: try the row's next route
    ├── LedgerError                       the durable store refused an operation
    │   └── SenderBusyError               another sender holds the message's lease (names it)
    └── ScheduleError                     a broadcast schedule cannot be built

Vendor and transport exceptions are translated at the seam with ``raise … from exc``
so callers only ever catch this tree.  ``exit_code`` tells the CLI what to return:
2 for usage and configuration errors, 1 for runtime failures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

__all__ = [
    "CampaignFileError",
    "ConfigError",
    "DataError",
    "DataErrors",
    "GatewayError",
    "LangsonCommsError",
    "LedgerError",
    "OutputClashError",
    "PermanentGatewayError",
    "PluginError",
    "PolicyError",
    "Problem",
    "ScheduleError",
    "SenderBusyError",
    "TransientGatewayError",
    "UnknownNameError",
    "WrongRouteError",
]


class LangsonCommsError(Exception):
    """Base of every error raised by langson_comms on purpose."""

    exit_code: int = 1


class ConfigError(LangsonCommsError, ValueError):
    """A configuration value is wrong.

    ``source`` is the file (or ``None``), ``key`` the dotted key path such as
    ``channels.broadcast.weekdays[2]``, ``line`` the line where known.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        key: str | None = None,
        line: int | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.key = key
        self.line = line
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.source:
            where.append(self.source if self.line is None else f"{self.source}:{self.line}")
        if self.key:
            where.append(self.key)
        return ": ".join([*where, self.message])


class OutputClashError(ConfigError):
    """An output is one of the inputs (``is_input``) or another output: ``output`` and
    ``other`` are the (label, path) pairs, the labels the caller's names for them (an API
    parameter such as ``prepared``; ``relabel`` gives the CLI's flag instead)."""

    def __init__(self, output: tuple[str, Path], other: tuple[str, Path], *, is_input: bool) -> None:
        self.output, self.other, self.is_input = output, other, is_input
        (label, path), (other_label, other_path) = output, other
        if is_input:
            text = (f"{label} {path} is the input {other_label} {other_path}: an output never "
                    "overwrites an input (expected another file name)")
        else:
            text = (f"{label} {path} is also {other_label} {other_path}: each output needs its "
                    "own file (expected different file names)")
        super().__init__(text, source=str(path))

    def relabel(self, names: Mapping[str, str]) -> OutputClashError:
        """The same error with each label found in ``names`` replaced by its value."""
        (label, path), (other_label, other_path) = self.output, self.other
        return OutputClashError((names.get(label, label), path),
                                (names.get(other_label, other_label), other_path),
                                is_input=self.is_input)


@attrs.frozen
class Problem:
    """One located problem: ``key`` is a dotted path, ``line`` a 1-based line or None."""

    key: str
    message: str
    line: int | None = None

    def format(self, source: str | None) -> str:
        parts = []
        if source:
            parts.append(source if self.line is None else f"{source}:{self.line}")
        if self.key:
            parts.append(self.key)
        parts.append(self.message)
        return ": ".join(parts)


class CampaignFileError(ConfigError):
    """A campaign file has one or more problems; ``problems`` lists them all."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        first = self.problems[0]
        super().__init__(first.message, source=source, key=first.key or None, line=first.line)

    def _format(self) -> str:
        return "\n".join(p.format(self.source) for p in self.problems)


class DataError(LangsonCommsError, ValueError):
    """A row of an input file is malformed.

    Carries ``source`` (file), ``line`` (1-based physical line), ``column`` (header
    name) and ``value`` (the raw text) where known.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        column: str | None = None,
        value: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.column = column
        self.value = value
        where = ""
        if source:
            where = source if line is None else f"{source}:{line}"
        if column:
            where = f"{where}: {column}" if where else column
        super().__init__(f"{where}: {message}" if where else message)


class DataErrors(DataError):
    """Several rows of one input file are malformed; ``errors`` lists them all, in order.

    Its text is one line per problem; ``source``/``line``/``column`` are the first one's.
    """

    def __init__(self, errors: Sequence[DataError]) -> None:
        self.errors = tuple(errors)
        first = self.errors[0]
        super().__init__(first.message, source=first.source, line=first.line,
                         column=first.column, value=first.value)

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


class PluginError(LangsonCommsError):
    """A plugin failed to import, clashed with another, or raised inside a hook."""

    exit_code = 2

    def __init__(self, message: str, *, plugin: str | None = None) -> None:
        self.plugin = plugin
        super().__init__(message)


class UnknownNameError(PluginError, LookupError):
    """No registered class of that kind has that name."""


class PolicyError(LangsonCommsError):
    """A compliance policy refused a message; ``policy`` names it."""

    def __init__(self, message: str, *, policy: str) -> None:
        self.policy = policy
        super().__init__(f"{policy}: {message}")


class GatewayError(LangsonCommsError):
    """A gateway could not hand messages over; ``gateway`` names it."""

    def __init__(
        self, message: str, *, gateway: str | None = None, status: int | None = None
    ) -> None:
        self.gateway = gateway
        self.status = status
        super().__init__(f"{gateway}: {message}" if gateway else message)


class TransientGatewayError(GatewayError):
    """Retry later: timeout, connection error, 5xx, 429 (``retry_after`` seconds if given).

    ``in_doubt``: the request went out and its answer was lost (a timeout while reading,
    an unreadable answer): the gateway may have taken the message, so the engine sends
    the row again only to this gateway (same idempotency key), never to another route."""

    def __init__(
        self,
        message: str,
        *,
        gateway: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
        in_doubt: bool = False,
    ) -> None:
        self.retry_after = retry_after
        self.in_doubt = in_doubt
        super().__init__(message, gateway=gateway, status=status)


class PermanentGatewayError(GatewayError):
    """Never retried: the gateway refused the message for good."""


class WrongRouteError(PermanentGatewayError):
    """This gateway cannot reach this number, though another route may: a carrier says
    "not my subscriber" (the number was ported), Zalo says the number has no Zalo account
    or refused the template.  Never retried on the same gateway; the engine moves the row
    to its next route instead of failing it.  ``reason`` is a short code such as
    ``"not_subscriber"``, ``"no_zalo_account"`` or ``"template_refused"``."""

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        gateway: str | None = None,
        status: int | None = None,
    ) -> None:
        self.reason = reason
        super().__init__(message, gateway=gateway, status=status)


class LedgerError(LangsonCommsError):
    """The durable store refused an operation."""


class SenderBusyError(LedgerError):
    """Another sender holds (or took over) the sending lease of a message; the text names
    it (host, pid, heartbeat age) and when the lease expires."""


class ScheduleError(LangsonCommsError):
    """A broadcast schedule cannot be built as configured."""
