"""Interoperability tests against the reference JavaScript implementation (shared/tools/vc-js)."""
