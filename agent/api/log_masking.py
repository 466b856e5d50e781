"""Masking for the service's logs: no email, ip, card number or API key leaves the process."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from uvicorn.config import LOGGING_CONFIG

from agent.masking import mask_text

_IPV4 = re.compile(r"\b(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.\d{1,3}\b")
_BEARER = re.compile(r"(bearer\s+)\S+", re.IGNORECASE)


def mask_log_text(text: str) -> str:
    """Emails to their domain, card-like numbers to the last 4, IPv4 to the /24, keys hidden."""
    text = _BEARER.sub(r"\1***", mask_text(text))
    return _IPV4.sub(r"\1.\2.\3.0/24", text)


class MaskingFilter(logging.Filter):
    """Rewrites each record's message (and traceback) in masked form before any handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_log_text(record.getMessage())
        record.args = None
        if record.exc_info:
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = mask_log_text(formatted)
            record.exc_info = None
        return True


def masked_log_config(level: str = "info") -> dict[str, Any]:
    """uvicorn's logging config with MaskingFilter on every handler, and the app's loggers."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"mask": {"()": MaskingFilter}}
    for handler in config["handlers"].values():
        handler["filters"] = ["mask"]
    config["loggers"]["agent"] = {"handlers": ["default"], "level": level.upper()}
    config["loggers"]["detectors"] = {"handlers": ["default"], "level": level.upper()}
    return config
