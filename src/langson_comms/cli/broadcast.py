"""The ``broadcast`` command group (placeholder until the broadcasting area lands)."""

from __future__ import annotations

import click


@click.group()
def broadcast() -> None:
    """Schedule loudspeaker airings, export run-sheets and check proof of airing."""
