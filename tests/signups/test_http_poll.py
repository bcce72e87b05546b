"""The built-in ``http_poll`` source against a real JSON API on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import attrs
import pytest

from langson_comms import FrozenClock, Runtime
from langson_comms.default_plugins import signups_http
from langson_comms.default_plugins.signups_http import HttpPollSource
from langson_comms.errors import CampaignFileError, ConfigError, DataError, GatewayError
from langson_comms.signups import SqliteSignupStore, ingest
from langson_comms.testing import SignupSourceContract
from langson_comms.testing.signup_contract import contract_items

from .conftest import ENV, write_campaign
from .net_helpers import PagedApi, running


def toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def poll_table(url: str, **extra: Any) -> str:
    lines = ['[signups.postmart]', 'kind = "http_poll"', 'platform = "postmart"', f'url = "{url}"',
             'items = "data.items"', 'next_cursor = "data.next"', 'page_size_param = "limit"', "page_size = 3",
             "backoff = 0.5"]
    lines += [f"{k} = {toml_value(v)}" for k, v in extra.items()]
    return "\n" + "\n".join(lines) + "\n"


@pytest.fixture
def api() -> Iterator[PagedApi]:
    with running(PagedApi(contract_items(8), page_size=3)) as served:
        yield served


def load(runtime: Runtime, folder: Path, url: str, **extra: Any) -> Any:
    return runtime.load_campaign(write_campaign(folder, poll_table(url, **extra)))


def ids(store: SqliteSignupStore) -> list[str]:
    return [r[0] for r in store._db.execute("SELECT external_id FROM signups ORDER BY external_id")]


def test_pages_are_followed_and_a_later_run_takes_only_what_was_added(
    runtime: Runtime, tmp_path: Path, frozen_clock: FrozenClock, api: PagedApi
) -> None:
    campaign = load(runtime, tmp_path, api.url)
    with SqliteSignupStore(tmp_path / "s.sqlite") as store:
        counts = ingest(campaign, store, clock=frozen_clock, env=ENV).sources["postmart"]
        assert (counts.read, counts.accepted, counts.duplicates, counts.rejected) == (8, 8, 0, 0)
        assert [r.get("cursor") for r in api.requests] == [None, "3", "6"]
        assert json.loads(store.position("postmart") or "") == {"cursor": "6", "skip": 2}
        # the platform adds two events: the last page grows and a new one appears
        api.items += contract_items(10)[8:]
        api.requests.clear()
        again = ingest(campaign, store, clock=frozen_clock, env=ENV).sources["postmart"]
        assert (again.read, again.accepted, again.duplicates) == (2, 2, 0)
        assert [r.get("cursor") for r in api.requests] == ["6", "9"]
        assert ids(store) == [f"ev{i:04d}" for i in range(1, 11)]


def test_500_and_429_are_retried_after_backoff_and_retry_after_on_the_injected_clock(
    runtime: Runtime, tmp_path: Path, frozen_clock: FrozenClock, api: PagedApi
) -> None:
    api.failures = [(500, {}), (429, {"Retry-After": "7"})]
    api.fail_offsets = {3: 1}  # the second page answers 503 once
    campaign = load(runtime, tmp_path, api.url)
    start = frozen_clock.timestamp()
    with SqliteSignupStore(tmp_path / "s.sqlite") as store:
        counts = ingest(campaign, store, clock=frozen_clock, env=ENV).sources["postmart"]
        assert (counts.read, counts.accepted, counts.duplicates) == (8, 8, 0)
    # 0.5 s after the 500, 7 s as the 429 said, 0.5 s after the second page's 503
    assert frozen_clock.timestamp() - start == pytest.approx(8.0)
    assert [r.get("cursor") for r in api.requests] == [None, None, None, "3", "3", "6"]


def test_a_page_that_keeps_failing_stops_the_run_and_the_next_run_resumes_there(
    runtime: Runtime, tmp_path: Path, frozen_clock: FrozenClock, api: PagedApi
) -> None:
    api.fail_offsets = {6: 3}
    campaign = load(runtime, tmp_path, api.url, max_attempts=3)
    with SqliteSignupStore(tmp_path / "s.sqlite") as store:
        with pytest.raises(GatewayError) as info:
            ingest(campaign, store, clock=frozen_clock, env=ENV)
        assert "signups.postmart" in str(info.value) and "page 6" in str(info.value)
        assert "HTTP 503" in str(info.value)
        assert store.count() == 6
        api.requests.clear()
        counts = ingest(campaign, store, clock=frozen_clock, env=ENV).sources["postmart"]
        assert (counts.read, counts.accepted, counts.duplicates) == (2, 2, 0)
        assert [r.get("cursor") for r in api.requests] == ["6"]


def test_killed_after_a_stored_page_resumes_with_no_page_skipped_or_doubled(
    runtime: Runtime, tmp_path: Path, frozen_clock: FrozenClock, api: PagedApi
) -> None:
    campaign = load(runtime, tmp_path, api.url)
    calls = []

    def crash_after_second_page(key: str, read: int) -> None:
        calls.append(read)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed between pages")

    with SqliteSignupStore(tmp_path / "s.sqlite") as store:
        with pytest.raises(KeyboardInterrupt):
            ingest(campaign, store, clock=frozen_clock, env=ENV, progress=crash_after_second_page)
        assert store.count() == 6
        api.requests.clear()
        counts = ingest(campaign, store, clock=frozen_clock, env=ENV).sources["postmart"]
        assert (counts.read, counts.accepted, counts.duplicates) == (2, 2, 0)
        assert [r.get("cursor") for r in api.requests] == ["6"]
        assert ids(store) == [f"ev{i:04d}" for i in range(1, 9)]


def test_page_numbers_pagination(runtime: Runtime, tmp_path: Path, frozen_clock: FrozenClock,
                                 api: PagedApi) -> None:
    campaign = load(runtime, tmp_path, api.url, pagination="page", page_param="page", first_page=1)
    with SqliteSignupStore(tmp_path / "s.sqlite") as store:
        counts = ingest(campaign, store, clock=frozen_clock, env=ENV).sources["postmart"]
        assert (counts.read, counts.accepted) == (8, 8)
        assert [r.get("page") for r in api.requests] == ["1", "2", "3"]
        assert json.loads(store.position("postmart") or "") == {"cursor": 3, "skip": 2}


def test_bad_items_are_located_rejections_and_the_rest_is_stored(
    runtime: Runtime, tmp_path: Path, frozen_clock: FrozenClock, api: PagedApi
) -> None:
    api.items[1] = {**api.items[1], "occurred_at": True}
    api.items[4] = {**api.items[4], "phone": "0243 123 4567"}
    api.items[5] = "not an object"
    campaign = load(runtime, tmp_path, api.url)
    with SqliteSignupStore(tmp_path / "s.sqlite") as store:
        counts = ingest(campaign, store, clock=frozen_clock, env=ENV).sources["postmart"]
        assert (counts.read, counts.accepted, counts.rejected) == (8, 5, 3)
        found = [r.format() for r in store.rejections()]
        assert found[0].startswith("postmart:page first[1]: occurred_at: is boolean")
        assert found[1].startswith("postmart:page 3[1]: phone: not a usable mobile number")
        assert found[2] == "postmart:page 3[2]: the item is string, expected an object"
        assert not any("4567" in f for f in found)


def test_a_cursor_loop_ends_the_run_instead_of_polling_forever(
    runtime: Runtime, tmp_path: Path, frozen_clock: FrozenClock
) -> None:
    # Review: only "the same cursor again" ended a run; an API whose cursors cycle
    # (a -> b -> a …) was polled forever, storing nothing new.
    import httpx

    asked: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("cursor")
        asked.append(cursor)
        if len(asked) > 20:
            raise RuntimeError("still polling after 20 requests")
        following = "b" if cursor in (None, "a") else "a"
        item = {"external_id": f"loop-{cursor}", "kind": "install", "occurred_at": "2022-07-01"}
        return httpx.Response(200, json={"data": {"items": [item], "next": following}})

    campaign = load(runtime, tmp_path, "http://127.0.0.1:9/orders")
    source = campaign.signups.sources["postmart"].with_transport(httpx.MockTransport(answer))
    with SqliteSignupStore(tmp_path / "s.sqlite") as store:
        counts = ingest(campaign, store, clock=frozen_clock, env=ENV, sources={"postmart": source}).sources["postmart"]
        assert asked == [None, "b", "a"]
        assert (counts.read, counts.accepted, counts.duplicates) == (3, 3, 0)
        assert ids(store) == ["loop-None", "loop-a", "loop-b"]


def test_an_answer_that_is_not_json_or_has_no_items_is_a_located_error(
    runtime: Runtime, tmp_path: Path, frozen_clock: FrozenClock, api: PagedApi
) -> None:
    campaign = load(runtime, tmp_path, api.url)
    with SqliteSignupStore(tmp_path / "s.sqlite") as store:
        api.raw = b"<html>maintenance</html>"
        with pytest.raises(DataError, match=r"page first.*not JSON"):
            ingest(campaign, store, clock=frozen_clock, env=ENV)
        api.raw = b'{"data": {"rows": []}}'
        with pytest.raises(DataError, match=r"expected the list of items at 'data.items', found nothing"):
            ingest(campaign, store, clock=frozen_clock, env=ENV)
        api.raw = b"[" * 100_000
        with pytest.raises(DataError, match="not JSON"):
            ingest(campaign, store, clock=frozen_clock, env=ENV)
        assert store.count() == 0 and store.position("postmart") is None


def test_token_comes_from_the_environment_and_rate_limit_paces_requests(
    runtime: Runtime, tmp_path: Path, frozen_clock: FrozenClock, api: PagedApi
) -> None:
    campaign = load(runtime, tmp_path, api.url, token_env="POSTMART_TOKEN", rate_limit=2.0)
    start = frozen_clock.timestamp()
    with SqliteSignupStore(tmp_path / "s.sqlite") as store:
        with pytest.raises(ConfigError, match="POSTMART_TOKEN is not set"):
            ingest(campaign, store, clock=frozen_clock, env=ENV)
        source = attrs.evolve(campaign.signups.sources["postmart"], environ={"POSTMART_TOKEN": "tok-123"})
        counts = ingest(campaign, store, clock=frozen_clock, env=ENV, sources={"postmart": source})
        assert counts.sources["postmart"].accepted == 8
    assert api.auth == ["Bearer tok-123"] * 3
    assert frozen_clock.timestamp() - start == pytest.approx(1.0)  # 3 requests at 2 per second


@pytest.mark.parametrize(("extra", "where"), [
    ({"url": "https://api.example/orders?access_token=SECRET-42"}, "signups.postmart.url"),
    ({"url": "https://user:SECRET-42@api.example/orders"}, "signups.postmart.url"),
    ({"params": {"status": "paid", "api_key": "SECRET-42"}}, "signups.postmart.params.api_key"),
    ({"params": {"Access-Token": "SECRET-42"}}, "signups.postmart.params.Access-Token"),
])
def test_a_credential_in_the_url_or_params_is_refused_and_not_shown(
    runtime: Runtime, tmp_path: Path, extra: dict[str, Any], where: str
) -> None:
    # Review: only top-level token/secret/password/api_key keys were refused; a token in
    # the URL's query or in params was accepted, then printed in every located error
    # ("http://…?access_token=… (page first): the answer is not JSON").
    url = extra.pop("url", "http://127.0.0.1:1/x")
    with pytest.raises(CampaignFileError) as info:
        load(runtime, tmp_path, url, **extra)
    assert where in str(info.value) and "token_param" in str(info.value)
    assert "SECRET-42" not in str(info.value)


def test_token_param_sends_the_environments_token_as_a_query_parameter(
    runtime: Runtime, tmp_path: Path, frozen_clock: FrozenClock
) -> None:
    import httpx

    seen: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.params.get("access_token"))
        assert "Authorization" not in request.headers
        return httpx.Response(200, json={"data": {"items": [], "next": None}})

    campaign = load(runtime, tmp_path, "http://127.0.0.1:9/orders", token_env="POSTMART_TOKEN",
                    token_param="access_token")
    source = attrs.evolve(campaign.signups.sources["postmart"].with_transport(httpx.MockTransport(answer)),
                          environ={"POSTMART_TOKEN": "tok-123"})
    with SqliteSignupStore(tmp_path / "s.sqlite") as store:
        ingest(campaign, store, clock=frozen_clock, env=ENV, sources={"postmart": source})
    assert seen == ["tok-123"]


@pytest.mark.parametrize(("extra", "where"), [
    ({"token": "abc"}, "signups.postmart.token"),
    ({"url": "ftp://x"}, "signups.postmart.url"),
    ({"fields": {"nope": "x"}}, "signups.postmart.fields.nope"),
    ({"pagination": "offset"}, "signups.postmart.pagination"),
    ({"max_attempts": 0}, "signups.postmart.max_attempts"),
])
def test_config_errors_are_located(runtime: Runtime, tmp_path: Path, extra: dict[str, Any], where: str) -> None:
    url = extra.pop("url", "http://127.0.0.1:1/x")
    with pytest.raises(CampaignFileError) as info:
        load(runtime, tmp_path, url, **extra)
    assert where in str(info.value)


class TestHttpPollContract(SignupSourceContract):
    contributed_class = HttpPollSource
    example_config: ClassVar[Mapping[str, Any]] = {"platform": "mbbank", "url": "http://127.0.0.1:1/signups"}
    plugin = signups_http

    @pytest.fixture(autouse=True)
    def _api(self) -> Iterator[None]:
        with running(PagedApi()) as served:
            self.api = served
            yield

    def source_with(self, tmp_path: Path, items: Sequence[Mapping[str, str]], batch_size: int) -> HttpPollSource:
        self.api.items = list(items)
        return HttpPollSource(key="under_test", platform=self.platform, url=self.api.url,
                              items="data.items", next_cursor="data.next", page_size=batch_size,
                              page_size_param="limit")


def test_the_reference_campaigns_commented_network_sources_load(runtime: Runtime, tmp_path: Path) -> None:
    reference = Path(__file__).parents[2] / "examples" / "langson_2022" / "campaign.toml"
    text = reference.read_text(encoding="utf-8")
    block = text[text.index("# [signups.postmart_api]"):]
    uncommented = "\n".join(line.removeprefix("# ").removeprefix("#") for line in block.splitlines())
    copy = reference.parent / "campaign-network-test.toml"
    copy.write_text(text + "\n" + uncommented + "\n", encoding="utf-8")
    try:
        campaign = runtime.load_campaign(copy)
    finally:
        copy.unlink()
    sources = campaign.signups.sources
    assert isinstance(sources["postmart_api"], HttpPollSource) and sources["postmart_api"].polling
    assert sources["voso_hook"].name == "webhook" and not sources["voso_hook"].polling


def _same_page(items: list[Any], nxt: str | None) -> bytes:
    return json.dumps({"data": {"items": items, "next": nxt}}).encode()


def test_a_server_ignoring_the_page_parameter_is_a_located_error_not_an_endless_poll(
    runtime: Runtime, tmp_path: Path, frozen_clock: FrozenClock, api: PagedApi
) -> None:
    # Review: in page mode a server that ignores ?page= answers the same full page
    # forever; the poller asked page 1, 2, 3 … without end, storing nothing new.
    api.raw = _same_page(contract_items(3), None)
    campaign = load(runtime, tmp_path, api.url, pagination="page", page_param="page")
    with SqliteSignupStore(tmp_path / "s.sqlite") as store:
        with pytest.raises(DataError) as info:
            ingest(campaign, store, clock=frozen_clock, env=ENV)
        text = str(info.value)
        assert "signups.postmart" in text and api.url in text and "page 2" in text
        assert "repeats page 1" in text and "'page'" in text
        assert len(api.requests) == 2
        assert store.count() == 3  # the first page is stored; the repeat is not counted again
        assert json.loads(store.position("postmart") or "") == {"cursor": 2, "skip": 0}


def test_a_server_ignoring_the_cursor_is_a_located_error_not_a_silent_last_page(
    runtime: Runtime, tmp_path: Path, frozen_clock: FrozenClock, api: PagedApi
) -> None:
    # Review: the same page answered for ?cursor=3 ended the run as if it were the last.
    api.raw = _same_page(contract_items(3), "3")
    campaign = load(runtime, tmp_path, api.url)
    with SqliteSignupStore(tmp_path / "s.sqlite") as store:
        with pytest.raises(DataError, match=r"page 3.*repeats page first.*'cursor'"):
            ingest(campaign, store, clock=frozen_clock, env=ENV)
        assert len(api.requests) == 2 and store.count() == 3


def test_pages_per_run_are_bounded_by_max_pages_and_the_next_run_continues(
    runtime: Runtime, tmp_path: Path, frozen_clock: FrozenClock, api: PagedApi
) -> None:
    assert HttpPollSource(key="k", platform="p", url="http://x").max_pages == 1000  # bounded by default
    campaign = load(runtime, tmp_path, api.url, max_pages=2)
    with SqliteSignupStore(tmp_path / "s.sqlite") as store:
        first = ingest(campaign, store, clock=frozen_clock, env=ENV).sources["postmart"]
        assert (first.read, len(api.requests)) == (6, 2)
        second = ingest(campaign, store, clock=frozen_clock, env=ENV).sources["postmart"]
        assert (second.read, second.accepted) == (2, 2)
    with pytest.raises(CampaignFileError, match=r"signups\.postmart\.max_pages"):
        load(runtime, tmp_path, api.url, max_pages=0)


def test_an_answer_larger_than_max_answer_bytes_is_refused_naming_source_and_url(
    runtime: Runtime, tmp_path: Path, frozen_clock: FrozenClock, api: PagedApi
) -> None:
    # Review: an answer of any size was read into memory.
    assert HttpPollSource(key="k", platform="p", url="http://x").max_answer_bytes == 50 * 1024 * 1024
    campaign = load(runtime, tmp_path, api.url, max_answer_bytes=4096)
    api.raw = _same_page([{"external_id": "x" * 100, "kind": "install", "occurred_at": "2022-07-01"}] * 100, None)
    with SqliteSignupStore(tmp_path / "s.sqlite") as store:
        with pytest.raises(DataError) as info:
            ingest(campaign, store, clock=frozen_clock, env=ENV)
        assert store.count() == 0
    text = str(info.value)
    assert "signups.postmart" in text and api.url in text and "4096" in text and "max_answer_bytes" in text


def test_a_chunked_answer_without_length_is_cut_at_max_answer_bytes(
    runtime: Runtime, tmp_path: Path, frozen_clock: FrozenClock
) -> None:
    import httpx

    sent: list[int] = []

    async def endless() -> Any:
        yield b'{"data": {"items": ['
        for _ in range(10_000):
            sent.append(1)
            yield b'{"external_id": "1", "kind": "install", "occurred_at": "2022-07-01"},'

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=endless())

    campaign = load(runtime, tmp_path, "http://127.0.0.1:9/orders?status=paid", max_answer_bytes=10_000)
    source = campaign.signups.sources["postmart"].with_transport(httpx.MockTransport(answer))
    with SqliteSignupStore(tmp_path / "s.sqlite") as store:
        with pytest.raises(DataError, match=r"larger than 10000 bytes"):
            ingest(campaign, store, clock=frozen_clock, env=ENV, sources={"postmart": source})
    assert len(sent) < 200  # stopped reading soon after the cap
