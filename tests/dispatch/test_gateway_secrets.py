"""``langson_comms.sms.read_secret``: a gateway's credential from the environment or an
owner-only file, with located errors that never repeat the value; and a secret read from
a ``*_file`` key is scrubbed like one read from a ``*_env`` key."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Self

import attrs
import pytest
from aiohttp import web

from langson_comms import hookimpl
from langson_comms.api import load_campaign, send_sms, sms_status, sms_target
from langson_comms.config import ConfigContext
from langson_comms.errors import CampaignFileError, ConfigError
from langson_comms.runtime import Runtime
from langson_comms.sms import GenericHttpGateway, load_secret, read_secret
from langson_comms.sms.secrets import MAX_SECRET_FILE_BYTES, secret_file_value
from langson_comms.testing.secrets import assert_no_secret_leaks, debug_logs

from .helpers import serve

SECRET = "Fi1e-T0ken-7c6b5a"
posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def _ctx(base: Path) -> ConfigContext:
    return ConfigContext("campaign.toml", base, "channels.sms.gateways.carrier")


def _secret_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_the_secret_comes_from_the_environment_stripped(tmp_path: Path) -> None:
    got = read_secret(_ctx(tmp_path), "password", env_name="LC_PW", file_name=None,
                      what="the test password", environ={"LC_PW": f" {SECRET}\r\n"})
    assert got == SECRET
    with pytest.raises(CampaignFileError) as info:
        read_secret(_ctx(tmp_path), "password", env_name="LC_PW", file_name=None,
                    what="the test password", environ={})
    assert str(info.value) == ("campaign.toml: channels.sms.gateways.carrier.password_env: "
                               "environment variable LC_PW is not set (the test password)")
    for bad, problem in [("", "is empty"), (f"{SECRET}\x00x", "control character")]:
        with pytest.raises(CampaignFileError, match=rf"password_env: .*LC_PW .*{problem}") as info:
            read_secret(_ctx(tmp_path), "password", env_name="LC_PW", file_name=None,
                        what="the test password", environ={"LC_PW": bad})
        assert SECRET not in str(info.value)


@posix_only
def test_the_secret_comes_from_an_owner_only_file_relative_to_the_campaign(tmp_path: Path) -> None:
    _secret_file(tmp_path / "secrets" / "pw.txt", SECRET + "\n")
    got = read_secret(_ctx(tmp_path), "api_pass", env_name=None, file_name="secrets/pw.txt",
                      what="the API password")
    assert got == SECRET
    assert secret_file_value("secrets/pw.txt", tmp_path) == SECRET


@posix_only
@pytest.mark.parametrize(("text", "mode", "problem"), [
    (SECRET, 0o640, r"is readable by others \(expected chmod 600\)"),
    (SECRET, 0o604, r"is readable by others"),
    ("\n\n", 0o600, "is empty"),
    (f"{SECRET}\n{SECRET}", 0o600, r"holds a control character \(U\+000A\)"),
    ("x" * (MAX_SECRET_FILE_BYTES + 1), 0o600, "is larger than"),
])
def test_a_file_that_is_no_secret_file_is_a_located_error(tmp_path: Path, text: str, mode: int,
                                                          problem: str) -> None:
    _secret_file(tmp_path / "pw.txt", text, mode)
    with pytest.raises(CampaignFileError,
                       match=rf"carrier\.api_pass_file: the secret file .*pw\.txt \(the API "
                             rf"password\) {problem}") as info:
        read_secret(_ctx(tmp_path), "api_pass", env_name=None, file_name="pw.txt",
                    what="the API password")
    assert SECRET not in str(info.value)
    assert secret_file_value("pw.txt", tmp_path) is None  # a scrubber is not built from it


def test_a_missing_file_says_which_and_why(tmp_path: Path) -> None:
    with pytest.raises(CampaignFileError, match=r"carrier\.api_pass_file: cannot read the secret "
                                                r"file .*absent\.txt \(the API password\): "
                                                r"No such file"):
        read_secret(_ctx(tmp_path), "api_pass", env_name=None, file_name="absent.txt",
                    what="the API password")
    with pytest.raises(ConfigError, match="expected an environment variable or a file"):
        load_secret(env_name=None, what="the API password")


# -- a secret read from a file is scrubbed like one from the environment -------------------

CAMPAIGN = """\
[campaign]
id = "filetoken"
title = "Secrets from files"
start = 2022-06-10
end = 2022-12-31

[messages.invite]
text = "Tai ung dung Cong dan so Xu Lang"
classification = "public_notice"
classified_by = "So TT&TT"

[channels.sms]
kind = "sms"
mode = "direct"
message = "invite"
ledger = "work/ledger.sqlite"

[channels.sms.gateways.carrier]
kind = "token_file_http"
url = "{url}"
token_file = "../secrets/token.txt"
timeout = 2.0
"""


class TokenFileGateway(GenericHttpGateway):
    """generic_http whose Authorization value comes from ``token_file`` (``read_secret``),
    as a third-party gateway reads its credential; it does not scrub anything itself."""

    name = "token_file_http"

    @classmethod
    def check_config(cls, config: Mapping[str, Any], context: ConfigContext) -> None:
        cls.parse_config({k: v for k, v in config.items() if k != "token_file"}, context)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: ConfigContext) -> Self:
        table = dict(config)
        token_file = table.pop("token_file")
        parsed = cls.parse_config(table, context)
        token = read_secret(context, "token", env_name=None, file_name=token_file,
                            what="the carrier token")
        return cls(context.key.rsplit(".", 1)[-1], attrs.evolve(parsed, auth_value=token))


class _Plugin:
    @hookimpl
    def register_sms_gateways(self) -> list[type[Any]]:
        return [TokenFileGateway]


async def _echoing_carrier(request: web.Request) -> web.StreamResponse:
    """A carrier that refuses every message, quoting the credential it was sent."""
    return web.Response(status=400, text=f"invalid key {request.headers.get('Authorization')}")


@posix_only
def test_a_secret_read_from_a_file_is_scrubbed_from_reasons_logs_and_status(
        tmp_path: Path, runtime: Runtime, register_plugin: Callable[..., str]) -> None:
    register_plugin(_Plugin(), "token-file-gateway")
    _secret_file(tmp_path / "secrets" / "token.txt", SECRET + "\n")
    folder = tmp_path / "campaign"
    folder.mkdir()
    lines = ["msisdn,carrier_hint,source_file,source_line",
             *(f"+8491{i:07d},viettel,list.csv,{i + 2}" for i in range(3))]
    (folder / "prepared.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    events: list[str] = []

    async def send() -> Any:
        runner, url = await serve(_echoing_carrier)
        try:
            (folder / "campaign.toml").write_text(CAMPAIGN.format(url=url + "/send"),
                                                  encoding="utf-8")
            target = sms_target(load_campaign(folder / "campaign.toml", runtime=runtime))
            summary = await send_sms(target, runtime=runtime, audience=[folder / "prepared.csv"],
                                     on_event=lambda e: events.append(repr(e)), environ={})
            return target, summary
        finally:
            await runner.cleanup()

    with debug_logs() as logs:
        target, summary = asyncio.run(asyncio.wait_for(send(), 60))
    assert summary.counts["failed"] == 3
    db = sqlite3.connect(folder / "work" / "ledger.sqlite")
    reasons = [r for (r,) in db.execute("SELECT reason FROM sms WHERE reason IS NOT NULL")]
    db.close()
    assert len(reasons) == 3 and all("invalid key <redacted>" in r for r in reasons), reasons
    status = json.dumps(sms_status(target).as_dict(), default=str)
    assert_no_secret_leaks(SECRET, "\n".join([logs.text, *events, repr(summary), status]),
                           [folder])
