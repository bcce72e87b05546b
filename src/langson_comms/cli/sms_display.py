"""How the SMS dispatch commands show a send's events and a ledger's status (display only)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from .. import api

__all__ = ["SendDisplay", "print_status"]


class SendDisplay:
    """Receives ``send_sms`` events: notices on stderr and, with ``progress`` (a terminal),
    a live bar that ends on the final count."""

    INSECURE = ("WARNING: --insecure: delivery reports on {host} are accepted WITHOUT a "
                "token (anyone on this machine can forge final states)")

    def __init__(self, *, progress: bool, title: str, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.live: Progress | None = None
        self.task: TaskID | None = None
        if progress:
            self.live = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(),
                TextColumn("{task.completed:,}/{task.total:,}"),
                TextColumn("{task.fields[detail]}"), TimeRemainingColumn(),
                console=self.console)
            self.task = self.live.add_task(f"sms {escape(title)}", total=0, detail="")

    def __enter__(self) -> SendDisplay:
        if self.live is not None:
            self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.stop()

    def _say(self, text: str, style: str | None = None) -> None:
        self.console.print(text, style=style, markup=False, highlight=False)

    def __call__(self, event: api.SendEvent) -> None:
        if isinstance(event, api.AudienceLoaded):
            self._say(f"loaded {event.file}: {event.added:,} new, {event.present:,} already "
                      "in the ledger")
        elif isinstance(event, api.PoliciesChosen):
            self._say(policies_line(event))
        elif isinstance(event, api.BreakerNotice):
            self._say(event.text, "yellow" if event.opened else "green")
        elif self.live is not None and self.task is not None:
            self.live.update(self.task, total=event.total, completed=event.done,
                             detail=_detail(event))


def policies_line(event: api.PoliciesChosen) -> str:
    """The policies a send runs, and those skipped on record (exempt, disabled)."""
    line = f"policies: {', '.join(event.names) or 'none'}"
    if event.exempt:
        line += f"; exempt (public_notice): {', '.join(event.exempt)}"
    if event.disabled:
        line += (f"; DISABLED by [channels.sms.policies] disable: "
                 f"{', '.join(event.disabled)}")
    return line


def _detail(event: api.SendProgress) -> str:
    counts = event.counts
    detail = (f"sent {event.sent:,} accepted {counts['accepted']:,} "
              f"delivered {counts['delivered']:,} failed {counts['failed']:,} "
              f"expired {counts['expired']:,} {event.rate:,.0f}/s")
    return escape(detail + "".join(
        f" | {gid} circuit {state.replace('_', '-')}"
        + (f", probe in {wait:.0f} s" if wait >= 1 else "")
        for gid, (state, wait) in event.breakers.items()))


def _state_line(info: dict[str, Any]) -> str:
    """``running`` only while a sender holds a live lease (``paused``/``cancelled`` while
    it obeys one); else ``not running`` (after the control state if it is not running)."""
    control = str(info["control"])
    if info.get("sender") is not None:
        return control
    return "not running" if control == "running" else f"{control}, not running"


def _breaker_line(gid: str, b: dict[str, Any]) -> str:
    line = (f"  circuit breaker {gid}: opened {b['opens']:,}x, open {b['open_seconds']:,.1f} s "
            f"in all; last opened {b['last_open']} ({b['last_open_reason']})")
    if b["open_now"]:
        return line + "; not closed since (the run ended or stopped while open)"
    return line + f", closed {b['last_close']} after {b['last_open_seconds']:,.1f} s"


def _print_routes(console: Console, routes: dict[str, Any]) -> None:
    """Rows per gateway, and the rows each gateway sent on to their next route, by why."""
    if len(routes.get("by_gateway", {})) > 1 or routes.get("fallbacks"):
        for gid, states in routes.get("by_gateway", {}).items():
            console.print(f"  gateway {gid}: " + ", ".join(f"{n:,} {state}"
                                                           for state, n in states.items()))
    for entry, n in routes.get("fallbacks", {}).items():
        gid, _, reason = entry.rpartition(":")
        console.print(f"  {n:>8,}  sent on from {gid} ({reason})")


def print_status(status: api.SmsStatus) -> None:
    """``sms status`` as tables (reasons and names printed as they are, never as markup)."""
    data = status.as_dict()
    console = Console(markup=False, highlight=False)
    if not data["messages"] and not data["broadcasts"]:
        console.print(f"nothing sent or ordered yet (ledger {status.ledger})")
    for key, info in data["messages"].items():
        table = Table(title=f"{key} ({_state_line(info)})")
        table.add_column("state")
        table.add_column("rows", justify="right")
        for state, n in info["counts"].items():
            table.add_row(state, f"{n:,}")
        console.print(table)
        if info.get("sender") is not None:
            console.print(f"  sender: {info['sender']['description']}")
        for reason, n in list(info["reasons"].items())[:10]:
            console.print(f"  {n:>8,}  {escape(reason)}")  # as before: vendor text
        for policy, n in info.get("suppressed_by_policy", {}).items():
            console.print(f"  suppressed by {policy}: {n:,}")
        for gid, b in info.get("breakers", {}).items():
            console.print(_breaker_line(gid, b))
        _print_routes(console, info.get("routes") or {})
    for order in data["broadcasts"]:
        console.print(f"carrier broadcast {order['carrier']} {order['message']}: ordered "
                      f"{order['ordered_at']}, " + (
                          f"reported {order['sent']:,} sent / {order['delivered']:,} delivered "
                          f"of {order['subscribers']:,} subscribers" if order["reported_at"]
                          else "no report yet"))
    for message_key, areas in data["broadcast_areas"].items():
        table = Table(title=f"carrier broadcast of {message_key} by area (all carriers that "
                            "reported areas)")
        for column in ("area", "name", "subscribers", "sent", "delivered", "delivered %"):
            table.add_column(column, justify="left" if column in ("area", "name") else "right")
        for a in areas:
            share = f"{100 * a['delivered'] / a['subscribers']:.1f}" if a["subscribers"] else "–"
            table.add_row(a["area"], a["name"], f"{a['subscribers']:,}", f"{a['sent']:,}",
                          f"{a['delivered']:,}", share)
        console.print(table)
