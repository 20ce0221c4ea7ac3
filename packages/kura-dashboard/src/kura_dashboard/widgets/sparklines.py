"""Labelled sparklines, one per line: ``req/s       ▁▂▃▅▇█▇▅  1.2k``."""

from __future__ import annotations

from collections.abc import Sequence

from textual.widgets import Static

from kura_dashboard.data.views import Spark


class SparkPanel(Static):
    def show(self, sparks: Sequence[Spark]) -> None:
        width = max((len(spark.label) for spark in sparks), default=0)
        self.update(
            "\n".join(f"{spark.label:<{width}} {spark.line} {spark.latest}" for spark in sparks)
        )
