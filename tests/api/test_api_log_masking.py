"""Logs through the service's logging config never carry emails, ips, cards or keys."""

from __future__ import annotations

import io
import logging
import logging.config

from agent.api.log_masking import MaskingFilter, mask_log_text, masked_log_config


def test_mask_log_text_hides_pii_and_keys() -> None:
    line = (
        '203.0.113.77:5123 - "POST /v1/alerts" Authorization: Bearer sk-secret-123 '
        "from alice@example.com paying 4111 1111 1111 4411"
    )
    masked = mask_log_text(line)
    for secret in ("203.0.113.77", "sk-secret-123", "alice@", "4111 1111"):
        assert secret not in masked
    assert "203.0.113.0/24" in masked and "*@example.com" in masked and "****4411" in masked
    assert mask_log_text("Uvicorn running on http://127.0.0.1:8080") == (
        "Uvicorn running on http://127.0.0.1:8080"
    )


def test_filter_masks_arguments_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskingFilter())
    logger = logging.getLogger("fraudlens-masking-test")
    logger.addHandler(handler)
    try:
        logger.warning("client %s sent %s", "198.51.100.9", "bob@example.org")
        try:
            raise ValueError("bad card 4111111111114411")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "198.51.100.9" not in text and "bob@" not in text
    assert "4111111111114411" not in text and "****4411" in text


def test_uvicorn_access_lines_are_masked_and_still_formatted() -> None:
    config = masked_log_config()
    assert all(handler["filters"] == ["mask"] for handler in config["handlers"].values())
    logging.config.dictConfig(config)
    logger = logging.getLogger("uvicorn.access")
    stream = io.StringIO()
    [handler] = logger.handlers
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    logger.info('%s - "%s %s HTTP/%s" %d', "198.51.100.9:4242", "GET", "/healthz", "1.1", 200)
    assert '198.51.100.0/24:4242 - "GET /healthz HTTP/1.1" 200 OK' in stream.getvalue()
