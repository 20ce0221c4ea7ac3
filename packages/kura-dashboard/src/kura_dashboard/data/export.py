"""``e``: the current table, as filtered, to CSV and JSON files stamped with the time."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Sequence

from kura_dashboard.data.views import Row, View


def export_stem(view: View, at: float) -> str:
    """``kura-overview-20260101T120000Z``: the view and the UTC time, safe as a file name."""
    name = view.name.replace(":", "-")
    return f"kura-{name}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(at))}"


def rows_csv(view: View, rows: Sequence[Row]) -> str:
    """One line per row, the view's columns as headers, cells as shown."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([column.header for column in view.columns])
    for row in rows:
        writer.writerow([row.cells[column.key].text for column in view.columns])
    return out.getvalue()


def rows_json(view: View, rows: Sequence[Row], at: float, filter_text: str) -> str:
    """``{view, at, filter, rows: [{column key: {text, value}}]}``: values unformatted."""
    return json.dumps(
        {
            "view": view.name,
            "at": at,
            "filter": filter_text,
            "rows": [
                {
                    column.key: {
                        "text": row.cells[column.key].text,
                        "value": row.cells[column.key].sort,
                    }
                    for column in view.columns
                }
                for row in rows
            ],
        },
        indent=2,
    )
