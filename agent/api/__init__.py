"""The HTTP service: screening, alert verdicts, case chat and feedback, over one service."""
