"""Fixtures for the kura-provider-hetzner tests."""
