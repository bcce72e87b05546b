"""The ``langson-comms`` command line.

``main`` builds one ``Runtime`` (plugins, registry, clock), assembles the click group —
built-in commands plus whatever plugins add through ``register_commands`` — and turns
every library error into one line per problem on stderr with exit code 2 (usage or
configuration) or 1 (runtime).  ``--debug`` shows tracebacks instead, and the libraries'
own warnings (``cli.logs``).
"""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import click

from .. import __version__
from ..errors import LangsonCommsError, PluginError
from ..runtime import Runtime
from . import activity as activity_cli
from . import broadcast as broadcast_cli
from . import campaign as campaign_cli
from . import dashboard as dashboard_cli
from . import plugins as plugins_cli
from . import report as report_cli
from . import signups as signups_cli
from . import sms as sms_cli
from .logs import quiet_library_logs
from .options import group_campaign_option

__all__ = ["build_cli", "main"]


def build_cli(runtime: Runtime) -> click.Group:
    """The root group with built-in commands and the plugins' ``register_commands``."""

    @click.group(context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(__version__, prog_name="langson-comms")
    @click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
    @group_campaign_option
    def cli(debug: bool) -> None:
        """Plan, run and measure province-wide multi-channel information campaigns."""

    cli.add_command(plugins_cli.plugins)
    cli.add_command(campaign_cli.validate)
    cli.add_command(sms_cli.build_group())
    cli.add_command(broadcast_cli.broadcast)
    cli.add_command(signups_cli.signups)
    cli.add_command(activity_cli.activity)
    cli.add_command(report_cli.report)
    cli.add_command(report_cli.leaderboard_command)
    cli.add_command(dashboard_cli.dashboard)
    for impl in runtime.plugin_manager.hook.register_commands.get_hookimpls():
        before = _commands(cli)
        try:
            impl.function(cli=cli)
        except Exception as exc:
            raise PluginError(
                f"plugin {impl.plugin_name!r} raised in register_commands(): "
                f"{type(exc).__name__}: {exc}",
                plugin=impl.plugin_name,
            ) from exc
        for path, command in _commands(cli).items():
            if before.get(path) is not command:  # the plugin's: new, or put in place
                _name_plugin_on_failure(command, impl.plugin_name, path)
    return cli


def _commands(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    """Every command below ``group`` by its path ("sms send"), subcommands included."""
    found: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        found[path] = command
        if isinstance(command, click.Group):
            found.update(_commands(command, path + " "))
    return found


def _name_plugin_on_failure(command: click.Command, plugin: str, path: str) -> None:
    """Make an unexpected exception in a plugin's command name the plugin, as an
    exception in its hooks does; library errors and click's own pass unchanged."""
    callback = command.callback
    if callback is not None:
        @functools.wraps(callback)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return callback(*args, **kwargs)
            except (LangsonCommsError, click.ClickException, click.exceptions.Exit,
                    click.Abort):
                raise
            except Exception as exc:
                raise click.ClickException(
                    f"plugin {plugin!r} raised in its command {path!r}: "
                    f"{type(exc).__name__}: {exc} (run with --debug for the traceback)"
                ) from exc

        command.callback = guarded


def _fail(message: str, code: int) -> int:
    for line in message.splitlines() or [""]:
        click.echo(f"error: {line}", err=True)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``langson-comms`` script; returns (and exits with) the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    with quiet_library_logs(debug):  # psycopg's pool notes during an outage: --debug only
        code = _run(args, debug)
    if argv is None:
        sys.exit(code)
    return code


def _run(args: list[str], debug: bool) -> int:
    try:
        runtime = Runtime.create()
        cli = build_cli(runtime)
        result = cli.main(args=args, prog_name="langson-comms", obj=runtime,
                          standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.Abort:
        return _fail("aborted", 1)
    except click.exceptions.NoArgsIsHelpError as exc:  # a group run alone: its help, once
        click.echo(exc.format_message(), err=True)
        return exc.exit_code
    except click.ClickException as exc:
        if debug:
            traceback.print_exc()
        if isinstance(exc, click.UsageError) and exc.ctx is not None:
            click.echo(exc.ctx.get_usage(), err=True)
        return _fail(exc.format_message(), exc.exit_code)
    except LangsonCommsError as exc:
        if debug:
            traceback.print_exc()
        return _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except Exception as exc:
        if debug:
            traceback.print_exc()
            return 1
        return _fail(
            f"unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)", 1
        )
    # Without standalone mode click *returns* the code of ``ctx.exit(n)`` (and a command's
    # own return value): an int is the exit code, anything else is success.
    return result if isinstance(result, int) and not isinstance(result, bool) else 0
