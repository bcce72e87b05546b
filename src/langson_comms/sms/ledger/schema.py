"""The ledger's SQLite schema (tables and indexes); ``base.py`` creates and migrates it."""

from __future__ import annotations

_REPORTS_TABLE = """
-- Delivery reports, keyed per gateway: carrier ids are unique per gateway only.
-- gateway '' = not known (a report from before this column, or from the shared path of
-- several gateways): it may match a row of any gateway.  applied_to = the sms row the
-- report finished, so an old report for a reused id never finishes another row.
CREATE TABLE IF NOT EXISTS reports (
    carrier_id TEXT NOT NULL,
    gateway TEXT NOT NULL DEFAULT '',
    part INTEGER NOT NULL,
    parts INTEGER,
    status TEXT NOT NULL,
    error TEXT,
    received_at REAL NOT NULL,
    applied_to INTEGER,
    PRIMARY KEY (carrier_id, gateway, part)
) WITHOUT ROWID;
"""

# A report that came again after its stored twin finished a row: a replay, or the first
# report for a reused id that came before the submit answer (outcomes are written in
# batches, so reports often do).  Kept aside; it replaces the stale twin when a row sent
# before it came is accepted with this id (see SqliteLedger._promote_echoes).
_ECHOES_TABLE = """
CREATE TABLE IF NOT EXISTS report_echoes (
    carrier_id TEXT NOT NULL,
    gateway TEXT NOT NULL,
    part INTEGER NOT NULL,
    parts INTEGER,
    status TEXT NOT NULL,
    error TEXT,
    received_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS report_echoes_id ON report_echoes (carrier_id);
"""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sms (
    id INTEGER PRIMARY KEY,
    campaign TEXT NOT NULL,
    message TEXT NOT NULL,
    msisdn TEXT NOT NULL,
    carrier_hint TEXT NOT NULL,
    fields TEXT,
    source TEXT,
    promotional INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL DEFAULT 0,
    gateway TEXT,
    carrier_id TEXT,
    segments INTEGER,
    reason TEXT,
    idem_key TEXT NOT NULL,
    created_at REAL NOT NULL,
    submitted_at REAL,
    first_submitted_at REAL,
    accepted_at REAL,
    final_at REAL,
    -- the gateways that said "not mine" for this row, in order: "viettel:not_subscriber,…"
    -- (the engine never sends the row to them again; ledger/records.py, routes_tried)
    routes_tried TEXT,
    UNIQUE (campaign, message, msisdn)
);
-- Only queued rows are indexed for claiming: a row leaves this index once, when claimed.
CREATE INDEX IF NOT EXISTS sms_queued ON sms (campaign, message, next_at) WHERE state = 'queued';
CREATE INDEX IF NOT EXISTS sms_carrier_id ON sms (carrier_id) WHERE carrier_id IS NOT NULL;
-- Send history per number (the 3-per-24h cap); accepted_at is not in the key, so
-- recording an acceptance does not touch this index.
CREATE INDEX IF NOT EXISTS sms_promotional ON sms (msisdn) WHERE promotional = 1;
-- Delivered rows by delivery time, for the reach per day of reports and the dashboard
-- (a row enters it once, when delivered; it never leaves: delivered is final; state is
-- a column so that the reads need no table row).
CREATE INDEX IF NOT EXISTS sms_delivered ON sms (campaign, message, final_at, state) WHERE state = 'delivered';
""" + _REPORTS_TABLE + _ECHOES_TABLE + """CREATE TABLE IF NOT EXISTS control (
    campaign TEXT NOT NULL,
    message TEXT NOT NULL,
    state TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (campaign, message)
);
-- One sender per (campaign, message): see sms/lease.py.  owner is the holder's token.
CREATE TABLE IF NOT EXISTS sender_lease (
    campaign TEXT NOT NULL,
    message TEXT NOT NULL,
    owner TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    acquired_at REAL NOT NULL,
    renewed_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (campaign, message)
);
CREATE TABLE IF NOT EXISTS broadcast_orders (
    campaign TEXT NOT NULL,
    carrier TEXT NOT NULL,
    message TEXT NOT NULL,
    ordered_at REAL NOT NULL,
    reported_at REAL,
    subscribers INTEGER,
    sent INTEGER,
    delivered INTEGER,
    note TEXT,
    PRIMARY KEY (campaign, carrier, message)
);
-- Every open and close of a gateway's circuit breaker (``sms status`` shows the last).
CREATE TABLE IF NOT EXISTS breaker_events (
    campaign TEXT NOT NULL,
    message TEXT NOT NULL,
    gateway TEXT NOT NULL,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    open_seconds REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS breaker_events_by_message ON breaker_events (campaign, message);
-- A carrier's report broken down by area (unit code); replaced whole by each report.
CREATE TABLE IF NOT EXISTS broadcast_areas (
    campaign TEXT NOT NULL,
    carrier TEXT NOT NULL,
    message TEXT NOT NULL,
    area TEXT NOT NULL,
    subscribers INTEGER NOT NULL,
    sent INTEGER NOT NULL,
    delivered INTEGER NOT NULL,
    PRIMARY KEY (campaign, carrier, message, area)
);
"""

_ROW_COLUMNS = (
    "id, campaign, message, msisdn, carrier_hint, state, attempts, gateway, carrier_id, "
    "segments, reason, idem_key, source, created_at, submitted_at, accepted_at, final_at, "
    "routes_tried"
)
