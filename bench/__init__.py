"""Benchmarks: scenarios driven in-process (handler called directly) and over the local HTTP API."""
