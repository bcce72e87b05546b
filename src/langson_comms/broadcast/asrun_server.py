"""The confirmation endpoint for IP-connected stations (Circular 39/2020 IP radio).

``POST /v1/stations/{station}/confirmations`` with ``Authorization: Bearer <secret>`` and
a JSON body ``{"date": "2022-09-03", "time": "14:02", "item": "isee-tro-ly-ao"}``
(optional ``confirmed_by``, ``note``).  Each IP station has its own shared secret
(secrets file: ``station,secret``); a wrong or missing secret is ``401`` and is not
recorded.  An authenticated body goes through the same ``ConfirmationChecker`` as typed-in
CSV rows: ``201`` when accepted, ``400`` with the field and reason when not, ``409`` for a
duplicate — and rejected bodies are stored as rejections, so nothing is lost.

Served by ``aiohttp.web``; bind it to 127.0.0.1 or put it behind the province's reverse
proxy for TLS.

No open door, as for the delivery-report endpoint: secrets are stripped and checked when
read (a CRLF line end is not part of one), compared in constant time, never echoed in an
error body or a log line (``langson_comms.scrub``); a body over 16 KiB is 413, bad bytes,
bad or deeply nested JSON and non-text values are 400, never a 500 traceback.
"""

from __future__ import annotations

import hmac
import secrets as secrets_lib
from collections.abc import Mapping
from pathlib import Path

from aiohttp import web

from ..clock import Clock
from ..errors import DataError
from ..http_serving import BodyProblem, QuietAppRunner, parse_json
from ..scrub import Scrubber, clean_secret
from ._csv import read_rows
from .asrun import AsRunStore, ConfirmationChecker, Rejection, RowProblem
from .stations import StationRegistry

__all__ = ["load_secrets", "make_app", "new_secrets", "start_server"]

STORE: web.AppKey[AsRunStore] = web.AppKey("store", AsRunStore)
CHECKER: web.AppKey[ConfirmationChecker] = web.AppKey("checker", ConfirmationChecker)
SECRETS: web.AppKey[Mapping[str, str]] = web.AppKey("secrets", Mapping)  # type: ignore[arg-type]
CLOCK: web.AppKey[Clock] = web.AppKey("clock", Clock)  # type: ignore[type-abstract]
SCRUBBER: web.AppKey[Scrubber] = web.AppKey("scrubber", Scrubber)

MIN_SECRET_LENGTH = 16


def load_secrets(path: Path, stations: StationRegistry) -> dict[str, str]:
    """Read ``station,secret`` rows; every station must exist and be IP-connected."""
    result: dict[str, str] = {}
    for line, row in read_rows(path, ("station", "secret")):
        station = stations.find(row["station"])
        if station is None:
            raise DataError(
                f"{row['station']!r} is not a station of this campaign", source=str(path), line=line, column="station"
            )
        if not station.ip_connected:
            raise DataError(
                f"station {station.code} is not IP-connected (ip_connected in the stations file)",
                source=str(path),
                line=line,
                column="station",
            )
        try:
            secret = clean_secret(row["secret"])
        except ValueError as exc:
            raise DataError(f"secret {exc}", source=str(path), line=line, column="secret") from None
        if not all("\x21" <= c <= "\x7e" for c in secret):  # it travels in a header
            raise DataError(
                "secret must be printable ASCII without spaces (it travels in an Authorization header)",
                source=str(path),
                line=line,
                column="secret",
            )
        if len(secret) < MIN_SECRET_LENGTH:
            raise DataError(
                f"secret is too short (at least {MIN_SECRET_LENGTH} characters)",
                source=str(path),
                line=line,
                column="secret",
            )
        if station.code in result:
            raise DataError(f"station {station.code} is listed twice", source=str(path), line=line, column="station")
        result[station.code] = secret
    return result


def new_secrets(stations: StationRegistry) -> dict[str, str]:
    """A fresh random secret for every IP-connected station (``secrets.token_urlsafe``)."""
    return {s.code: secrets_lib.token_urlsafe(24) for s in stations if s.ip_connected}


def _authorised(request: web.Request, station: str) -> bool:
    expected = request.app[SECRETS].get(station)
    header = request.headers.get("Authorization", "")
    given = header[7:] if header.startswith("Bearer ") else ""
    # compare_digest even when the station is unknown, so timing says nothing about it
    ok = hmac.compare_digest(given.encode(), (expected or "\0" * 32).encode())
    return ok and expected is not None


async def _confirm(request: web.Request) -> web.Response:
    station = request.match_info["station"]
    if not _authorised(request, station):
        return web.json_response({"error": "unknown station or wrong secret"}, status=401)
    store, checker, clock = request.app[STORE], request.app[CHECKER], request.app[CLOCK]
    source = f"http:{station}"
    now = clock.now()
    scrub = request.app[SCRUBBER].scrub
    try:
        body = parse_json(await request.read())
    except BodyProblem as exc:
        body, unreadable = None, str(exc)
    else:
        unreadable = "the body must be a JSON object with date, time and item"
    try:
        if not isinstance(body, dict):
            raise RowProblem(unreadable, "body")
        unknown = sorted(set(body) - {"date", "time", "item", "confirmed_by", "note"})
        if unknown:
            raise RowProblem(f"unknown field(s) {', '.join(unknown)}", unknown[0][:40])
        for key, value in body.items():
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                raise RowProblem(f"{key} must be text, not {type(value).__name__}", key)
        row = {k: str(v) for k, v in body.items()}
        confirmation = checker.check({**row, "station": station}, via="ip", source=source, line=None)
        store.add(confirmation, at=now)
    except RowProblem as problem:
        value = None if problem.value is None else scrub(problem.value)
        column = None if problem.column is None else scrub(problem.column)
        store.reject(Rejection(source, None, column, value, scrub(problem.reason)), at=now)
        status = 409 if problem.reason.startswith("duplicate") else 400
        return web.json_response({"error": scrub(problem.reason), "field": column}, status=status)
    return web.json_response(
        {
            "status": "accepted",
            "station": confirmation.station,
            "date": confirmation.day.isoformat(),
            "time": confirmation.time.strftime("%H:%M"),
            "item": confirmation.item,
        },
        status=201,
    )


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True, **request.app[STORE].counts()})


def make_app(
    store: AsRunStore,
    checker: ConfirmationChecker,
    secrets: Mapping[str, str],
    clock: Clock,
    scrubber: Scrubber | None = None,
) -> web.Application:
    """The aiohttp application; the caller owns the store's lifetime.  Error bodies are
    scrubbed of the station secrets (and of ``scrubber``'s)."""
    app = web.Application(client_max_size=16 * 1024)
    app[STORE] = store
    app[CHECKER] = checker
    app[SECRETS] = dict(secrets)
    app[CLOCK] = clock
    app[SCRUBBER] = Scrubber.of(secrets.values()) + (scrubber or Scrubber())
    app.router.add_post("/v1/stations/{station}/confirmations", _confirm)
    app.router.add_get("/v1/health", _health)
    return app


async def start_server(app: web.Application, host: str = "127.0.0.1", port: int = 0) -> tuple[web.AppRunner, int]:
    """Start serving ``app``; return the runner (``await runner.cleanup()`` to stop) and the port."""
    runner = QuietAppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server  # aiohttp exposes the bound port only through the server's sockets
    sockets = getattr(server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    return runner, int(bound)
