"""Zalo ZNS for langson_comms: the ``zalo_zns`` channel (plan and preview) and the ``zns``
SMS gateway (template messages through Zalo's ZNS API, SMS fallback by ``WrongRouteError``;
``zns_gateway``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

import attrs
import click

from langson_comms import Campaign, ConfigContext, Runtime, hookimpl
from langson_comms.cli.options import campaign_option

from .zns_config import ZnsConfig
from .zns_gateway import ZnsError, ZnsGateway

__all__ = ["MAX_TEMPLATE_CHARS", "ZaloZnsChannel", "ZnsConfig", "ZnsError", "ZnsGateway",
           "register_channels", "register_commands", "register_sms_gateways"]

# ZNS templates are capped at about 400 characters (domain notes, single source).
MAX_TEMPLATE_CHARS = 400


@attrs.frozen
class ZaloZnsChannel:
    """Template messages through Zalo's ZNS API, falling back to another channel."""

    name: ClassVar[str] = "zalo_zns"
    template_id: str
    message: str
    template_fields: dict[str, str] = attrs.field(factory=dict)
    fallback_channel: str | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: ConfigContext) -> Self:
        channel = context.structure(config, cls)
        if not channel.template_id.isdigit():
            raise context.error(f"{channel.template_id!r} is not a ZNS template id (digits)", "template_id")
        return channel

    def check_campaign(self, campaign: Campaign, context: ConfigContext) -> None:
        if self.message not in campaign.messages:
            raise context.error(f"{self.message!r} is not a message of this campaign", "message")
        if self.fallback_channel and self.fallback_channel not in campaign.channels:
            raise context.error(f"{self.fallback_channel!r} is not a channel of this campaign", "fallback_channel")
        text = self.preview(campaign)
        if len(text) > MAX_TEMPLATE_CHARS:
            raise context.error(f"template text is {len(text)} characters (ZNS allows {MAX_TEMPLATE_CHARS})", "message")

    def preview(self, campaign: Campaign) -> str:
        return campaign.message(self.message).text.format_map(_Keep(self.template_fields))

    def describe(self) -> str:
        fallback = f", fallback {self.fallback_channel}" if self.fallback_channel else ""
        return f"ZNS template {self.template_id} for message {self.message!r}{fallback}"


class _Keep(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@hookimpl
def register_channels() -> list[type[Any]]:
    return [ZaloZnsChannel]


@hookimpl
def register_sms_gateways() -> list[type[Any]]:
    return [ZnsGateway]


@hookimpl
def register_commands(cli: click.Group) -> None:
    @cli.group()
    def zalo() -> None:
        """Zalo ZNS helpers (from the langson-comms-zalo plugin)."""

    @zalo.command()
    @campaign_option(positional=True)  # -c/--campaign, like every command
    @click.pass_obj
    def preview(runtime: Runtime, campaign: Path) -> None:
        """Print each zalo_zns channel's filled template."""
        loaded = runtime.load_campaign(campaign)
        for plan in loaded.channels_of_kind(ZaloZnsChannel.name):
            click.echo(f"{plan.key}: {plan.channel.preview(loaded)}")
