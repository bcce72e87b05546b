"""Options shared by the commands: the campaign file (``-c/--campaign``).

Every command that reads a campaign takes ``-c/--campaign FILE``; so does the top-level
group (``langson-comms -c FILE sms status``).  The file is, first found: the command's
option, the old positional ``CAMPAIGN_FILE`` (still accepted), the group's option
(``broadcast --campaign FILE``, then the top level), ``$LANGSON_COMMS_CAMPAIGN``, and
``./campaign.toml`` (when none of them is there: a ``ConfigError`` saying how to give one).
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from ..errors import ConfigError, OutputClashError

__all__ = ["CAMPAIGN_ENV", "DEFAULT_CAMPAIGN", "api_flags", "campaign_option", "group_campaign_option",
           "remember_campaign",
           "resolve_campaign"]

CAMPAIGN_ENV = "LANGSON_COMMS_CAMPAIGN"
DEFAULT_CAMPAIGN = Path("campaign.toml")
_META = "langson_comms.campaign"
_HELP = f"The campaign file [default: ${CAMPAIGN_ENV}, else ./{DEFAULT_CAMPAIGN}]."

F = TypeVar("F", bound=Callable[..., Any])


def _path_type() -> click.Path:
    return click.Path(path_type=Path, dir_okay=False)


def group_campaign_option(f: F) -> F:
    """``-c/--campaign`` on a group: remembered for its commands."""
    option = click.option("-c", "--campaign", "campaign_path", type=_path_type(), default=None,
                          envvar=CAMPAIGN_ENV, show_envvar=True, expose_value=False,
                          callback=_remember, is_eager=True, help=_HELP)
    return option(f)


def _remember(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    from_env = ctx.get_parameter_source(param.name or "") is ParameterSource.ENVIRONMENT
    if from_env and _META in ctx.meta:
        return  # an outer group's explicit -c wins over the environment
    remember_campaign(ctx, value)


def remember_campaign(ctx: click.Context, value: Path | None) -> None:
    """Record a group's campaign file for the commands under it (inner groups win)."""
    if value is not None:
        ctx.meta[_META] = value


def resolve_campaign(ctx: click.Context, option: Path | None = None,
                     positional: Path | None = None) -> Path:
    """The campaign file of a command, by the order in the module's docstring."""
    if option is not None and positional is not None and option != positional:
        raise click.UsageError(f"two campaign files: -c/--campaign {option} and the "
                               f"argument {positional}; give one")
    chosen = option or positional or ctx.meta.get(_META)
    if chosen is None and os.environ.get(CAMPAIGN_ENV):
        chosen = Path(os.environ[CAMPAIGN_ENV])
    if chosen is None and not DEFAULT_CAMPAIGN.exists():
        raise ConfigError(f"campaign file not found: no -c/--campaign FILE given, {CAMPAIGN_ENV} "
                          f"not set, and no ./{DEFAULT_CAMPAIGN} in this folder",
                          source=str(DEFAULT_CAMPAIGN))
    return Path(chosen) if chosen is not None else DEFAULT_CAMPAIGN


def campaign_option(*, positional: bool = False, into: str = "campaign") -> Callable[[F], F]:
    """Add ``-c/--campaign FILE`` to a command (and, with ``positional``, the old
    ``[CAMPAIGN_FILE]`` argument); the callback gets the resolved file as the keyword
    argument ``into`` (``campaign: Path`` unless told otherwise)."""

    def decorate(f: F) -> F:
        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            option = kwargs.pop("campaign_option", None)
            legacy = kwargs.pop("campaign_argument", None)
            kwargs[into] = resolve_campaign(click.get_current_context(), option, legacy)
            return f(*args, **kwargs)

        decorated: Any = click.option("-c", "--campaign", "campaign_option", type=_path_type(),
                                      default=None, help=_HELP)(wrapper)
        if positional:
            decorated = click.argument("campaign_argument", required=False, type=_path_type(),
                                       metavar="[CAMPAIGN_FILE]")(decorated)
        return decorated  # type: ignore[no-any-return]

    return decorate


@contextlib.contextmanager
def api_flags(flags: Mapping[str, str]) -> Iterator[None]:
    """Show a ``ConfigError`` of ``langson_comms.api`` that names a parameter (its ``key``,
    or the labels of an output that is an input) as the command's option instead:
    ``api_flags({"message": "--message"})``, as a ``with`` block or a decorator.  The API
    names its parameters (a host application has no flags); only the CLI knows its flags.
    A message's advice to pass a flag parameter, ``name=True``, becomes the option too."""
    try:
        yield
    except OutputClashError as exc:
        raise exc.relabel(flags) from exc
    except ConfigError as exc:
        if type(exc) is not ConfigError:
            raise
        message = exc.message
        for name, flag in flags.items():
            message = message.replace(f"{name}=True", flag)
        key = flags.get(exc.key or "", exc.key)
        if (key, message) == (exc.key, exc.message):
            raise
        raise ConfigError(message, source=exc.source, key=key,
                          line=exc.line) from exc
