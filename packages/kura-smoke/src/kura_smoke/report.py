"""What a smoke run found: one result per mode and step, and the failure that stopped a step.

These models are the stable machine output of ``kura smoke run`` (``-o json`` events, ``-o yaml``,
``--junit``). They never hold a token: the token lives in a :class:`~kura_smoke.secret.Secret`
and every text that reaches a report goes through the run's redactor first.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Mode(StrEnum):
    """Which gateway a smoke account is expected to land on."""

    REGIONAL = "regional"
    DEDICATED = "dedicated"


class Step(StrEnum):
    """The steps of one mode, in the order they run."""

    PLATFORM = "platform"
    PROVISION = "provision"
    WAIT_GATEWAY = "wait-gateway"
    WAIT_INSTANCE = "wait-instance"
    WAIT_INGRESS = "wait-ingress"
    DNS = "dns"
    READY = "ready"
    CAS_ROUNDTRIP = "cas-roundtrip"
    GRADLE_ROUNDTRIP = "gradle-roundtrip"
    AUTH_NO_TOKEN = "auth-no-token"
    AUTH_BOGUS_TOKEN = "auth-bogus-token"
    CLEANUP = "cleanup"


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


class StepFailure(Exception):
    """A step found something wrong: what it expected, what came back, and the likely cause."""

    def __init__(self, summary: str, *, expected: str, got: str, cause: str) -> None:
        self.summary = summary
        self.expected = expected
        self.got = got
        self.cause = cause
        super().__init__(summary)


class StepResult(BaseModel):
    """One step of one mode. ``expected``, ``got`` and ``cause`` are set when it failed."""

    model_config = ConfigDict(frozen=True)

    mode: Mode
    step: Step
    status: Status
    seconds: float = Field(ge=0)
    host: str
    pinned_address: str | None = None
    message: str
    expected: str | None = None
    got: str | None = None
    cause: str | None = None


class ModeReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    mode: Mode
    account: str
    host: str
    pinned_address: str | None
    steps: tuple[StepResult, ...]

    @property
    def passed(self) -> bool:
        return all(step.status is not Status.FAILED for step in self.steps)


class SmokeReport(BaseModel):
    """The whole run. ``passed`` is true only when no step of any mode failed."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    modes: tuple[ModeReport, ...]
    passed: bool

    @classmethod
    def of(cls, run_id: str, modes: tuple[ModeReport, ...]) -> SmokeReport:
        return cls(run_id=run_id, modes=modes, passed=all(mode.passed for mode in modes))

    def failures(self) -> list[StepResult]:
        return [step for mode in self.modes for step in mode.steps if step.status is Status.FAILED]


def step_event(result: StepResult) -> dict[str, object]:
    """The ``-o json`` line of one step: ``event`` is the step's name."""
    return {"event": result.step.value, **result.model_dump(mode="json", exclude={"step"})}


def summary_event(report: SmokeReport) -> dict[str, object]:
    """The last ``-o json`` line of a run."""
    return {
        "event": "summary",
        "run_id": report.run_id,
        "passed": report.passed,
        "modes": {mode.mode.value: mode.passed for mode in report.modes},
        "failed_steps": [f"{step.mode.value}/{step.step.value}" for step in report.failures()],
    }
