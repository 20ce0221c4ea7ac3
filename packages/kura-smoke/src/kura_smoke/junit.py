"""A smoke report as JUnit XML: one test suite per mode, one test case per step.

Pure. Failed steps carry a ``<failure>`` whose message is the summary and whose text holds
expected, got and the likely cause; skipped steps a ``<skipped>`` with the reason.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from kura_smoke.report import SmokeReport, Status


def junit_xml(report: SmokeReport) -> str:
    suites = ET.Element("testsuites", name="kura smoke", id=report.run_id)
    total = failures = skipped = 0
    seconds = 0.0
    for mode in report.modes:
        suite = ET.SubElement(suites, "testsuite", name=f"kura-smoke.{mode.mode.value}")
        props = ET.SubElement(suite, "properties")
        for name, value in (
            ("account", mode.account),
            ("host", mode.host),
            ("pinned_address", mode.pinned_address or ""),
        ):
            ET.SubElement(props, "property", name=name, value=value)
        suite_failures = suite_skipped = 0
        suite_seconds = 0.0
        for step in mode.steps:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"kura-smoke.{mode.mode.value}",
                name=step.step.value,
                time=f"{step.seconds:.3f}",
            )
            if step.status is Status.FAILED:
                suite_failures += 1
                failure = ET.SubElement(case, "failure", message=step.message, type="SmokeFailure")
                failure.text = (
                    f"expected: {step.expected}\ngot: {step.got}\nlikely cause: {step.cause}"
                )
            elif step.status is Status.SKIPPED:
                suite_skipped += 1
                ET.SubElement(case, "skipped", message=step.message)
            else:
                out = ET.SubElement(case, "system-out")
                out.text = step.message
            suite_seconds += step.seconds
        suite.set("tests", str(len(mode.steps)))
        suite.set("failures", str(suite_failures))
        suite.set("errors", "0")
        suite.set("skipped", str(suite_skipped))
        suite.set("time", f"{suite_seconds:.3f}")
        total += len(mode.steps)
        failures += suite_failures
        skipped += suite_skipped
        seconds += suite_seconds
    suites.set("tests", str(total))
    suites.set("failures", str(failures))
    suites.set("errors", "0")
    suites.set("skipped", str(skipped))
    suites.set("time", f"{seconds:.3f}")
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )
