"""Masking for the service's logs: no email, ip, card number or API key leaves the process."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from uvicorn.config import LOGGING_CONFIG

from agent.render.masking import mask_text

_IPV4 = re.compile(r"\b(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.\d{1,3}\b")
_BEARER = re.compile(r"(bearer\s+)\S+", re.IGNORECASE)


def _mask_ipv4(match: re.Match[str]) -> str:
    if match.group(1) == "127" or match.group(0) == "0.0.0.0":
        return match.group(0)  # loopback and "any" are nobody's address
    return f"{match.group(1)}.{match.group(2)}.{match.group(3)}.0/24"


def mask_log_text(text: str) -> str:
    """Emails to their domain, card-like numbers to the last 4, IPv4 to the /24, keys hidden."""
    return _IPV4.sub(_mask_ipv4, _BEARER.sub(r"\1***", mask_text(text)))


def _mask_arg(value: Any) -> Any:
    return mask_log_text(value) if isinstance(value, str) else value


class MaskingFilter(logging.Filter):
    """Rewrites each record's message (and traceback) in masked form before any handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Arguments stay separate: uvicorn's access formatter unpacks them.
        if isinstance(record.msg, str):
            record.msg = mask_log_text(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_mask_arg(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _mask_arg(value) for key, value in record.args.items()}
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
