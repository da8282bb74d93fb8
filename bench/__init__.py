"""Benchmarks run by ``make bench``: our figures beside the reference's, from the same run."""
