"""The dashboard's screens: overview, region drill-down, assignments, event log, help."""
