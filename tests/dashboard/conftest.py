"""Fixtures for the kura-dashboard tests."""
