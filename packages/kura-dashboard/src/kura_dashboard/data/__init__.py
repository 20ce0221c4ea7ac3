"""The dashboard's data layer: sources, history, thresholds, events and views, with no Textual.

Everything here is plain Python over kura_core, so it is unit-tested without a terminal and shared
by the TUI and the one-frame ``--once`` rendering. Sources do I/O; nothing else here does, and
nothing here reads a clock: the time comes in as an argument.
"""
