"""Notifications: a log line always, a JSON POST when a webhook is configured."""

from __future__ import annotations

import logging

import pytest
from fixtures.webhook_server import webhook

from hermes.notify import WEBHOOK_ENV, notify


def test_webhook_receives_the_summary(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with webhook(200) as (url, received):
        monkeypatch.setenv(WEBHOOK_ENV, url)
        with caplog.at_level(logging.INFO, logger="hermes.notify"):
            assert notify("refresh published snapshot 7", {"runs": ["bt-1"]}, success=True)
    assert received == [
        {"text": "refresh published snapshot 7", "success": True, "details": {"runs": ["bt-1"]}}
    ]
    assert [r.getMessage() for r in caplog.records] == ["refresh published snapshot 7"]


def test_failing_webhook_is_reported_without_its_url_and_does_not_raise(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with webhook(500) as (url, received):
        monkeypatch.setenv(WEBHOOK_ENV, url)
        with caplog.at_level(logging.INFO, logger="hermes.notify"):
            assert not notify("refresh FAILED", {}, success=False)
    assert len(received) == 1 and received[0]["success"] is False
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["refresh FAILED", "notification webhook failed (HTTPError, HTTP 500)"]
    assert caplog.records[0].levelno == logging.ERROR
    assert "secret-token-123" not in caplog.text


def test_no_webhook_means_log_only(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(WEBHOOK_ENV, raising=False)
    with caplog.at_level(logging.INFO, logger="hermes.notify"):
        assert not notify("nothing new", {}, success=True)
    assert [r.getMessage() for r in caplog.records] == ["nothing new"]
