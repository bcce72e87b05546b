"""The ``sms`` command group: preparation (``sms prepare``) and dispatch commands.

Each area adds its commands through a ``register(group)`` function in its own module.
"""

from __future__ import annotations

import importlib

import click

#: modules with a ``register(group: click.Group)`` function, in help order
SMS_COMMAND_MODULES = ("sms_prepare", "sms_dispatch")


def build_group() -> click.Group:
    @click.group()
    def sms() -> None:
        """Prepare audiences and send SMS through carrier gateways."""

    for name in SMS_COMMAND_MODULES:
        try:
            module = importlib.import_module(f"{__package__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.{name}":
                raise
            continue  # that area is not installed in this build
        module.register(sms)
    return sms
