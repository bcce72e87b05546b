"""Every hook of langson_comms, in one place.

A plugin implements any of these with ``@hookimpl`` (``from langson_comms import
hookimpl``).  Contribution hooks are named ``register_<plural>`` and return a list of
classes; each class has a unique ``name`` (a ``ClassVar[str]``) and a classmethod
``from_config(config, context)`` that builds an instance from its configuration table
(see ``langson_comms.config.ConfigContext``).  The core owns the names: two classes
with one name are an error naming both plugins, unless the later one sets
``override = True`` to replace a built-in on purpose.

docs/plugins.md documents every hook below with this exact signature; a test checks it.
"""

from __future__ import annotations

from typing import Any

import click
import pluggy

PROJECT_NAME = "langson_comms"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# --- contributions: each returns a list of classes ------------------------------------


@hookspec
def register_channels() -> list[type[Any]]:
    """Return channel classes (press, broadcast, sms, …) that a campaign's ``[channels.*]`` tables name by ``kind``."""


@hookspec
def register_sms_gateways() -> list[type[Any]]:
    """Return SMS gateway classes (subclasses of the gateway base) that send batches of messages."""


@hookspec
def register_broadcast_schedulers() -> list[type[Any]]:
    """Return broadcast scheduler classes that turn stations, sketches and rules into airings."""


@hookspec
def register_signup_sources() -> list[type[Any]]:
    """Return signup source classes that fetch installs and account openings from platforms."""


@hookspec
def register_policies() -> list[type[Any]]:
    """Return compliance policy classes that hold, suppress or pass each outgoing message."""


@hookspec
def register_kpis() -> list[type[Any]]:
    """Return KPI classes that a campaign's ``[targets.*]`` tables name by ``kind``."""


# --- integration ------------------------------------------------------------------------


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add click commands or groups to the ``langson-comms`` CLI; return nothing."""
