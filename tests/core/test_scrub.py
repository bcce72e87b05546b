"""The scrubber built from configured secrets, and its log filter (issue 13, item 10)."""

from __future__ import annotations

import logging

import pytest

from langson_comms.scrub import Scrubber, clean_secret, scrubbing_logs

KEY = "api/key+of=the province"


def test_scrubber_replaces_values_and_their_url_encoded_form() -> None:
    scrub = Scrubber.of([KEY, None, "", "abc"])  # empty and very short values left out
    text = f"bad key {KEY} (sent as key=api%2Fkey%2Bof%3Dthe%20province); abc stays"
    assert scrub(text) == "bad key <redacted> (sent as key=<redacted>); abc stays"
    assert not Scrubber.of([None, ""]) and Scrubber.of([KEY])


def test_clean_secret_strips_line_ends_and_refuses_control_characters() -> None:
    assert clean_secret(f" {KEY}\r\n") == KEY
    with pytest.raises(ValueError, match="is empty"):
        clean_secret("\r\n")
    with pytest.raises(ValueError, match="control character") as info:
        clean_secret("abc\x00def")
    assert "abc" not in str(info.value)


def test_log_records_are_scrubbed_while_inside_and_left_alone_after(
        caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("langson_comms.test_scrub")
    with caplog.at_level(logging.INFO), scrubbing_logs(Scrubber.of([KEY])):
        log.warning("gateway said %s", f"invalid key {KEY}")
        try:
            raise RuntimeError(f"refused {KEY}")
        except RuntimeError:
            log.exception("send failed")
    assert KEY not in caplog.text, caplog.text
    assert "gateway said invalid key <redacted>" in caplog.text
    assert "RuntimeError: refused <redacted>" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO):
        log.warning("after: %s", KEY)
    assert KEY in caplog.text  # the filter is gone
