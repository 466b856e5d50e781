"""fraudlens detection half: events, adapters, tokenizer, LSTM detector, baselines."""

__version__ = "0.1.0"
