"""A throwaway PostgreSQL server for tests: ``ThrowawayPostgres`` and ``find_postgres_bindir``.

The server is a fresh cluster (``initdb``) in a temporary directory, listening on
127.0.0.1 and a free port only (no Unix socket in a shared place), with ``trust``
authentication on loopback, stopped and removed at the end.  When the tests run as root
(CI containers do), PostgreSQL refuses to run, so the cluster is created and started as the
unprivileged ``postgres`` user through ``runuser`` (the data directory is given to it).

Hand-written rather than pytest-postgresql's process fixture: that fixture runs
``pg_ctl`` as the current user, which PostgreSQL refuses for root, and offers no way to
wrap the commands in ``runuser``.

The pytest fixtures built on it (``postgres_server``, ``postgres_url``) are in
``langson_comms.testing.pytest_plugin``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

__all__ = ["BINDIR_ENV", "POSTGRES_REQUIRED_ENV", "PostgresUnavailable", "ThrowawayPostgres",
           "find_postgres_bindir"]

#: set to ``1`` (as ``.ci/run`` does) to make a missing PostgreSQL a failure, not a skip
POSTGRES_REQUIRED_ENV = "LANGSON_REQUIRE_POSTGRES"
#: where the server binaries are, when not in a usual place
BINDIR_ENV = "LANGSON_POSTGRES_BINDIR"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries here, or the throwaway server would not start (says why)."""


def find_postgres_bindir() -> Path | None:
    """``$LANGSON_POSTGRES_BINDIR`` when set (None if it has no ``initdb``), else the newest
    ``/usr/lib/postgresql/<version>/bin`` with ``initdb``, else the directory of
    ``pg_config --bindir`` / ``initdb`` on ``PATH``; None when there is none."""
    override = os.environ.get(BINDIR_ENV)
    if override:
        return Path(override) if (Path(override) / "initdb").is_file() else None
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name)
                   if Path(p).parent.parent.name.isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                             check=False, timeout=30)
        bindir = Path(out.stdout.strip())
        if out.returncode == 0 and (bindir / "initdb").is_file():
            return bindir
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ThrowawayPostgres:
    """A PostgreSQL cluster of its own for one test session: ``start()``, ``url(db)``,
    ``create_database(name)``, ``stop()`` (also a context manager)."""

    def __init__(self, bindir: Path | None = None, *, user: str = "postgres",
                 durable: bool = False) -> None:
        found = bindir or find_postgres_bindir()
        if found is None:
            raise PostgresUnavailable(
                f"no PostgreSQL server binaries (looked in ${BINDIR_ENV}, for"
                " /usr/lib/postgresql/*/bin/initdb, pg_config --bindir and initdb on PATH);"
                " install PostgreSQL >= 14 (Debian: apt-get install postgresql)")
        self.bindir = found
        self.user = user
        #: False (tests): fsync and synchronous commit off, a crash may lose the cluster;
        #: True (benchmarks): PostgreSQL's durable defaults
        self.durable = durable
        self.port = 0
        self._tmp: str | None = None
        self._as: list[str] = []
        self._owner: tuple[int, int] | None = None
        if os.geteuid() == 0:
            try:
                entry = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise PostgresUnavailable(
                    "running as root and there is no 'postgres' user to run the server as"
                ) from exc
            if shutil.which("runuser") is None:
                raise PostgresUnavailable("running as root and 'runuser' is not installed")
            self._as = ["runuser", "-u", "postgres", "--"]
            self._owner = (entry.pw_uid, entry.pw_gid)

    @property
    def data_dir(self) -> Path:
        if self._tmp is None:
            raise PostgresUnavailable("the server is not started")
        return Path(self._tmp) / "data"

    def _run(self, *args: str, timeout: float = 120) -> None:
        try:
            out = subprocess.run([*self._as, *args], capture_output=True, text=True,
                                 check=False, timeout=timeout, cwd=self._tmp)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PostgresUnavailable(f"{Path(args[0]).name} did not run: {exc}") from exc
        if out.returncode != 0:
            raise PostgresUnavailable(
                f"{Path(args[0]).name} failed (exit {out.returncode}): "
                f"{(out.stderr or out.stdout).strip()[-2000:]}")

    def start(self) -> ThrowawayPostgres:
        if self._tmp is not None:  # a second cluster would orphan the first (never stopped)
            raise RuntimeError(f"this throwaway server is already started (port {self.port}): "
                               "'with ThrowawayPostgres() as pg' starts it; stop() it first")
        self._tmp = tempfile.mkdtemp(prefix="langson-pg-")
        if self._owner is not None:
            os.chown(self._tmp, *self._owner)
        os.chmod(self._tmp, 0o700)
        data = self.data_dir
        self._run(str(self.bindir / "initdb"), "-D", str(data), "-U", self.user,
                  "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
        self.port = _free_port()
        try:
            self._pg_ctl("start")
        except PostgresUnavailable as exc:
            log = Path(self._tmp) / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.is_file() else ""
            self._remove()
            raise PostgresUnavailable(f"{exc}\n{tail}") from exc
        return self

    def _pg_ctl(self, *action: str) -> None:
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port}"
                   f" -c unix_socket_directories='{self._tmp}' -c max_connections=200")
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        # the log file, not a pipe: the server outlives pg_ctl and would hold the pipe open
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-l",
                  str(Path(str(self._tmp)) / "server.log"), "-o", options, "-w", "-t", "60",
                  *action)

    def restart(self, mode: str = "fast") -> None:
        """Stop the server (``mode``: ``fast`` ends the sessions, ``immediate`` is a crash)
        and start it again on the same port: clients see their connections cut."""
        self._pg_ctl("-m", mode, "restart")

    def url(self, database: str = "postgres") -> str:
        """A ``postgresql://`` URL of ``database`` on this server (no password: trust)."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create an empty database ``name``; return its URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def stop(self) -> None:
        if self._tmp is None:
            return
        try:
            if (self.data_dir / "postmaster.pid").exists():
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m",
                          "immediate", "-w", "-t", "60", "stop")
        finally:
            self._remove()

    def _remove(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> ThrowawayPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
