"""Conformance tests: credstack against the published test vectors in ../shared/specs."""
