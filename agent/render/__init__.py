"""A flagged sequence as compact, faithful, PII-masked text for the model."""
