"""Benchmarks (`make bench`): throughput, latency and memory of every stage. Not tests."""
