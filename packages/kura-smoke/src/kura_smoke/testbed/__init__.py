"""A local stand-in for a Kura region: control plane, Kura nodes and the real nginx as gateway.

``TestBed`` (in :mod:`kura_smoke.testbed.bed`) starts them; ``kura smoke testbed`` runs one.
"""
