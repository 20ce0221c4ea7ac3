"""The dashboard's widgets: header, paused banner, fleet table, saturation bar, sparklines."""
