"""Fixtures for the kura-operator tests."""
