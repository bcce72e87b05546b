"""Which SMS channel and message a job is about: ``SmsTarget`` and ``sms_target``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import attrs

from ..campaign import Campaign
from ..errors import ConfigError
from ..messages import Message
from ..scrub import Scrubber
from ..sms.lease import SenderLease
from ..sms.ledger import Ledger

__all__ = ["SmsTarget", "sms_target"]


@attrs.frozen
class SmsTarget:
    """A campaign's ``[channels.<channel_key>]`` table of kind ``sms`` and the message it
    sends (``channel`` is the built ``SmsChannel``)."""

    campaign: Campaign
    channel_key: str
    channel: Any
    message: Message

    @property
    def config(self) -> Any:
        """The channel's configuration (``[channels.<key>]`` as read)."""
        return self.channel.config

    def open_ledger(self, environ: Mapping[str, str] | None = None) -> Ledger:
        """The channel's ledger (its ``ledger`` key: a SQLite file or a PostgreSQL URL,
        through ``open_ledger``); close it after.  A PostgreSQL password variable
        (``ledger_password_env``) is read from ``environ`` (default ``os.environ``)."""
        ledger: Ledger = self.channel.open_ledger(environ)
        return ledger

    def lease(self, ledger: Ledger) -> SenderLease:
        """The sending lease of the message, timed by ``[channels.<key>.lease]``: it is in
        the ledger, so no path alias, hard link or other host sends it twice."""
        cfg = self.channel.config.lease
        return SenderLease(ledger, self.campaign.id, self.message.key, ttl=cfg.ttl,
                           renew_every=cfg.renew_every)

    def scrubber(self, environ: Mapping[str, str] | None = None) -> Scrubber:
        """A scrubber for every secret the channel's configuration names."""
        return Scrubber.of(self.channel.secret_values(os.environ if environ is None
                                                      else environ))


def sms_target(campaign: Campaign, channel: str = "sms", message: str | None = None) -> SmsTarget:
    """The sms channel ``channel`` of ``campaign`` and ``message`` (default: the channel's
    own ``message``); ``ConfigError`` naming the key when either is not there."""
    from ..default_plugins.sms import SmsChannel

    plan = campaign.channels.get(channel)
    if plan is None or not isinstance(plan.channel, SmsChannel):
        sms = [k for k, p in campaign.channels.items() if isinstance(p.channel, SmsChannel)]
        raise ConfigError(
            f"no sms channel [channels.{channel}] (sms channels: {', '.join(sms) or 'none'})",
            source=campaign.source, key=f"channels.{channel}")
    built = plan.channel
    name = message or built.config.message
    try:
        found: Message = campaign.message(name)
    except KeyError as exc:
        raise ConfigError(str(exc.args[0]), key="message" if message else
                          f"channels.{channel}.message") from None
    return SmsTarget(campaign, channel, built, found)
