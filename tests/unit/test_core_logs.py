"""Credential redaction in log output, tracebacks included."""

from __future__ import annotations

import io
import logging

import pytest

from framewire.core.logs import RedactingFormatter, setup_logging

pytestmark = pytest.mark.unit


def logged_exception(formatter: logging.Formatter, error: Exception) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    log = logging.getLogger("test.redaction")
    log.addHandler(handler)
    log.propagate = False
    try:
        try:
            raise error
        except Exception:
            log.exception("opening %s failed", "the source")
    finally:
        log.removeHandler(handler)
    return stream.getvalue()


def test_a_secret_in_an_exception_message_is_redacted_in_the_traceback() -> None:
    # given a formatter that knows the token, and an exception quoting it
    formatter = RedactingFormatter("%(message)s", ["s3cr3t-token"])
    # when the exception is logged with its traceback
    out = logged_exception(formatter, RuntimeError("broker refused token s3cr3t-token"))
    # then the traceback is there but the token is not
    assert "Traceback (most recent call last)" in out
    assert "RuntimeError: broker refused token ***" in out
    assert "s3cr3t-token" not in out


def test_uri_user_info_in_an_exception_message_is_redacted() -> None:
    # given no known secrets, and an exception quoting a URI with a password
    formatter = RedactingFormatter("%(message)s", [])
    # when it is logged
    out = logged_exception(formatter, OSError("cannot open rtsp://admin:hunter22@cam-1:554/live"))
    # then the user info is gone, the rest of the URI stays
    assert "hunter22" not in out and "admin" not in out
    assert "rtsp://***@cam-1:554/live" in out


def test_secrets_in_the_message_and_in_stack_info_are_redacted() -> None:
    # given a formatter that knows a password
    formatter = RedactingFormatter("%(message)s", ["pa55word"])
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "login with %s", ("pa55word",),
                               None, sinfo="Stack (most recent call last):\n  pa55word frame")
    # when the record is formatted
    out = formatter.format(record)
    # then neither the message nor the stack carries it
    assert out.count("***") == 2 and "pa55word" not in out


def test_setup_logging_redacts_secrets_from_the_environment_in_tracebacks(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # given a secret in an FW_ variable and the root logger set up by a service
    monkeypatch.setenv("FW_DASHBOARD_TOKEN", "env-token-123")
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        setup_logging("INFO")
        formatter = root.handlers[0].formatter
        assert formatter is not None
        # when an exception quoting it is logged through that handler's formatter
        out = logged_exception(formatter, ValueError("bad token env-token-123"))
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    # then the value does not appear
    assert "env-token-123" not in out and "ValueError: bad token ***" in out
