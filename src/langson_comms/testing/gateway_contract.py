"""Contract tests for SMS gateway plugins: inherit, implement two methods, run pytest.

Every gateway, whatever its vendor format, must hand batches over and translate what
goes wrong on the wire into the library's errors: 5xx, 429 (with ``Retry-After``),
timeouts and refused connections are ``TransientGatewayError``; 401 and 400 are
``PermanentGatewayError``; the vendor's per-message rejection is a permanent error for
that message (not one that stops the run); an unreadable answer is a ``GatewayError``,
never a raw exception.  Every request goes through the injected HTTP client
(``bind_client``).  The mixin checks all of that against a real HTTP server on
127.0.0.1 that answers as told::

    from langson_comms.testing.gateway_contract import GatewayContract

    class TestMyGateway(GatewayContract):
        contributed_class = MyGateway
        example_config = {"url": "https://sms.example.vn/send"}
        plugin = my_package.plugin_module       # optional: checks registration

        def make_gateway(self, base_url, timeout):
            return MyGateway.from_config({"url": base_url + "/send", "timeout": timeout}, ctx)

        def vendor_answer(self, body):      # the vendor's "accepted" answer to a request
            return {"code": 100, "sms_id": "X1"}

        def vendor_rejection(self, body):   # its answer refusing the messages (bad number)
            return {"code": 118, "error": "invalid number"}   # None: it has no such answer

        def vendor_fatal(self, body):       # its HTTP 200 answer refusing the account
            return {"code": 101, "error": "authorization failed"}  # None: it has none

Two checks are about faults a gateway can hide: a message the vendor's batch answer
leaves out must not come back accepted (``vendor_partial_answer``: the answer to the
first message only, derived from ``vendor_answer`` by default; gateways with
``max_batch`` 1 skip it), and a vendor's account-level code inside an HTTP 200
(``vendor_fatal``) must stop the run — ``PermanentGatewayError`` with a status in
``FATAL_STATUSES`` — never be retried as transient nor fail the rows one by one.
Both are HTTP checks: skipped with ``uses_http_client = False``.

It extends ``ContributionContract`` (a name, ``from_config`` from ``example_config``,
located errors for unknown keys, registration through ``plugin``).

A gateway that does not speak HTTP (SMPP…) sets ``uses_http_client = False`` (the
injected-client checks are then skipped) and overrides ``contract_server(mode)`` to
return its own loopback server that plays each mode in its protocol (an object with
``async start() -> base_url``, ``async stop()``, a ``requests`` list and a
``no_rejection`` flag, like ``CannedServer``); ``make_gateway`` receives that base URL.  The tests are plain
synchronous pytest tests (they run their own event loop).
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar

import attrs
import httpx
import pytest
from aiohttp import web

from ..errors import GatewayError, PermanentGatewayError, TransientGatewayError
from ..sms.gateway import FATAL_STATUSES, GatewayCapabilities, OutgoingSms, SmsGateway, SubmitResult
from .contracts import ContributionContract

__all__ = ["CannedServer", "CountingTransport", "GatewayContract", "generic_answer",
           "generic_rejection"]


def _reply(answer: Any) -> web.StreamResponse:  # a web.Response as it is (XML…), else JSON
    return answer if isinstance(answer, web.StreamResponse) else web.json_response(answer)


@attrs.define
class CannedServer:
    """A loopback HTTP server: every request gets ``mode``'s answer (``_reply``)."""

    answer: Callable[[Any], Any]
    mode: str = "ok"  # ok | reject | 503 | 429 | 401 | 400 | hang | garbage | partial | fatal
    rejection: Callable[[Any], Any] | None = None
    no_rejection: bool = False  # the vendor has no per-message refusal (rejection → None)
    #: ``partial``: the answer for part of the batch only (None: answered whole, and
    #: ``no_partial`` is set)
    partial: Callable[[Any], Any] | None = None
    no_partial: bool = False
    #: ``fatal``: the vendor's account-level refusal, in an HTTP 200 (None: answered as
    #: ``ok``, and ``no_fatal`` is set)
    fatal: Callable[[Any], Any] | None = None
    no_fatal: bool = False
    hang: float = 1.0
    requests: list[Any] = attrs.Factory(list)
    port: int = 0
    _runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        self.requests.append(body)
        if self.mode == "503":
            return web.json_response({"error": "down"}, status=503)
        if self.mode == "429":
            return web.json_response({"error": "slow down"}, status=429,
                                     headers={"Retry-After": "2"})
        if self.mode == "401":
            return web.json_response({"error": "bad credentials"}, status=401)
        if self.mode == "400":
            return web.json_response({"error": "malformed request"}, status=400)
        if self.mode == "reject" and self.rejection is not None:
            rejection = self.rejection(body)
            if rejection is None:
                self.no_rejection = True
            else:
                return _reply(rejection)
        if self.mode == "partial" and self.partial is not None:
            partial = self.partial(body)
            if partial is None:
                self.no_partial = True
            else:
                return _reply(partial)
        if self.mode == "fatal" and self.fatal is not None:
            fatal = self.fatal(body)
            if fatal is None:
                self.no_fatal = True
            else:
                return _reply(fatal)
        if self.mode == "hang":
            await asyncio.sleep(self.hang)
        if self.mode == "garbage":
            return web.Response(text="<html>gateway error</html>", content_type="text/html")
        return _reply(self.answer(body))

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class CountingTransport(httpx.AsyncBaseTransport):
    """An httpx transport that counts the requests it carries (wraps another)."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.inner = inner or httpx.AsyncHTTPTransport()
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


#: Gateway timeouts: short when the server hangs (tested), else generous (a loaded machine).
HANG_TIMEOUT, ANSWER_TIMEOUT = 0.5, 5.0


class GatewayContract(ContributionContract):
    """Mixin of contract tests; subclasses set ``contributed_class``, ``example_config``
    and two methods."""

    kind: ClassVar[str] = "sms_gateway"
    #: False for gateways that do not send through the injected httpx client (SMPP…):
    #: the checks that every request goes through it are skipped.
    uses_http_client: ClassVar[bool] = True

    def contract_server(self, mode: str) -> Any:
        """The loopback server playing ``mode`` (see ``CannedServer``); override for a
        gateway that does not speak HTTP."""
        return CannedServer(self.vendor_answer, mode=mode,
                            rejection=self.vendor_rejection if mode == "reject" else None,
                            partial=self.vendor_partial_answer if mode == "partial" else None,
                            fatal=self.vendor_fatal if mode == "fatal" else None)

    def make_gateway(self, base_url: str, timeout: float) -> SmsGateway:
        """A gateway sending to ``base_url`` (any path below it) with ``timeout`` seconds."""
        raise NotImplementedError

    def vendor_answer(self, body: Any) -> Any:
        """The JSON the vendor answers to ``body`` when it accepts every message in it."""
        raise NotImplementedError

    def vendor_rejection(self, body: Any) -> Any:
        """The JSON (HTTP 200) the vendor answers to ``body`` when it refuses every message
        in it for a reason of the message (an invalid number); ``None`` if the vendor has
        no such answer (the check is then skipped, saying so)."""
        raise NotImplementedError(
            "implement vendor_rejection(body): the vendor's answer refusing the messages "
            "(return None if it has none)")

    def vendor_fatal(self, body: Any) -> Any:
        """The JSON (HTTP 200) the vendor answers to ``body`` when it refuses the account
        (bad credentials, no balance, brandname not registered); ``None`` if the vendor
        says so only with an HTTP status (the check is then skipped, saying so)."""
        raise NotImplementedError(
            "implement vendor_fatal(body): the vendor's HTTP 200 answer refusing the "
            "account (return None if it has none)")

    def vendor_partial_answer(self, body: Any) -> Any:
        """The vendor's answer to ``body`` covering only its first message, for a batch
        request; ``None`` when it cannot be made (the check is then skipped, saying so).
        Default: ``vendor_answer`` of ``body`` with its first list of messages cut to
        the first one."""
        if isinstance(body, Mapping):
            for key, value in body.items():
                if isinstance(value, list) and len(value) >= 2:
                    return self.vendor_answer({**body, key: value[:1]})
        return None

    # -- helpers -------------------------------------------------------------------------

    def _batch(self, gateway: SmsGateway, n: int = 2) -> list[OutgoingSms]:
        n = min(n, gateway.capabilities.max_batch)
        return [OutgoingSms(ref=i + 1, msisdn=f"+8491234567{i}", text=f"Contract test {i}",
                            idempotency_key=f"contract-{i}") for i in range(n)]

    def _run(self, mode: str,
             check: Callable[[SmsGateway, CannedServer], Awaitable[None]]) -> None:
        """Run ``check`` against a server in ``mode``, with the gateway's own client
        injected; every request the server saw must have gone through that client."""
        async def main() -> None:
            server = self.contract_server(mode)
            base = await server.start()
            gateway = self.make_gateway(base, HANG_TIMEOUT if mode == "hang" else ANSWER_TIMEOUT)
            if not self.uses_http_client:
                try:
                    await check(gateway, server)
                finally:
                    await server.stop()
                return
            client = gateway.make_client()
            sent: list[httpx.Request] = []

            async def count(request: httpx.Request) -> None:
                sent.append(request)

            client.event_hooks = {**client.event_hooks,
                                  "request": [*client.event_hooks["request"], count]}
            gateway.bind_client(client)
            try:
                await check(gateway, server)
            finally:
                await client.aclose()
                await server.stop()
            assert len(sent) == len(server.requests), (
                f"the server saw {len(server.requests)} requests but {len(sent)} went through "
                "the injected client: gateways must send with the client given to "
                "bind_client, never one of their own")

        asyncio.run(main())

    # -- the contract --------------------------------------------------------------------

    def test_declares_name_from_config_and_capabilities(self) -> None:
        cls = self.contributed_class
        assert isinstance(getattr(cls, "name", None), str) and cls.name
        assert callable(getattr(cls, "from_config", None))
        assert issubclass(cls, SmsGateway)

        async def check(gateway: SmsGateway, _: CannedServer) -> None:
            assert isinstance(gateway.capabilities, GatewayCapabilities)

        self._run("ok", check)

    def test_accepts_a_batch_with_one_result_per_message(self) -> None:
        async def check(gateway: SmsGateway, server: CannedServer) -> None:
            batch = self._batch(gateway)
            results = await gateway.send(batch)
            assert [r.ref for r in results] == [s.ref for s in batch]
            assert all(isinstance(r, SubmitResult) and r.accepted for r in results), results
            assert server.requests, "the gateway sent nothing"

        self._run("ok", check)

    def test_uses_the_injected_client(self) -> None:
        """A client built by the test, not by ``make_client``, is the one that sends."""
        if not self.uses_http_client:
            pytest.skip("uses_http_client = False: this gateway does not send over HTTP")

        async def main() -> None:
            server = CannedServer(self.vendor_answer)
            base = await server.start()
            gateway = self.make_gateway(base, ANSWER_TIMEOUT)
            transport = CountingTransport()
            client = httpx.AsyncClient(transport=transport, timeout=5.0)
            gateway.bind_client(client)
            try:
                results = await gateway.send(self._batch(gateway))
            finally:
                await client.aclose()
                await server.stop()
            assert all(r.accepted for r in results), results
            assert server.requests, "the gateway sent nothing"
            assert transport.requests == len(server.requests), (
                f"{transport.requests} of the {len(server.requests)} requests went through "
                "the client given to bind_client")

        asyncio.run(main())

    def test_a_rejected_message_is_permanent_for_that_message(self) -> None:
        if type(self).vendor_rejection is GatewayContract.vendor_rejection:
            raise AssertionError("implement vendor_rejection(body): the vendor's answer "
                                 "refusing the messages (return None if it has none)")
        skipped: list[bool] = []

        async def check(gateway: SmsGateway, server: CannedServer) -> None:
            batch = self._batch(gateway)
            try:
                results = await gateway.send(batch)
            except PermanentGatewayError as exc:
                assert exc.status not in FATAL_STATUSES, (
                    f"a refused message must not stop the run (status {exc.status})")
                return
            if server.no_rejection:
                skipped.append(True)
                return
            assert [r.ref for r in results] == [s.ref for s in batch]
            for r in results:
                assert isinstance(r.error, PermanentGatewayError), (
                    f"a message the vendor refuses must fail for good, not be retried: {r}")
                assert r.error.status not in FATAL_STATUSES, r

        self._run("reject", check)
        if skipped:
            pytest.skip("vendor_rejection returned None: the vendor has no per-message refusal")

    def test_a_message_missing_from_the_answer_is_not_accepted(self) -> None:
        """A batch answer that leaves a message out does not say it was accepted: it is
        retried (a missing or transient result), never recorded as sent."""
        if not self.uses_http_client:
            pytest.skip("uses_http_client = False: no HTTP batch answer to leave a message out")
        if self.make_gateway("http://127.0.0.1:9", 0.5).capabilities.max_batch < 2:
            pytest.skip("max_batch 1: every request carries one message")
        skipped: list[bool] = []

        async def check(gateway: SmsGateway, server: CannedServer) -> None:
            batch = self._batch(gateway, 2)
            try:
                results = await gateway.send(batch)
            except GatewayError:
                return  # the whole batch is retried: nothing is taken for sent
            if server.no_partial:
                skipped.append(True)
                return
            left_out = [r for r in results if r.ref != batch[0].ref and r.accepted]
            assert not left_out, (
                f"a message left out of the answer must not be taken for accepted "
                f"(it was never sent): {left_out}")

        self._run("partial", check)
        if skipped:
            pytest.skip("vendor_partial_answer returned None: no partial answer to test")

    def test_a_fatal_code_inside_a_200_stops_the_run(self) -> None:
        if not self.uses_http_client:
            pytest.skip("uses_http_client = False: no HTTP 200 (account refusals are the "
                        "401 check)")
        if type(self).vendor_fatal is GatewayContract.vendor_fatal:
            raise AssertionError("implement vendor_fatal(body): the vendor's HTTP 200 answer "
                                 "refusing the account (return None if it has none)")
        skipped: list[bool] = []

        async def check(gateway: SmsGateway, server: CannedServer) -> None:
            try:
                results = await gateway.send(self._batch(gateway))
            except PermanentGatewayError as exc:
                assert exc.status in FATAL_STATUSES, (
                    f"a vendor's account-level code must stop the run: raise "
                    f"PermanentGatewayError with a status in {sorted(FATAL_STATUSES)}, "
                    f"got status {exc.status}")
                return
            except GatewayError as exc:
                raise AssertionError(
                    f"a vendor's account-level code inside an HTTP 200 must stop the run, "
                    f"not be retried: {exc!r}") from exc
            if server.no_fatal:
                skipped.append(True)
                return
            raise AssertionError(
                f"a vendor's account-level code inside an HTTP 200 must stop the run "
                f"(PermanentGatewayError, status in {sorted(FATAL_STATUSES)}), not be "
                f"answered per message: {results}")

        self._run("fatal", check)
        if skipped:
            pytest.skip("vendor_fatal returned None: the vendor has no such answer")

    def test_bad_request_is_permanent(self) -> None:
        async def check(gateway: SmsGateway, _: CannedServer) -> None:
            batch = self._batch(gateway)
            try:
                results = await gateway.send(batch)
            except PermanentGatewayError as exc:
                assert exc.status == 400, exc
                return
            except GatewayError as exc:
                raise AssertionError(f"a 400 answer is permanent, got {exc!r}") from exc
            assert all(isinstance(r.error, PermanentGatewayError) for r in results), (
                f"a 400 answer is permanent: {results}")

        self._run("400", check)

    def test_5xx_is_transient(self) -> None:
        async def check(gateway: SmsGateway, _: CannedServer) -> None:
            try:
                await gateway.send(self._batch(gateway))
            except TransientGatewayError:
                return
            raise AssertionError("a 503 answer must raise TransientGatewayError")

        self._run("503", check)

    def test_429_is_transient_with_retry_after(self) -> None:
        async def check(gateway: SmsGateway, _: CannedServer) -> None:
            try:
                await gateway.send(self._batch(gateway))
            except TransientGatewayError as exc:
                assert exc.retry_after == 2.0
                return
            raise AssertionError("a 429 answer must raise TransientGatewayError")

        self._run("429", check)

    def test_timeout_is_transient(self) -> None:
        async def check(gateway: SmsGateway, _: CannedServer) -> None:
            try:
                await asyncio.wait_for(gateway.send(self._batch(gateway)), 5)
            except TransientGatewayError:
                return
            raise AssertionError("an answer slower than the timeout must be transient")

        self._run("hang", check)

    def test_bad_credentials_are_permanent(self) -> None:
        async def check(gateway: SmsGateway, _: CannedServer) -> None:
            try:
                await gateway.send(self._batch(gateway))
            except PermanentGatewayError as exc:
                assert exc.status == 401
                return
            raise AssertionError("a 401 answer must raise PermanentGatewayError")

        self._run("401", check)

    def test_unreadable_answer_is_a_gateway_error(self) -> None:
        async def check(gateway: SmsGateway, _: CannedServer) -> None:
            try:
                results = await gateway.send(self._batch(gateway))
            except GatewayError:
                return
            assert all(r.error is not None for r in results), results

        self._run("garbage", check)

    def test_refused_connection_is_transient(self) -> None:
        async def main(port: int) -> None:
            gateway = self.make_gateway(f"http://127.0.0.1:{port}", ANSWER_TIMEOUT)
            client = gateway.make_client()
            gateway.bind_client(client)
            try:
                await gateway.send(self._batch(gateway))
            except TransientGatewayError:
                return
            finally:
                await client.aclose()
            raise AssertionError("a refused connection must raise TransientGatewayError")

        with socket.socket() as held:  # bound, not listening: it refuses, none can take it
            held.bind(("127.0.0.1", 0))
            asyncio.run(main(held.getsockname()[1]))


def generic_answer(body: Mapping[str, Any] | None) -> Any:
    """An example ``vendor_answer`` for the generic gateway's default wire format."""
    if isinstance(body, Mapping) and "messages" in body:
        return {"results": [{"status": "accepted", "message_id": f"C{m['ref']}", "ref": m["ref"]}
                            for m in body["messages"]]}
    ref = body.get("ref") if isinstance(body, Mapping) else None
    return {"status": "accepted", "message_id": f"C{ref}", "ref": ref}


def generic_rejection(body: Mapping[str, Any] | None) -> Any:
    """An example ``vendor_rejection`` for the generic gateway's default wire format."""
    if isinstance(body, Mapping) and "messages" in body:
        return {"results": [{"status": "rejected", "error": "invalid_number", "ref": m["ref"]}
                            for m in body["messages"]]}
    ref = body.get("ref") if isinstance(body, Mapping) else None
    return {"status": "rejected", "error": "invalid_number", "ref": ref}
