"""Screening event sets larger than memory: local streaming by hash partition, and Ray Data."""
