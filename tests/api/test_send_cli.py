"""``sms send`` as a process: the environment is checked before an audience is loaded, and
nothing progress-like is printed when stderr is not a terminal; the display's bar ends on
the final count."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from rich.console import Console

from langson_comms import api
from langson_comms.cli.sms_display import SendDisplay

from ..dispatch.helpers import CLI
from .test_send_api import CAMPAIGN


def _write(tmp: Path, url: str, extra: str = "") -> None:
    (tmp / "campaign.toml").write_text(CAMPAIGN.format(url=url, timeout=5.0) + extra,
                                       encoding="utf-8")
    lines = ["msisdn,carrier_hint,source_file,source_line,ten"]
    lines += [f"+8491{i:07d},viettel,list.csv,{i + 2},Ban {i}" for i in range(30)]
    (tmp / "prepared.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _send(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "API_TEST_TOKEN"}
    return subprocess.run([CLI, "sms", "send", *args], cwd=tmp, capture_output=True,
                          text=True, timeout=120, env=env, check=False)


def test_missing_credentials_are_reported_before_the_audience_is_loaded(tmp_path: Path) -> None:
    _write(tmp_path, "http://127.0.0.1:9/sms", 'auth_env = "API_TEST_TOKEN"\n')
    done = _send(tmp_path, "-c", "campaign.toml", "--audience", "prepared.csv")
    assert done.returncode == 2, done.stderr
    assert "API_TEST_TOKEN" in done.stderr
    assert "loaded" not in done.stderr
    assert not (tmp_path / "ledger.sqlite").exists()  # nothing was loaded


def test_no_progress_output_when_stderr_is_not_a_terminal(tmp_path: Path,
                                                          carrier_simulator: Any) -> None:
    sim = carrier_simulator()
    _write(tmp_path, sim.url)
    done = _send(tmp_path, "--audience", "prepared.csv")  # ./campaign.toml, --progress default
    assert done.returncode == 0, done.stderr
    assert "completed" in done.stdout and "accepted 30" in done.stdout
    assert "loaded prepared.csv: 30 new" in done.stderr
    for progress_like in ("━", "/s", "sms invite", "0:00"):
        assert progress_like not in done.stderr


def test_the_progress_bar_ends_on_the_final_count() -> None:
    with open(os.devnull, "w", encoding="utf-8") as sink:
        _show_progress(Console(file=sink, force_terminal=True))


def _show_progress(console: Console) -> None:
    display = SendDisplay(progress=True, title="invite", console=console)
    assert display.live is not None and display.task is not None
    with display:
        display(api.SendProgress(total=10, done=3, counts=_counts(3), sent=3, rate=1.0))
        display(api.SendProgress(total=10, done=10, counts=_counts(10), sent=10, rate=1.0,
                                 final=True))
    task = display.live.tasks[0]
    assert (task.completed, task.total) == (10, 10)


def _counts(accepted: int) -> dict[str, int]:
    return {"queued": 10 - accepted, "submitted": 0, "accepted": accepted, "delivered": 0,
            "failed": 0, "expired": 0}
