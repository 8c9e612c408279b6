"""Benchmarks of the pull, push and forwarding paths against a real server process. See README.md."""
