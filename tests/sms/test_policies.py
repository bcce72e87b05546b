"""Compliance policies: each one holding/suppressing and passing; public_notice exemption."""

from __future__ import annotations

from pathlib import Path

import pendulum
import pytest

from langson_comms import LOCAL_TZ, ConfigContext, PolicyError, Runtime
from langson_comms.errors import CampaignFileError, ConfigError
from langson_comms.messages import Message
from langson_comms.sms.policies import (
    Action,
    CsvSendHistory,
    Decision,
    Policy,
    PolicyContext,
    PolicySet,
    SmsItem,
)

DATA = Path(__file__).parent / "data"
PROMO = Message(key="promo", text="Tải ứng dụng Công dân số Xứ Lạng")
NOTICE = Message(key="notice", text="Lịch tiêm chủng", classification="public_notice",
                 classified_by="Sở TTTT (CV 123)")
FOOTER = "Tu choi QC soan TC gui 1234"


def at(text: str) -> PolicyContext:
    return PolicyContext(now=pendulum.parse(text, tz=LOCAL_TZ), history=CsvSendHistory.empty())


@pytest.fixture
def build(runtime: Runtime, tmp_path: Path):  # type: ignore[no-untyped-def]
    ctx = ConfigContext(source="campaign.toml", base_dir=DATA, key="policies")

    def make(name: str, config: dict | None = None) -> Policy:  # type: ignore[type-arg]
        cls = runtime.registry.get("policy", name)
        policy: Policy = cls.from_config(config or {}, ctx.child(name))
        return policy

    return make


def test_builtins_are_registered_through_register_policies(runtime: Runtime) -> None:
    assert set(runtime.registry.names("policy")) >= {
        "sending_window", "frequency_cap", "qc_label", "opt_out_footer", "do_not_call", "opt_out"}


@pytest.mark.parametrize(
    ("now", "until"),
    [
        ("2022-07-01T22:00:00", "2022-07-02T07:00:00"),
        ("2022-07-01T23:59:00", "2022-07-02T07:00:00"),
        ("2022-07-01T00:00:00", "2022-07-01T07:00:00"),
        ("2022-07-01T06:59:59", "2022-07-01T07:00:00"),
        ("2022-07-01T15:30:00+00:00", "2022-07-02T07:00:00"),  # 22:30 in Lạng Sơn
    ],
)
def test_sending_window_holds_until_seven(build, now: str, until: str) -> None:  # type: ignore[no-untyped-def]
    decision = build("sending_window").check(SmsItem(PROMO, PROMO.text), at(now))
    assert decision.action is Action.HOLD
    assert decision.policy == "sending_window"
    assert decision.until == pendulum.parse(until, tz=LOCAL_TZ)
    assert decision.until.tzinfo is not None


@pytest.mark.parametrize("now", ["2022-07-01T07:00:00", "2022-07-01T12:00:00",
                                 "2022-07-01T21:59:59", "2022-07-01T02:00:00+00:00"])
def test_sending_window_passes_inside(build, now: str) -> None:  # type: ignore[no-untyped-def]
    decision = build("sending_window").check(SmsItem(PROMO, PROMO.text), at(now))
    assert decision == Decision.passed("sending_window")


def test_sending_window_is_configurable(build) -> None:  # type: ignore[no-untyped-def]
    policy = build("sending_window", {"start": "08:00", "end": "20:00"})
    assert policy.check(SmsItem(PROMO, "x"), at("2022-07-01T07:30:00")).action is Action.HOLD
    with pytest.raises(CampaignFileError, match="before end"):
        build("sending_window", {"start": "20:00", "end": "08:00"})


def _history(tmp_path: Path, rows: list[tuple[str, str, str]]) -> CsvSendHistory:
    path = tmp_path / "history.csv"
    path.write_text("msisdn,sent_at,classification\n"
                    + "".join(f"{m},{t},{c}\n" for m, t, c in rows), encoding="utf-8")
    return CsvSendHistory.from_csv(path)


def test_frequency_cap_holds_the_fourth_promotional_sms_in_24h(build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    history = _history(tmp_path, [
        ("0912345678", "2022-07-01T08:00:00", "promotional"),
        ("+84912345678", "2022-07-01T10:00:00", "promotional"),
        ("84912345678", "2022-07-01T12:00:00+07:00", "promotional"),
        ("0912345678", "2022-07-01T13:00:00", "public_notice"),  # not counted
        ("0987654321", "2022-07-01T08:00:00", "promotional"),
    ])
    policy = build("frequency_cap")
    ctx = PolicyContext(now=pendulum.datetime(2022, 7, 1, 14, tz=LOCAL_TZ), history=history)
    held = policy.check(SmsItem(PROMO, "x", "+84912345678"), ctx)
    assert held.action is Action.HOLD and held.policy == "frequency_cap"
    # the oldest of the three leaves the 24 h window at 08:00 the next day
    assert held.until == pendulum.datetime(2022, 7, 2, 8, tz=LOCAL_TZ)
    assert "3 promotional SMS" in held.reason
    assert policy.check(SmsItem(PROMO, "x", "+84987654321"), ctx).action is Action.PASS
    later = PolicyContext(now=pendulum.datetime(2022, 7, 2, 8, 0, 1, tz=LOCAL_TZ), history=history)
    assert policy.check(SmsItem(PROMO, "x", "+84912345678"), later).action is Action.PASS


def test_frequency_cap_with_a_count_only_history_holds_a_full_window(build) -> None:  # type: ignore[no-untyped-def]
    class Ledger:
        def count_promotional(self, msisdn: str, since: pendulum.DateTime) -> int:
            return 3 if msisdn == "+84912345678" else 2

    now = pendulum.datetime(2022, 7, 1, 14, tz=LOCAL_TZ)
    policy = build("frequency_cap", {"max_messages": 3})
    decision = policy.check(SmsItem(PROMO, "x", "+84912345678"), PolicyContext(now, Ledger()))
    assert decision.until == now.add(hours=24)
    assert policy.check(SmsItem(PROMO, "x", "+84911111111"),
                        PolicyContext(now, Ledger())).action is Action.PASS


def test_frequency_cap_without_history_is_an_error_naming_the_policy(build) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PolicyError, match="frequency_cap"):
        build("frequency_cap").check(SmsItem(PROMO, "x", "+84912345678"),
                                     PolicyContext(pendulum.now(LOCAL_TZ)))


def test_qc_label_rewrites_and_passes(build) -> None:  # type: ignore[no-untyped-def]
    policy = build("qc_label")
    ctx = at("2022-07-01T09:00:00")
    decision = policy.check(SmsItem(PROMO, PROMO.text), ctx)
    assert decision.action is Action.REWRITE and decision.policy == "qc_label"
    assert decision.text == "[QC] " + PROMO.text
    assert policy.check(SmsItem(PROMO, "[QC] x"), ctx).action is Action.PASS
    assert policy.check(SmsItem(PROMO, "[AD] x"), ctx).action is Action.PASS


def test_opt_out_footer_rewrites_passes_and_is_required(build) -> None:  # type: ignore[no-untyped-def]
    policy = build("opt_out_footer", {"footer": FOOTER})
    ctx = at("2022-07-01T09:00:00")
    decision = policy.check(SmsItem(PROMO, "[QC] x"), ctx)
    assert decision.action is Action.REWRITE
    assert decision.text == f"[QC] x {FOOTER}"
    assert policy.check(SmsItem(PROMO, f"[QC] x {FOOTER}"), ctx).action is Action.PASS
    with pytest.raises(ConfigError, match=r"policies.opt_out_footer.footer: required"):
        build("opt_out_footer")


def test_do_not_call_suppresses_listed_numbers_and_passes_others(build) -> None:  # type: ignore[no-untyped-def]
    policy = build("do_not_call", {"files": ["dnc.csv"]})
    ctx = at("2022-07-01T09:00:00")
    decision = policy.check(SmsItem(PROMO, "x", "+84977111222"), ctx)
    assert decision.action is Action.SUPPRESS and decision.policy == "do_not_call"
    assert decision.reason == "on the Do-Not-Call list"
    assert policy.check(SmsItem(PROMO, "x", "+84911000999"), ctx).action is Action.SUPPRESS
    assert policy.check(SmsItem(PROMO, "x", "+84912345678"), ctx).action is Action.PASS
    assert policy.numbers.unusable == 1  # "not a number" in the list, counted


def test_do_not_call_needs_its_list(build) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="do-not-call list"):
        build("do_not_call")
    with pytest.raises(ConfigError, match=r"files\[0\]: file 'missing\.csv' not found"):
        build("do_not_call", {"files": ["missing.csv"]})


def test_opt_out_applies_even_to_public_notices(build) -> None:  # type: ignore[no-untyped-def]
    policy = build("opt_out", {"files": ["opt_out.txt"]})
    ctx = at("2022-07-01T09:00:00")
    for message in (PROMO, NOTICE):
        decision = policy.check(SmsItem(message, "x", "+84905666777"), ctx)
        assert decision.action is Action.SUPPRESS and decision.policy == "opt_out"
    assert policy.check(SmsItem(NOTICE, "x", "+84912345678"), ctx).action is Action.PASS


@pytest.mark.parametrize("name", ["sending_window", "frequency_cap", "qc_label",
                                  "opt_out_footer", "do_not_call"])
def test_public_notice_skips_advertising_rules_on_record(build, name: str) -> None:  # type: ignore[no-untyped-def]
    config = {"opt_out_footer": {"footer": FOOTER}, "do_not_call": {"files": ["dnc.csv"]}}
    policy = build(name, config.get(name))
    night = at("2022-07-01T23:30:00")
    decision = policy.check(SmsItem(NOTICE, NOTICE.text, "+84977111222"), night)
    assert decision.action is Action.PASS
    assert decision.is_exempt and decision.exempt_by == "Sở TTTT (CV 123)"
    assert decision.policy == name
    assert "public_notice" in decision.reason


def test_policy_set_applies_rewrites_in_order_and_suppression_wins(build) -> None:  # type: ignore[no-untyped-def]
    policies = PolicySet([
        build("qc_label"), build("opt_out_footer", {"footer": FOOTER}),
        build("sending_window"), build("do_not_call", {"files": ["dnc.csv"]}),
    ])
    night = at("2022-07-01T23:00:00")
    held = policies.evaluate(SmsItem(PROMO, "Xin chao", "+84912345678"), night)
    assert held.action is Action.HOLD
    assert held.text == f"[QC] Xin chao {FOOTER}"
    assert held.deciding is not None and held.deciding.policy == "sending_window"
    assert [d.policy for d in held.decisions] == [
        "qc_label", "opt_out_footer", "sending_window", "do_not_call"]
    gone = policies.evaluate(SmsItem(PROMO, "Xin chao", "+84977111222"), night)
    assert gone.action is Action.SUPPRESS
    assert gone.deciding is not None and gone.deciding.policy == "do_not_call"


def test_a_decision_must_name_its_policy() -> None:
    class Liar(Policy):
        name = "liar"

        def decide(self, item: SmsItem, ctx: PolicyContext) -> Decision:
            return Decision.passed("someone_else")

    with pytest.raises(PolicyError, match="liar"):
        PolicySet([Liar()]).evaluate(SmsItem(PROMO, "x"), at("2022-07-01T09:00:00"))


def test_decisions_validate_their_shape() -> None:
    with pytest.raises(ValueError, match="aware"):
        Decision.hold("p", pendulum.naive(2022, 7, 1), "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="aware"):
        PolicyContext(now=pendulum.naive(2022, 7, 1))  # type: ignore[arg-type]


def test_send_history_file_errors_are_located(tmp_path: Path) -> None:
    bad = tmp_path / "h.csv"
    bad.write_text("msisdn,sent_at\n0912345678,yesterday\n", encoding="utf-8")
    with pytest.raises(Exception, match=r"h.csv:2: sent_at: not an ISO 8601"):
        CsvSendHistory.from_csv(bad)
