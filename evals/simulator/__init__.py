"""Fraud-typology simulator: labelled cases built on real normal behaviour (FORMATS.md §2, §3)."""
