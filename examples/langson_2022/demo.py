"""The reference campaign end to end on one machine, through the `langson-comms` CLI.

    uv run python examples/langson_2022/demo.py [--out out/demo] [--recipients 2000]

1. validates the campaign file;
2. schedules the loudspeaker airings at the 147 (sample) stations and exports the
   calendars, run-sheets and printable weekly sheets;
3. types in a week of as-run confirmations (with a few bad rows), ingests them and
   prints the compliance and reach figures;
4. prepares a messy SAMPLE audience of community-team members for a training notice
   (a ``public_notice``: not advertising, so the Decree 91 advertising rules are skipped
   on record) — fictional numbers, quarantined and deduplicated rows counted;
5. sends it through the carrier simulator on 127.0.0.1 (5 % server errors, delivery
   reports by callback) and prints the ledger's status;
6. the "one SMS to 100 % of subscribers" step as the plan runs it — a carrier-run
   broadcast: orders it from the three carriers, records each carrier's reported
   totals broken down by district (SAMPLE figures: the carriers' reports are not
   public) and prints them added up per district;
7. ingests the SAMPLE sign-ups of the four platforms (the app, MB Bank, postmart, Vỏ Sò:
   CSV and .xlsx exports) with ``signups ingest``;
8. logs a SAMPLE of the press, visual, social and outreach channels' activity (press
   items, LED boards and websites, Zalo/Facebook posts, team visits and trainings) with
   ``activity log``;
9. prints the KPI summary (``report``) and the day's team leaderboard (``leaderboard``)
   as of 2022-07-20, and writes the report folder (text, Markdown, HTML with charts,
   JSON, .xlsx) to ``--out``/report.

Steps 2, 3 and 6–9 work on a copy of the reference campaign under ``--out``/reference, so
the report measures the airings confirmed in step 3, the carriers' totals of step 6,
the sign-ups and the activity.  All network traffic stays on 127.0.0.1.  Everything is
written under ``--out``, which is emptied first (only a folder the demo made: it holds
``.langson-demo``), so a second run gives the same figures.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CAMPAIGN = HERE / "campaign.toml"
#: the report's as-of day: the sample sign-ups and activity run to it
AS_OF = "2022-07-20"
MARKER = ".langson-demo"

SMS_CAMPAIGN = """\
[campaign]
id = "langson-2022-teams-sms"
title = "Thông báo tập huấn Tổ công nghệ số cộng đồng (demo)"
start = 2022-06-10
end = 2030-12-31

[messages.team_notice]
text = "Tổ CNSCĐ {xa}: mời {ten} dự tập huấn cài đặt “Công dân số Xứ Lạng”. Cầm tay, chỉ việc!"
classification = "public_notice"
classified_by = "demo operator: an internal notice to team members, not advertising"

[channels.sms]
kind = "sms"
mode = "direct"
message = "team_notice"
brandname = "STTTT.LSN"
unaccented = true
max_segments = 3
ledger = "sms-ledger.sqlite"

[channels.sms.gateways.simulator]
kind = "generic_http"
url = "http://127.0.0.1:{sim_port}/sms/send"
supports_idempotency = true
rate_msgs = 400
rate_segments = 800
connections = 8

[channels.sms.retry]
base_delay = 0.05
max_delay = 0.5

[channels.sms.reports]
host = "127.0.0.1"
port = {dlr_port}
token_env = "LANGSON_DLR_TOKEN"   # the Authorization value callbacks must send
"""

GIVEN = ["Văn An", "Thị Bích", "Văn Cường", "Thị Dung", "Văn Đức", "Thị Hoa", "Văn Hùng", "Thị Lan"]
FAMILY = ["Hoàng", "Nông", "Lương", "Vi", "Lý", "Nguyễn", "Lăng", "Triệu"]
SHAPES = ["0{n}", "+84{n}", "84{n}", "0{a}.{b}.{c}", "(+84) {a} {b} {c}", "0{a}-{b}-{c}"]


def cli(*args: str | Path, capture: bool = False) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "langson_comms", *map(str, args)]
    print("$ langson-comms", " ".join(map(str, args)), flush=True)
    result = subprocess.run(command, text=True, capture_output=capture)
    # `broadcast confirm` exits 1 when a row was rejected (the demo types in a few bad ones).
    if result.returncode not in (0, 1) or (result.returncode == 1 and "confirm" not in args):
        if capture:
            sys.stderr.write(result.stderr)
        raise SystemExit(f"demo: step failed with exit code {result.returncode}")
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def confirmations(runsheets: Path, target: Path, rng: random.Random) -> None:
    """A week of typed-in confirmations: ~90 % of the planned airings, some late, some bad rows."""
    rows: list[list[str]] = []
    for sheet in sorted((runsheets / "stations").glob("*.csv")):
        with sheet.open(encoding="utf-8-sig", newline="") as handle:  # run-sheets carry a BOM for Excel
            for airing in csv.DictReader(handle):
                if airing["date"] > "2022-07-06" or rng.random() > 0.9:
                    continue
                rows.append([airing["station"], airing["date"], airing["start"][:5], airing["item"], "phone"])
    rows += [
        ["XA-99999", "2022-07-02", "14:00", "cds-cai-dat", "phone"],  # unknown station
        [rows[0][0], "2021-07-02", "14:00", rows[0][3], "paper"],  # outside the plan
        [rows[0][0], rows[0][1], "25:70", rows[0][3], "paper"],  # bad time
        rows[0],  # duplicate
    ]
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["station", "date", "time", "item", "via"])
        writer.writerows(rows)


def audience(target: Path, communes: Path, count: int, rng: random.Random) -> None:
    """SAMPLE team-member list with the mess real lists have (fictional numbers)."""
    with communes.open(encoding="utf-8", newline="") as handle:
        names = [row["name"] for row in csv.DictReader(handle)]
    prefixes = ["96", "97", "98", "86", "32", "35", "91", "94", "88", "90", "93", "89", "70", "79"]
    with target.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["Họ và tên", "Số điện thoại", "Xã/Phường"])
        seen: list[str] = []
        for i in range(count):
            n = rng.choice(prefixes) + f"{rng.randrange(10_000_000):07d}"
            a, b, c = "0" + n[:3], n[3:6], n[6:]
            phone = rng.choice(SHAPES).format(n=n, a=a[1:], b=b, c=c)
            roll = rng.random()
            if roll < 0.03:
                phone = "chưa có"  # no number
            elif roll < 0.05:
                phone = "0205 3812 345"  # a landline (Lạng Sơn area code 205)
            elif roll < 0.08 and seen:
                phone = rng.choice(seen)  # the same person listed twice
            seen.append(phone)
            writer.writerow([f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}", phone, rng.choice(names)])
            if i % 500 == 0:
                seen = seen[-200:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/demo"))
    parser.add_argument("--recipients", type=int, default=2000)
    args = parser.parse_args()
    out: Path = args.out.resolve()
    clean(out)
    rng = random.Random(2022)
    reference = copy_reference(out / "reference")

    print("\n== 1. the campaign file")
    cli("validate", "-c", CAMPAIGN)

    print("\n== 2. loudspeaker airings: schedule and exports")
    # the reference copy's own as-run store, which the report of step 9 reads
    broadcast = ["broadcast", "-c", str(reference / "campaign.toml"),
                 "--db", str(reference / ".langson" / "broadcast.sqlite")]
    cli(*broadcast, "schedule")
    cli(*broadcast, "export", "--out", out / "broadcast", "--force")  # the demo owns this folder

    print("\n== 3. proof of airing: a week of typed-in confirmations")
    typed = out / "xac_nhan_tuan_1.csv"
    confirmations(out / "broadcast" / "runsheets", typed, rng)
    cli(*broadcast, "confirm", typed)
    report: dict[str, Any] = json.loads(cli(*broadcast, "compliance", "--json", capture=True).stdout)
    print(json.dumps(report.get("total", report), ensure_ascii=False, indent=2)[:1500])

    print("\n== 4. SMS to community-team members: prepare")
    sim_port, dlr_port = free_port(), free_port()
    sms_campaign = out / "sms_campaign.toml"
    sms_campaign.write_text(SMS_CAMPAIGN.replace("{sim_port}", str(sim_port)).replace("{dlr_port}", str(dlr_port)),
                            encoding="utf-8")
    members = out / "thanh_vien_to_cnscd.csv"
    audience(members, HERE / "communes.csv", args.recipients, rng)
    cli("sms", "prepare", "-c", sms_campaign, "--message", "team_notice", "--audience", members, "--out-dir", out / "sms")

    print("\n== 5. send through the carrier simulator on 127.0.0.1")
    # the delivery-report endpoint serves only with a token: one for this run, which the
    # simulator sends with its callbacks (both read it from the environment)
    os.environ.setdefault("LANGSON_DLR_TOKEN", "Bearer " + secrets.token_urlsafe(24))
    simulator = subprocess.Popen(
        [sys.executable, "-m", "langson_comms", "sms", "simulator", "--port", str(sim_port), "--idempotent",
         "--fail-5xx", "0.05", "--dlr-url", f"http://127.0.0.1:{dlr_port}/dlr",
         "--dlr-token-env", "LANGSON_DLR_TOKEN"],
    )
    try:
        time.sleep(1.5)
        cli("sms", "send", "-c", sms_campaign, "--audience", out / "sms" / "prepared.csv", "--serve-reports",
            "--wait-reports", "3", "--no-progress")
        cli("sms", "status", "-c", sms_campaign)
    finally:
        simulator.terminate()
        simulator.wait(timeout=10)

    print("\n== 6. the carrier-run broadcast: order, reports by district (SAMPLE figures)")
    cli("sms", "broadcast-order", "-c", reference / "campaign.toml", "--note", "demo order")
    for carrier, (totals, areas) in carrier_totals(reference, rng).items():
        cli("sms", "broadcast-report", "-c", reference / "campaign.toml", "--carrier", carrier,
            "--subscribers", totals[0], "--sent", totals[1], "--delivered", totals[2], "--areas", areas)
    cli("sms", "status", "-c", reference / "campaign.toml")

    campaign = ["-c", reference / "campaign.toml"]
    print("\n== 7. sign-ups from the four platforms (SAMPLE exports: CSV and .xlsx)")
    # phone numbers are kept only as a keyed hash; a demo key unless one is set
    os.environ.setdefault("LANGSON_COMMS_PSEUDONYM_KEY", "demo-only-pseudonym-key-0123456789")
    cli("signups", "ingest", *campaign, "--no-progress")

    print("\n== 8. press, visual, social and outreach activity (SAMPLE logs)")
    for channel, files in activity_files(reference / "activity", rng).items():
        cli("activity", "log", *campaign, channel, *files)

    print(f"\n== 9. the KPIs, the day's leaderboard and the report folder, as of {AS_OF}")
    cli("report", *campaign, "--to", AS_OF, "--out", out / "report")
    print((out / "report" / "report.txt").read_text(encoding="utf-8"))
    cli("leaderboard", *campaign, "--day", AS_OF)
    print(f"\nEverything the demo wrote is under {out}; open {out / 'report' / 'report.html'}")


def clean(out: Path) -> None:
    """Start from an empty ``out`` (a second run gives the same figures); a folder the
    demo did not make is left alone."""
    if out.exists() and any(out.iterdir()):
        if not ((out / MARKER).exists() or (out / "sms_campaign.toml").exists()):
            raise SystemExit(f"demo: {out} is not empty and not a demo folder; choose another --out")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("made by examples/langson_2022/demo.py: emptied at each run\n", encoding="utf-8")


def _write(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def activity_files(folder: Path, rng: random.Random) -> dict[str, list[Path]]:
    """SAMPLE activity logs from 2022-06-10 to the as-of day, seeded: press items (one
    week with none, a missed week), LED boards and websites, Zalo/Facebook posts (a few
    days without one), team visits, and the members' trainings."""
    import datetime as dt

    start, end = dt.date(2022, 6, 10), dt.date.fromisoformat(AS_OF)
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    outlets = ["Báo Lạng Sơn", "Đài Phát thanh và Truyền hình tỉnh Lạng Sơn"]
    press_days = [d for d in days if d.weekday() in (1, 4) and not dt.date(2022, 7, 4) <= d <= dt.date(2022, 7, 10)]
    press = [[outlets[i % 2], d.isoformat(), f"Công dân số Xứ Lạng: bài {i + 1}", ("article", "radio", "tv")[i % 3],
              rng.randint(20_000, 80_000)] for i, d in enumerate(press_days)]
    boards = [["board", "Quảng trường 17/10", "Sở TT&TT", "178", "2022-06-15", AS_OF, 12_000],
              ["board", "Ngã tư Đồng Đăng", "UBND huyện Cao Lộc", "183", "2022-06-20", AS_OF, 5_000],
              ["website", "langson.gov.vn", "Sở TT&TT", "", "2022-06-10", AS_OF, 8_000]]
    posts = [["zalo" if i % 2 else "facebook", "Trang Chính quyền điện tử tỉnh Lạng Sơn", d.isoformat(),
              f"Hướng dẫn cài đặt ngày {d.isoformat()}", rng.randint(1_000, 9_000), ""]
             for i, d in enumerate(days) if rng.random() > 0.08]
    teams = list(csv.DictReader((folder.parent / "teams.csv").open(encoding="utf-8")))
    codes = sorted({(t["team_code"], t["commune_code"]) for t in teams})
    visits = [[team, commune, d.isoformat(), rng.randint(10, 60), rng.randint(5, 40), rng.randint(0, 5)]
              for d in days[5:] for team, commune in rng.sample(codes, 12)]
    trained = [[t["member_name"], t["team_code"], "2022-06-12", "Trung tâm Công nghệ số"]
               for t in teams if t["trained"] == "yes"]
    return {
        "press": [_write(folder / "bao_chi.csv", ["outlet", "date", "title", "kind", "audience"], press)],
        "visual": [_write(folder / "bang_led_website.csv",
                          ["medium", "location", "unit", "district", "start", "end", "daily audience"], boards)],
        "social": [_write(folder / "mang_xa_hoi.csv", ["platform", "page", "date", "title", "views", "members"],
                          posts)],
        "outreach": [_write(folder / "tap_huan.csv", ["member", "team", "date", "trainer"], trained),
                     _write(folder / "to_cnscd_di_ho.csv",
                            ["team", "commune", "date", "households", "people helped", "installs helped"], visits)],
    }


def copy_reference(folder: Path) -> Path:
    """A copy of the reference campaign (its files beside it), so its ledger is written
    under ``--out`` and not in the example folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("campaign.toml", "communes.csv", "stations.csv", "sketches.csv", "teams.csv"):
        shutil.copy(HERE / name, folder / name)
    shutil.copytree(HERE / "signups", folder / "signups")
    return folder


def carrier_totals(reference: Path, rng: random.Random) -> dict[str, tuple[tuple[int, int, int], Path]]:
    """SAMPLE per-district totals for each carrier (and the carrier's own totals, a little
    above the districts' sum: subscribers it could not place), written as the CSV files
    ``sms broadcast-report --areas`` reads."""
    units = tomllib.loads((reference / "campaign.toml").read_text(encoding="utf-8"))["regions"]["units"]
    districts = [u for u in units if u["level"] == "district"]
    shares = {"viettel": 0.55, "vinaphone": 0.25, "mobifone": 0.20}
    result: dict[str, tuple[tuple[int, int, int], Path]] = {}
    for carrier, share in shares.items():
        path = reference / f"{carrier}_theo_huyen.csv"
        sums = [0, 0, 0]
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["area", "name", "subscribers", "sent", "delivered"])
            for unit in districts:
                subscribers = int(rng.randint(40_000, 160_000) * share)
                sent = subscribers - rng.randint(0, subscribers // 100)
                delivered = sent - rng.randint(0, sent // 25)
                writer.writerow([unit["code"], unit["name"], subscribers, sent, delivered])
                sums = [sums[0] + subscribers, sums[1] + sent, sums[2] + delivered]
        unplaced = rng.randint(500, 3_000)
        result[carrier] = ((sums[0] + unplaced, sums[1] + unplaced, sums[2] + unplaced // 2), path)
    return result


if __name__ == "__main__":
    main()
