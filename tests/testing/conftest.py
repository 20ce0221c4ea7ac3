"""Tests of kura-testing: the control-plane build, the control plane itself and its fixtures.

The fixtures under test come from the package's own pytest plugin (``kube_control_plane``,
``kube_admin``, ``kube_namespace``), loaded through its ``pytest11`` entry point as any
provider's test suite would load them.
"""
