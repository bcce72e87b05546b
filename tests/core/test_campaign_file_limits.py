"""Hostile or careless campaign files: a BOM, deep nesting, huge text, values outside sense.

Each is a located problem (file, line, key, what was expected) at ``validate`` — never a
``RecursionError``, a hang, or a crash later in ``sms send`` — and every problem of one
file is reported together.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from langson_comms import CampaignFileError, Runtime
from langson_comms.cli import build_cli

from .conftest import MINIMAL

SMS_BROADCAST = """
[messages.invite]
text = "Tai ung dung"

[channels.sms]
kind = "sms"
message = "invite"
mode = "carrier_broadcast"
carriers = ["viettel", "mobifone"]
"""


def errors_of(runtime: Runtime, path: Path) -> list[str]:
    with pytest.raises(CampaignFileError) as info:
        runtime.load_campaign(path)
    return str(info.value).splitlines()


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_file_with_utf8_bom_is_read(runtime: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "campaign.toml"
    path.write_text(MINIMAL, encoding="utf-8-sig")  # what Notepad and Excel write
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert runtime.load_campaign(path).title == "Test campaign"


@pytest.mark.parametrize("nested", [
    "units = " + "[" * 5000 + "]" * 5000,
    "units = " + "{a = " * 5000 + "1" + "}" * 5000,
    "units = [" + "[" * 5000 + "\n" + "]" * 5001,  # an unclosed-looking but real array
], ids=["arrays", "inline-tables", "multi-line"])
def test_deep_nesting_is_a_located_error(runtime: Runtime, write_campaign, nested: str) -> None:
    text = MINIMAL + "\n[regions]\n" + nested + "\n"
    path = write_campaign(text)
    (line,) = errors_of(runtime, path)
    assert line.startswith(f"{path}:{line_of(text, 'units = ')}: ")
    assert "nested more than 64 deep" in line


def test_brackets_inside_strings_and_comments_are_not_nesting(runtime: Runtime,
                                                             write_campaign) -> None:
    deep = "[" * 200 + "{" * 200
    text = MINIMAL.replace('title = "Test campaign"', f'title = "{deep}" # {deep}\n'
                           f"reference = '{deep}'\n"
                           f'description = """\n{deep}\n"""')
    assert runtime.load_campaign(write_campaign(text)).title == deep


@pytest.mark.parametrize(("change", "key"), [
    ("start = 2022-06-10=>start = 1900-06-10", "campaign.start"),
    ("end = 2022-12-31=>end = 2222-12-31", "campaign.end"),
    ('+[regions]\nfile_valid_from = "0001-01-01"\n', "regions.file_valid_from"),
    ('+[regions]\n[[regions.units]]\ncode = 20\nname = "Lạng Sơn"\nlevel = "province"\n'
     "valid_to = 9999-12-31T00:00:00\n", "regions.units[0].valid_to"),
    ('+[messages.invite]\ntext = "Tai"\n[channels.sms]\nkind = "sms"\nmessage = "invite"\n'
     'send_by = "2999-07-01T21:00"\n[channels.sms.gateways.a]\nkind = "generic_http"\n'
     'url = "http://127.0.0.1:1"\n', "channels.sms.send_by"),
], ids=["date-before-2000", "date-after-2100", "date-string", "date-time", "send-by"])
def test_year_outside_2000_2100_is_refused(runtime: Runtime, write_campaign, change: str,
                                          key: str) -> None:
    if change.startswith("+"):
        text = MINIMAL + "\n" + change[1:]
    else:
        old, new = change.split("=>")
        text = MINIMAL.replace(old, new)
    path = write_campaign(text)
    lines = errors_of(runtime, path)
    said = [line.split(f": {key}: ", 1)[1] for line in lines if f": {key}: " in line]
    assert any("between 2000 and 2100" in text for text in said), lines
    assert all(line.startswith(f"{path}:") for line in lines), lines


@pytest.mark.parametrize("key", ["a/b", "../../etc/x", "sms invite", "x.lock", "", "ưu_đãi",
                                 "-rf", "a" * 65])
def test_message_key_that_is_not_a_safe_identifier_is_refused(runtime: Runtime,
                                                             write_campaign, key: str) -> None:
    # The key names the sender's lock file and the ledger rows: "a/b" crashed `sms send`.
    text = MINIMAL + f'\n[messages."{key}"]\ntext = "x"\n'
    lines = errors_of(runtime, write_campaign(text))
    assert any("messages." in line and "not a safe key" in line
               and "letters, digits, _ and -" in line for line in lines), lines


@pytest.mark.parametrize("group", ["channels", "targets"])
def test_channel_and_target_keys_are_safe_identifiers_too(runtime: Runtime, write_campaign,
                                                          group: str) -> None:
    kind = "press" if group == "channels" else "reach"
    body = ('outlets = ["B"]\n' if group == "channels" else "target = 1\n")
    text = MINIMAL + f'\n[{group}."a/b"]\nkind = "{kind}"\n{body}'
    lines = errors_of(runtime, write_campaign(text))
    assert any(f'{group}.a/b: ' in line and "not a safe key" in line for line in lines), lines


def test_negative_population_is_refused(runtime: Runtime, write_campaign) -> None:
    text = MINIMAL + '\n[targets.population]\nkind = "coverage"\ntarget_percent = 80\n' \
        "population = -5\n"
    path = write_campaign(text)
    (line,) = errors_of(runtime, path)
    assert line.startswith(f"{path}:{line_of(text, 'population = -5')}: "
                           "targets.population.population: -5 is too small"), line


def test_duplicate_carriers_are_refused(runtime: Runtime, write_campaign) -> None:
    text = MINIMAL + SMS_BROADCAST.replace('["viettel", "mobifone"]',
                                           '["viettel", "mobifone", "viettel"]')
    path = write_campaign(text)
    (line,) = errors_of(runtime, path)
    assert "channels.sms.carriers[2]: 'viettel' is named twice" in line, line
    assert line.startswith(f"{path}:{line_of(text, 'carriers = ')}: "), line


@pytest.mark.parametrize("value", ["99_999_999_999_999_999_999", "-" + "9" * 5000],
                         ids=["20-digits", "5000-digits"])
def test_integer_beyond_64_bits_is_refused(runtime: Runtime, write_campaign, value: str) -> None:
    # 5,000 digits: the parser itself raised a bare ValueError (int's 4,300-digit limit)
    text = MINIMAL.replace("target = 12_000_000", f"target = {value}")
    path = write_campaign(text)
    (line,) = errors_of(runtime, path)
    assert line.startswith(f"{path}:{line_of(text, 'target = ')}: ")
    assert "64-bit integer" in line


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_not_a_number_and_infinity_are_refused(runtime: Runtime, write_campaign,
                                               value: str) -> None:
    text = MINIMAL + SMS_BROADCAST.replace('mode = "carrier_broadcast"',
                                           f'mode = "carrier_broadcast"\nreport_timeout_hours'
                                           f" = {value}")
    lines = errors_of(runtime, write_campaign(text))
    assert any("channels.sms.report_timeout_hours: " in line and "finite number" in line
               for line in lines), lines


def test_every_new_check_joins_the_other_problems(runtime: Runtime, write_campaign) -> None:
    text = (MINIMAL.replace("start = 2022-06-10", "start = 1999-12-31")
            .replace('kind = "press"', 'kind = "pres"')
            + SMS_BROADCAST.replace('["viettel", "mobifone"]', '["viettel", "viettel"]')
            + '\n[messages."a/b"]\ntext = "x"\n'
            + '\n[targets.population]\nkind = "coverage"\ntarget_percent = 80\npopulation = -1\n')
    lines = errors_of(runtime, write_campaign(text))
    keys = ["campaign.start", "channels.press.kind", "channels.sms.carriers[1]",
            "messages.a/b", "targets.population.population"]
    for key in keys:
        assert any(f": {key}: " in line for line in lines), (key, lines)


# --- the command line ---------------------------------------------------------------------

def test_validate_prints_a_100kb_title_quickly_and_verbatim(tmp_path: Path) -> None:
    # Rich's highlighter took 64 s on a 100 KB title, and user text was read as markup.
    title = "[red]x[/red] " + "x" * 100_000
    path = tmp_path / "campaign.toml"
    path.write_text(MINIMAL.replace('title = "Test campaign"', f'title = "{title}"')
                    .replace('outlets = ["Báo Lạng Sơn"]', 'outlets = ["[bold]Báo[/bold]"]'),
                    encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "langson_comms", "validate", str(path)],
                            capture_output=True, text=True, timeout=20)
    assert result.returncode == 0, result.stderr
    assert "[red]x[/red]" in result.stdout
    assert "[bold]Báo" in result.stdout  # in the channels table, not made bold


def _cli(args: list[str]) -> tuple[int, str]:
    runtime = Runtime.create(entry_points=False, env={})
    result = CliRunner().invoke(build_cli(runtime), args, obj=runtime)
    assert not isinstance(result.exception, OverflowError), result.exception
    return result.exit_code, result.output


@pytest.mark.parametrize("option", ["--subscribers", "--sent", "--delivered"])
def test_broadcast_report_counts_beyond_64_bits_are_usage_errors(tmp_path: Path,
                                                                 option: str) -> None:
    path = tmp_path / "campaign.toml"
    path.write_text(MINIMAL + SMS_BROADCAST, encoding="utf-8")
    counts = {"--subscribers": "400000", "--sent": "398000", "--delivered": "390000"}
    counts[option] = str(2**64)
    args = ["sms", "broadcast-report", str(path), "--carrier", "viettel"]
    for name, value in counts.items():
        args += [name, value]
    code, output = _cli(args)
    assert code == 2, output
    assert option in output and "9223372036854775807" in output, output


def test_broadcast_report_negative_count_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "campaign.toml"
    path.write_text(MINIMAL + SMS_BROADCAST, encoding="utf-8")
    code, output = _cli(["sms", "broadcast-report", str(path), "--carrier", "viettel",
                         "--subscribers", "-1", "--sent", "0", "--delivered", "0"])
    assert code == 2 and "--subscribers" in output, output


@pytest.mark.parametrize("count", [str(2**64), "9" * 5000], ids=["20-digits", "5000-digits"])
def test_area_count_beyond_64_bits_is_a_located_row_problem(tmp_path: Path, count: str) -> None:
    from langson_comms.errors import DataErrors
    from langson_comms.sms.broadcast_areas import read_area_totals

    from ..dispatch.test_broadcast_areas import _regions

    path = tmp_path / "areas.csv"
    path.write_text(f"area,subscribers,sent,delivered\n178,{count},10,9\n180,40,39,38\n",
                    encoding="utf-8")
    with pytest.raises(DataErrors) as info:
        read_area_totals(path, _regions())
    (error,) = info.value.errors
    assert (error.line, error.column) == (2, "subscribers")
    assert "9,223,372,036,854,775,807" in error.message


def test_reliability_page_names_tests_that_exist() -> None:
    import re

    root = Path(__file__).resolve().parents[2]
    page = (root / "docs" / "reliability.md").read_text(encoding="utf-8")
    section = page.split("## Located errors for campaign files", 1)[1].split("\n## ", 1)[0]
    named = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", section)
    assert len(named) >= 10
    for file, name in named:
        assert re.search(rf"^def {name}\(", (root / file).read_text(encoding="utf-8"),
                         re.MULTILINE), f"{file}::{name}"


DIRECT_SMS = MINIMAL + """
[messages.invite]
text = "Tai ung dung"
classification = "public_notice"
classified_by = "So TT&TT"

[channels.sms]
kind = "sms"
message = "invite"
{line}

[channels.sms.gateways.a]
kind = "generic_http"
url = "http://127.0.0.1:1"
"""


PROMOTIONAL_OPTIONS = ('policies.disable = ["opt_out_footer", "do_not_call", "opt_out"]\n'
                       'policies.sending_window = {}\n')


@pytest.mark.parametrize(("line", "key"), [
    ("claim_size = 0", "channels.sms.claim_size"),
    ("max_segments = -1", "channels.sms.max_segments"),
    ("retry.base_delay = -1", "channels.sms.retry.base_delay"),
    ("retry.max_delay = -0.5", "channels.sms.retry.max_delay"),
    ("retry.jitter = -1", "channels.sms.retry.jitter"),
    ("breaker.threshold = 0", "channels.sms.breaker.threshold"),
    ("breaker.reset_after = -1", "channels.sms.breaker.reset_after"),
    ("reports.port = 70000", "channels.sms.reports.port"),
    ("reports.port = -1", "channels.sms.reports.port"),
    ("reports.poll_interval = 0", "channels.sms.reports.poll_interval"),
    # a promotional message: the advertising rules (frequency_cap) are built
    ("policies.frequency_cap.max_messages = -1", "channels.sms.policies.frequency_cap"),
    ("policies.frequency_cap.window_hours = 0", "channels.sms.policies.frequency_cap"),
], ids=lambda v: v.split(" = ")[0] if " = " in v else None)
def test_sms_numbers_outside_sense_are_refused(runtime: Runtime, write_campaign, line: str,
                                               key: str) -> None:
    text = DIRECT_SMS.format(line=line)
    if "frequency_cap" in line:
        text = text.replace('classification = "public_notice"\nclassified_by = "So TT&TT"\n',
                            "").replace(line, f"{line}\n{PROMOTIONAL_OPTIONS}")
    path = write_campaign(text)
    lines = errors_of(runtime, path)
    assert any(f": {key}" in text and "expected" in text for text in lines), lines
    assert all(text.startswith(f"{path}:") for text in lines), lines


# --- user text elsewhere on the terminal: never markup, never highlighted -----------------

def test_sms_prepare_prints_message_text_verbatim(tmp_path: Path) -> None:
    # "[/x]" crashed the plan's printing (MarkupError); "[thông báo]" vanished from it.
    data = Path(__file__).resolve().parents[1] / "sms" / "data"
    campaign = tmp_path / "campaign.toml"
    campaign.write_text((data / "campaign.toml").read_text(encoding="utf-8").replace(
        "Chào {ten}, mời tải", "[thông báo] [/x] Chào {ten}, mời tải"), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "langson_comms", "sms", "prepare", str(campaign),
         "--message", "invite", "--audience", str(data / "a_utf8_bom_semicolon_crlf.csv"),
         "--dnc", str(data / "dnc.csv"), "--footer", "Tu choi QC soan TC gui 1234",
         "--send-at", "2022-07-01T09:00:00", "--out-dir", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120, encoding="utf-8")
    assert result.returncode == 0, result.stderr
    assert "[thông báo] [/x] Chào {ten}" in result.stdout


def test_sms_status_prints_area_names_verbatim(tmp_path: Path) -> None:
    from ..dispatch.test_broadcast_areas import CAMPAIGN

    campaign = tmp_path / "campaign.toml"
    campaign.write_text(CAMPAIGN.replace("Huyện Tràng Định", "Huyện [/b]Tràng [red]Định"),
                        encoding="utf-8")
    areas = tmp_path / "areas.csv"
    areas.write_text("area,subscribers,sent,delivered\n180,400,390,380\n", encoding="utf-8")
    assert _cli(["sms", "broadcast-order", str(campaign)])[0] == 0
    assert _cli(["sms", "broadcast-report", str(campaign), "--carrier", "viettel",
                 "--subscribers", "500", "--sent", "490", "--delivered", "480",
                 "--areas", str(areas)])[0] == 0
    code, output = _cli(["sms", "status", str(campaign)])
    assert code == 0, output
    assert "[/b]" in output and "[red]" in output, output


def test_broadcast_schedule_prints_station_names_verbatim(runtime: Runtime,
                                                          tmp_path: Path) -> None:
    import shutil

    from langson_comms.cli.broadcast import broadcast

    example = Path(__file__).resolve().parents[2] / "examples" / "langson_2022"
    target = tmp_path / "langson_2022"
    shutil.copytree(example, target, ignore=shutil.ignore_patterns(".langson", "__pycache__"))
    stations = target / "stations.csv"
    lines = stations.read_text(encoding="utf-8").splitlines(keepends=True)
    (i,) = [n for n, line in enumerate(lines) if line.startswith("TTH-186,")]
    code, name, rest = lines[i].split(",", 2)
    lines[i] = f"{code},[/b]{name} [red],{rest}"
    stations.write_text("".join(lines), encoding="utf-8")
    result = CliRunner(env={"COLUMNS": "300"}).invoke(
        broadcast, ["--campaign", str(target / "campaign.toml"), "schedule", "--station",
                    "TTH-186"], obj=runtime)
    assert result.exit_code == 0, (result.output, result.exception)
    assert f"[/b]{name} [red]" in result.output


# --- the other TOML file: `sms prepare --config` -------------------------------------------

PREPARE_CONFIG = '[sms_prepare]\nbrandname = "UBND LSON"\nmax_segments = 4\n'


@pytest.mark.parametrize(("text", "words"), [
    (PREPARE_CONFIG + "prices = " + "[" * 5000 + "]" * 5000 + "\n",
     ":4: values nested more than 64 deep"),
    (PREPARE_CONFIG + "prices = { default = nan }\n", ":4: sms_prepare.prices.default: nan is not"),
    (PREPARE_CONFIG + "max_parts = " + "9" * 5000 + "\n", ":4: an integer of thousands"),
    (PREPARE_CONFIG.replace("4", "4 4"), ":3: invalid TOML"),
], ids=["nesting", "nan", "huge-integer", "syntax"])
def test_prepare_config_file_problems_are_located(tmp_path: Path, text: str, words: str) -> None:
    from langson_comms.cli.sms_prepare import _load_config_file
    from langson_comms.errors import ConfigError

    path = tmp_path / "prepare.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        _load_config_file(path)
    assert f"{path}{words}" in str(info.value), str(info.value)


def test_prepare_config_file_not_utf8_is_located(tmp_path: Path) -> None:
    from langson_comms.cli.sms_prepare import _load_config_file
    from langson_comms.errors import ConfigError

    path = tmp_path / "prepare.toml"
    path.write_bytes(PREPARE_CONFIG.encode() + b'footer = "T\xf4i"\n')
    with pytest.raises(ConfigError, match=r"not UTF-8 text .* at byte 66"):
        _load_config_file(path)


def test_prepare_config_file_with_bom_is_read(tmp_path: Path) -> None:
    from langson_comms.cli.sms_prepare import _load_config_file

    path = tmp_path / "prepare.toml"
    path.write_text(PREPARE_CONFIG, encoding="utf-8-sig")
    table, _ = _load_config_file(path)
    assert table["brandname"] == "UBND LSON"


def test_every_bad_region_unit_is_reported_together(runtime: Runtime, write_campaign) -> None:
    text = MINIMAL + """
[regions]
province = 20

[[regions.units]]
code = 178
name = "Thành phố Lạng Sơn"
level = "district"
parent = 20

[[regions.units]]
code = "abc"
name = "Bad code"
level = "district"
parent = 20

[[regions.units]]
code = 180
name = "Huyện Tràng Định"
level = "borough"
parent = 20

[[regions.units]]
code = 6001
name = "Phường Chi Lăng"
level = "commune"
parent = 999
"""
    lines = errors_of(runtime, write_campaign(text))
    assert len(lines) == 3, lines
    assert ": regions.units[1]: " in lines[0] and ": regions.units[2]: " in lines[1], lines
    assert "parent 999" in lines[2], lines


@pytest.mark.parametrize("value", [100_000_000, 1001])
def test_gateway_connections_beyond_sense_are_refused(runtime: Runtime, write_campaign,
                                                      value: int) -> None:
    # connections = 100000000 passed validate, then `sms send` started one worker task per
    # connection: a CPU-bound hang that did not even answer SIGTERM.
    path = write_campaign(DIRECT_SMS.format(line="") + f"connections = {value}\n")
    lines = errors_of(runtime, path)
    assert any("channels.sms.gateways.a.connections" in text and "at most 1000" in text
               for text in lines), lines


def test_a_plugin_gateway_cannot_declare_a_concurrency_beyond_sense() -> None:
    from langson_comms.sms.gateway import GatewayCapabilities

    assert GatewayCapabilities(concurrency=1000).concurrency == 1000
    with pytest.raises(ValueError, match="at most 1000"):
        GatewayCapabilities(concurrency=100_000_000)


@pytest.mark.parametrize(("line", "gateway_line", "key"), [
    ("", "rate_msgs = 1e308", "channels.sms.gateways.a.rate_msgs"),
    ("", "rate_segments = 1e308", "channels.sms.gateways.a.rate_segments"),
    ("retry.max_delay = 1e300", "", "channels.sms.retry.max_delay"),
    ("retry.max_attempts = 1000000", "", "channels.sms.retry.max_attempts"),
    ("claim_size = 1000000000", "", "channels.sms.claim_size"),
    ("report_timeout_hours = 1e308", "", "channels.sms.report_timeout_hours"),
    ("lease.ttl = 1e300", "", "channels.sms.lease.ttl"),
])
def test_sms_numbers_far_beyond_sense_are_refused(runtime: Runtime, write_campaign, line: str,
                                                  gateway_line: str, key: str) -> None:
    """The review found these passed validate (upper bounds, not only lower ones)."""
    path = write_campaign(DIRECT_SMS.format(line=line) + gateway_line + "\n")
    lines = errors_of(runtime, path)
    assert any(key in text and "too large" in text for text in lines), lines
