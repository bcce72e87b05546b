"""Which compliance policies run for a message: one decision for preparing and sending.

``sms prepare`` and the send engine (``[channels.sms]`` in ``direct`` mode) both call
``select_policies``, so the same campaign gets the same policies, in the same order,
with the same exemptions and disabled policies on record:

* every registered policy runs, configured by its table (``[channels.sms.policies.<name>]``
  or ``[sms_prepare.policies.<name>]``; an absent table is an empty one);
* an *advertising rule* is not built at all for a ``public_notice`` message (its
  configuration — the Do-Not-Call list, the footer — is not needed): listed in ``exempt``;
* a policy named in ``disable`` is not built: listed in ``disabled`` (the callers log it
  and the prepare plan records it);
* for a promotional message the Decree 91/2020 rules that need options (``opt_out_footer``:
  the footer text, ``do_not_call``: the list) raise a located error from their
  ``from_config`` when those options are missing.

Order: the policies whose tables are configured, in the order of the tables, then the
other registered policies by name.  Consumers run message-scope policies before
recipient-scope ones (``PolicySet.of_scope``) and keep this order within a scope.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ..config import ConfigContext
from ..errors import CampaignFileError
from ..messages import Message
from ..registry import Registry
from .policies import Policy, PolicySet

__all__ = ["PolicySelection", "select_policies"]


@attrs.frozen
class PolicySelection:
    """The policies that run for a message, and those that do not (with why)."""

    policies: PolicySet
    exempt: tuple[str, ...] = ()
    disabled: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.policies)

    def as_dict(self) -> dict[str, list[str]]:
        return {"applied": list(self.names), "exempt": list(self.exempt),
                "disabled": list(self.disabled)}

    def log(self, logger: logging.Logger, message: Message, where: str) -> None:
        """Put the exemption and the disabled policies on record (stderr in the CLI)."""
        if self.exempt:
            logger.info("message %r is public_notice (classified by %s): advertising rules "
                        "skipped: %s", message.key, message.classified_by,
                        ", ".join(self.exempt))
        if self.disabled:
            logger.warning("message %r: policies disabled by %s: %s", message.key, where,
                           ", ".join(self.disabled))


def select_policies(
    registry: Registry,
    message: Message,
    tables: Mapping[str, Mapping[str, Any]],
    context: ConfigContext,
    *,
    disable: Sequence[str] = (),
    disable_context: ConfigContext | None = None,
    table_contexts: Mapping[str, ConfigContext] | None = None,
) -> PolicySelection:
    """Build the policies for ``message`` (see the module docstring).

    ``context`` is the context of the policies table (a policy's errors name
    ``context.child(name)``); ``table_contexts`` gives the context of a table that came
    from elsewhere (e.g. the campaign file's, for its paths and errors);
    ``disable_context`` is where ``disable`` was given (default ``context.child("disable")``).
    """
    table_contexts = table_contexts or {}
    known = registry.names("policy")
    for name in tables:
        if name not in known:
            raise context.error(registry.unknown_name("policy", name), name)
    where_disabled = disable_context or context.child("disable")
    for index, name in enumerate(disable):
        if name not in known:
            raise where_disabled.error(registry.unknown_name("policy", name), f"[{index}]")
    order = [*tables, *(name for name in known if name not in tables)]
    off = set(disable)
    built: list[Policy] = []
    exempt: list[str] = []
    disabled: list[str] = []
    failed: list[CampaignFileError] = []
    for name in order:
        cls = registry.get("policy", name)
        if name in off:
            disabled.append(name)
            continue
        if message.public_notice and getattr(cls, "advertising_rule", False):
            exempt.append(name)
            continue
        where = table_contexts.get(name) or context.child(name)
        try:
            built.append(cls.from_config(tables.get(name, {}), where))
        except CampaignFileError as exc:  # report every policy's problem, not the first
            failed.append(exc)
    if failed:
        if len({exc.source for exc in failed}) == 1:
            raise CampaignFileError(failed[0].source or context.source,
                                    [p for exc in failed for p in exc.problems])
        raise failed[0]
    return PolicySelection(PolicySet(built), tuple(exempt), tuple(disabled))
