"""Preparation end to end (library level): every row lands in exactly one bucket."""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path
from typing import Any

import pendulum
import pytest

from langson_comms import LOCAL_TZ, ConfigContext, Runtime
from langson_comms.errors import ConfigError
from langson_comms.messages import Message
from langson_comms.sms.policies import CsvSendHistory, PolicyContext
from langson_comms.sms.prepare import PrepareConfig, PreparePlan, Preparer, build_policies

DATA = Path(__file__).parent / "data"
FILES = [DATA / "a_utf8_bom_semicolon_crlf.csv", DATA / "b_cp1258_comma_lf.csv",
         DATA / "c_utf16_tab_crlf.csv"]
NAMES = [p.name for p in FILES]
INVITE = Message(key="invite", text="Chào {ten}, mời tải “Công dân số Xứ Lạng” tại xã {xa}.")
NOTICE = Message(key="notice", text="Thông báo lịch tiêm chủng tại xã {xa}, mời {ten} đến.",
                 classification="public_notice", classified_by="Sở TTTT (CV 123)")
FOOTER = "Tu choi QC soan TC gui 1234"
POLICIES = {"do_not_call": {"files": ["dnc.csv"]}, "opt_out": {"files": ["opt_out.txt"]},
            "opt_out_footer": {"footer": FOOTER}}

#: the expected bucket of every row of the three messy files (see data/make_fixtures.py)
EXPECTED = {
    ("a_utf8_bom_semicolon_crlf.csv", 2): "valid",
    ("a_utf8_bom_semicolon_crlf.csv", 3): "valid",  # +84 (0) 987…; spans lines 3–4
    ("a_utf8_bom_semicolon_crlf.csv", 5): "valid",  # 01689… → +84389…
    ("a_utf8_bom_semicolon_crlf.csv", 6): "quarantined:landline",
    ("a_utf8_bom_semicolon_crlf.csv", 7): "quarantined:rejected_live_prefix",
    ("a_utf8_bom_semicolon_crlf.csv", 8): "quarantined:no_number",
    ("a_utf8_bom_semicolon_crlf.csv", 10): "duplicate",
    ("a_utf8_bom_semicolon_crlf.csv", 11): "suppressed:do_not_call",
    ("a_utf8_bom_semicolon_crlf.csv", 12): "quarantined:missing_field",
    ("a_utf8_bom_semicolon_crlf.csv", 13): "quarantined:misaligned",
    ("a_utf8_bom_semicolon_crlf.csv", 14): "valid",  # full-width digits
    ("b_cp1258_comma_lf.csv", 2): "duplicate",  # 84912345678, across files
    ("b_cp1258_comma_lf.csv", 3): "valid",
    ("b_cp1258_comma_lf.csv", 4): "valid",  # 0163… → 033…
    ("b_cp1258_comma_lf.csv", 5): "suppressed:opt_out",
    ("b_cp1258_comma_lf.csv", 6): "quarantined:undecodable",
    ("c_utf16_tab_crlf.csv", 2): "valid",
    ("c_utf16_tab_crlf.csv", 3): "duplicate",  # +84 168 912 3456 = A's 01689 123 456
    ("c_utf16_tab_crlf.csv", 4): "quarantined:rejected_live_prefix",
}


def prepare(runtime: Runtime, message: Message, *, now: str = "2022-07-01T09:00:00",
            policies: dict[str, Any] | None = None, history: CsvSendHistory | None = None,
            **config: Any) -> tuple[PreparePlan, dict[str, list[dict[str, str]]]]:
    ctx = ConfigContext(source="prepare.toml", base_dir=DATA, key="sms_prepare")
    cfg = PrepareConfig.from_config({"policies": policies if policies is not None else POLICIES,
                                     **config}, ctx)
    selection = build_policies(runtime.registry, message, cfg, ctx)
    context = PolicyContext(now=pendulum.parse(now, tz=LOCAL_TZ),
                            history=history or CsvSendHistory.empty())
    outputs = {name: io.StringIO() for name in ("prepared", "quarantine", "excluded")}
    plan = Preparer(message, selection, context, cfg, time_numbers=True).run(
        FILES, outputs["prepared"], outputs["quarantine"], outputs["excluded"], names=NAMES)
    tables = {k: list(csv.DictReader(io.StringIO(v.getvalue()))) for k, v in outputs.items()}
    return plan, tables


def buckets(tables: dict[str, list[dict[str, str]]]) -> dict[tuple[str, int], str]:
    found: dict[tuple[str, int], str] = {}
    for row in tables["prepared"]:
        found[(row["source_file"], int(row["source_line"]))] = "valid"
    for row in tables["quarantine"]:
        found[(row["source_file"], int(row["source_line"]))] = f"quarantined:{row['reason_code']}"
    for row in tables["excluded"]:
        key = (row["source_file"], int(row["source_line"]))
        found[key] = "duplicate" if row["status"] == "duplicate" else f"suppressed:{row['policy']}"
    return found


def test_every_row_of_the_messy_files_lands_in_its_bucket(runtime: Runtime) -> None:
    plan, tables = prepare(runtime, INVITE)
    assert buckets(tables) == EXPECTED
    totals = plan.as_dict()["totals"]
    assert totals == {"rows_read": 19, "valid": 7, "quarantined": 7, "duplicates": 3,
                      "suppressed": 2, "adds_up": True}
    assert totals["rows_read"] == (totals["valid"] + totals["quarantined"]
                                   + totals["duplicates"] + totals["suppressed"])
    assert sum(f.rows for f in plan.files) == 19
    assert plan.quarantined == {"landline": 1, "rejected_live_prefix": 2, "no_number": 1,
                                "missing_field": 1, "misaligned": 1, "undecodable": 1}
    assert plan.suppressed == {"do_not_call": 1, "opt_out": 1}


def test_prepared_rows_are_e164_with_hints_and_fields(runtime: Runtime) -> None:
    _, tables = prepare(runtime, INVITE)
    prepared = tables["prepared"]
    assert list(prepared[0]) == ["msisdn", "carrier_hint", "source_file", "source_line",
                                 "ten", "xa", "ghi_chu"]
    assert [r["msisdn"] for r in prepared] == [
        "+84912345678", "+84987654321", "+84389123456", "+84933444555", "+84976555666",
        "+84335557777", "+84359888999"]
    assert prepared[2]["carrier_hint"] == "viettel" and prepared[3]["carrier_hint"] == "mobifone"
    assert prepared[4]["ten"] == "Lò Thị Nga"  # from the cp1258 file, NFC
    quarantine = tables["quarantine"]
    landline = next(r for r in quarantine if r["reason_code"] == "landline")
    assert landline["raw_value"] == "0205 3870 123"
    assert landline["reason"] == "landline: cannot receive SMS"


def test_message_policies_rewrite_the_template_and_costs_count_them(runtime: Runtime) -> None:
    plan, _ = prepare(runtime, INVITE, unaccented=True, prices={"default": 800, "viettel": 750})
    assert plan.template.startswith("[QC] Chào {ten}")
    assert plan.template.endswith(FOOTER)
    data = plan.as_dict()
    assert data["encodings"] == {"GSM-7": 7}
    assert data["alternative"]["encodings"] == {"UCS-2": 7}
    assert data["total_segments"] < data["alternative"]["total_segments"]
    # cost = parts × price per carrier hint
    viettel_parts = plan.segments_by_carrier["viettel"]
    other_parts = plan.total_segments - viettel_parts
    assert data["cost"]["total"] == str(viettel_parts * 750 + other_parts * 800)
    assert [d["policy"] for d in data["policies"]["message_decisions"]] == [
        "opt_out_footer", "qc_label", "sending_window"]


def test_sending_window_holds_every_valid_row_at_night(runtime: Runtime) -> None:
    plan, tables = prepare(runtime, INVITE, now="2022-07-01T22:30:00")
    assert plan.held == {"sending_window": 7}
    assert plan.held_until["sending_window"] == pendulum.datetime(2022, 7, 2, 7, tz=LOCAL_TZ)
    assert len(tables["prepared"]) == 7  # held rows are still prepared; the engine waits


def test_frequency_cap_holds_numbers_with_three_recent_sends(runtime: Runtime,
                                                             tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    path.write_text("msisdn,sent_at\n" + "".join(
        f"0912345678,2022-07-01T0{h}:00:00\n" for h in (6, 7, 8)), encoding="utf-8")
    plan, _ = prepare(runtime, INVITE, history=CsvSendHistory.from_csv(path))
    assert plan.held == {"frequency_cap": 1}
    assert plan.held_until["frequency_cap"] == pendulum.datetime(2022, 7, 2, 6, tz=LOCAL_TZ)


def test_public_notice_exemption_is_recorded_and_logged(runtime: Runtime,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="langson_comms.sms.prepare"):
        plan, _ = prepare(runtime, NOTICE, now="2022-07-01T23:00:00",
                               policies={"opt_out": {"files": ["opt_out.txt"]}})
    data = plan.as_dict()
    assert data["message"]["classification"] == "public_notice"
    assert data["message"]["classified_by"] == "Sở TTTT (CV 123)"
    assert data["message"]["advertising_rules_skipped"] == [
        "do_not_call", "frequency_cap", "opt_out_footer", "qc_label", "sending_window"]
    assert data["policies"]["applied"] == ["opt_out"]
    assert plan.template == NOTICE.text  # no [QC], no footer
    assert plan.held == {}  # 23:00 is fine for a notice
    assert plan.suppressed == {"opt_out": 1}  # opt-outs still honoured
    assert plan.valid == 8  # the Do-Not-Call number now receives it
    assert plan.adds_up
    assert any("public_notice" in r.getMessage() and "Sở TTTT (CV 123)" in r.getMessage()
               for r in caplog.records)


def test_disabled_policies_are_recorded(runtime: Runtime) -> None:
    plan, _ = prepare(runtime, INVITE, policies={"opt_out_footer": {"footer": FOOTER}},
                      disable=["do_not_call", "opt_out"])
    assert plan.disabled == ("do_not_call", "opt_out")
    assert plan.suppressed == {}
    assert "policy do_not_call disabled by the operator" in plan.notes


def test_promotional_message_without_dnc_list_is_refused(runtime: Runtime) -> None:
    with pytest.raises(ConfigError, match=r"policies.do_not_call.files: required"):
        prepare(runtime, INVITE, policies={"opt_out_footer": {"footer": FOOTER}})


def test_unknown_policy_names_are_refused(runtime: Runtime) -> None:
    with pytest.raises(ConfigError, match="no policy named 'quiet'") as info:
        prepare(runtime, INVITE, policies={**POLICIES, "quiet": {}})
    assert "is its plugin installed? see `langson-comms plugins`" in str(info.value)
    with pytest.raises(ConfigError, match="no policy named 'loud'.*is its plugin installed"):
        prepare(runtime, INVITE, policies=POLICIES, disable=["loud"])


def test_max_segments_quarantines_recipients_whose_text_is_too_long(runtime: Runtime) -> None:
    plan, tables = prepare(runtime, INVITE, max_segments=1)
    # rendering comes before recipient policies (they see the real text), so the
    # Do-Not-Call and opt-out rows are quarantined as too long too: 7 + 2
    assert plan.quarantined["too_long"] == 9 and plan.valid == 0 and plan.suppressed == {}
    assert plan.adds_up
    assert "at most 1 allowed" in next(
        r for r in tables["quarantine"] if r["reason_code"] == "too_long")["reason"]


def test_a_template_field_no_file_has_is_a_clear_error(runtime: Runtime) -> None:
    message = Message(key="m", text="Chào {ho_dem} {ten}")
    with pytest.raises(ConfigError, match=r"uses \{ho_dem\} but a_utf8_bom_semicolon_crlf.csv "
                                          r"has no such column"):
        prepare(runtime, message)
    plan, _ = prepare(runtime, message, defaults={"ho_dem": "anh/chị"})
    assert plan.valid == 7


@pytest.mark.parametrize(
    ("config", "message"),
    [({"prices": {"viettell": 800}}, "prices.viettell: 'viettell' is not a carrier"),
     ({"brandname": "LANG SON TTTT"}, "brandname: brandname 'LANG SON TTTT' has 13"),
     ({"max_segments": 0}, "max_segments: must be at least 1"),
     ({"unaccented": "yes"}, "unaccented: 'yes' is not true or false"),
     ({"colour": "red"}, "colour: unknown key")],
)
def test_config_errors_are_located(config: dict[str, Any], message: str) -> None:
    ctx = ConfigContext(source="prepare.toml", base_dir=DATA, key="sms_prepare")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")) as caught:
        PrepareConfig.from_config(config, ctx)
    assert "prepare.toml" in str(caught.value) and "sms_prepare." in str(caught.value)
