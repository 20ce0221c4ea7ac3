"""Fixtures for the kura-smoke tests."""
