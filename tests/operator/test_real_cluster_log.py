"""The real cluster's request log: the API server's audit log, read from where it was cleared."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

from kura_testing.client import KubeClient
from tests.operator.real_cluster import RealKube

OPERATOR = "system:serviceaccount:t:kura-operator"


def _entry(name: str, user: str = OPERATOR) -> str:
    entry: dict[str, Any] = {
        "verb": "get",
        "requestURI": f"/api/v1/namespaces/t/configmaps/{name}",
        "user": {"username": user},
        "objectRef": {"resource": "configmaps", "namespace": "t", "name": name},
        "responseStatus": {"code": 200},
    }
    return json.dumps(entry) + "\n"


def test_a_log_cleared_mid_line_starts_at_the_next_whole_line(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    before, during = _entry("before"), _entry("during")
    # Cleared while the API server had written half of the line of "during".
    log.write_text(before + during[: len(during) // 2], encoding="utf-8")
    kube = RealKube(cast(KubeClient, None), "t", log, OPERATOR)
    with log.open("a", encoding="utf-8") as more:
        more.write(during[len(during) // 2 :] + _entry("after") + _entry("other", "someone"))
    assert [record.name for record in kube.requests] == ["after"]
    # A clear at a line's end keeps the next line whole.
    kube.clear_requests()
    with log.open("a", encoding="utf-8") as more:
        more.write(_entry("last"))
    assert [record.name for record in kube.requests] == ["last"]
