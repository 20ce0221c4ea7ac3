"""Shipping the operator: its Dockerfile and its kustomize deploy base.

No registry is reachable here, so the image itself cannot be built; what can be checked is: the
Dockerfile's shape, that its builder's ``uv sync`` (run as written, on the files the build context
would hold) installs a working operator, and that the deploy base renders to strictly valid objects
that agree with the image, the CLI and the package version.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from packaging.specifiers import SpecifierSet

from kura_core.crds import custom_resource_definitions
from kura_core.providers import DEFAULT_GATEWAY_SERVICE_ACCOUNT
from kura_operator.cli import run_command
from tests.operator.deploy_base import (
    DEPLOY,
    NAMESPACE,
    OPERATOR_ACCOUNT,
    PACKAGE,
    ROOT,
    find,
    render,
)
from tests.provider_hetzner.kube_schemas import KUBERNETES_VERSIONS, assert_valid

DOCKERFILE = PACKAGE / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
VERSION = tomllib.loads((PACKAGE / "pyproject.toml").read_text())["project"]["version"]
CLUSTER_SCOPED_KINDS = {
    "Namespace",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
}

# --- the Dockerfile, parsed ---------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    value: str


@dataclass(frozen=True)
class Stage:
    base: str
    name: str | None
    instructions: tuple[Instruction, ...]

    def all(self, keyword: str) -> list[str]:
        return [i.value for i in self.instructions if i.keyword == keyword]

    def one(self, keyword: str) -> str:
        (value,) = self.all(keyword)
        return value

    def env(self) -> dict[str, str]:
        return dict(pair for value in self.all("ENV") for pair in key_values(value))

    def labels(self) -> dict[str, str]:
        return dict(pair for value in self.all("LABEL") for pair in key_values(value))


def key_values(value: str) -> Iterator[tuple[str, str]]:
    """``K=V K2="V 2"`` (ENV and LABEL); the legacy ``ENV K V`` form is refused."""
    for token in shlex.split(value):
        key, sep, item = token.partition("=")
        assert sep, f"use the KEY=value form: {value!r}"
        yield key, item


def instructions(text: str) -> Iterator[Instruction]:
    """Logical instructions: full-line comments dropped, ``\\`` continuations joined."""
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, value = (pending + line).partition(" ")
        pending = ""
        yield Instruction(keyword.upper(), " ".join(value.split()))
    assert not pending, "the Dockerfile ends inside a continuation"


def stages(text: str) -> list[Stage]:
    found: list[Stage] = []
    current: list[Instruction] = []
    for instruction in instructions(text):
        if instruction.keyword == "FROM":
            words = instruction.value.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            assert len(words) == (3 if name else 1), instruction.value
            current = []
            found.append(Stage(words[0], name, ()))
            continue
        assert found, f"{instruction.keyword} before the first FROM"
        current.append(instruction)
        found[-1] = Stage(found[-1].base, found[-1].name, tuple(current))
    return found


def run_command_words(value: str) -> list[str]:
    """A RUN's command without its ``--mount``-style flags."""
    words = shlex.split(value)
    while words and words[0].startswith("--"):
        words.pop(0)
    return words


@pytest.fixture(scope="module")
def dockerfile() -> list[Stage]:
    return stages(DOCKERFILE.read_text())


def builder_of(dockerfile: list[Stage]) -> Stage:
    final = dockerfile[-1]
    (source,) = {
        flag.partition("=")[2]
        for value in final.all("COPY")
        for flag in shlex.split(value)
        if flag.startswith("--from=")
    }
    (builder,) = [stage for stage in dockerfile if stage.name == source]
    return builder


def uv_sync(builder: Stage) -> list[str]:
    """The builder's ``uv sync ...`` command, as words."""
    (words,) = [w for w in map(run_command_words, builder.all("RUN")) if w[:2] == ["uv", "sync"]]
    assert not {"&&", ";", "||"} & set(words), "keep uv sync a RUN of its own"
    return words


def test_dockerfile_is_multi_stage_and_the_final_stage_gets_only_the_venv(
    dockerfile: list[Stage],
) -> None:
    assert len(dockerfile) >= 2
    builder, final = builder_of(dockerfile), dockerfile[-1]
    assert builder is not final
    venv = builder.env()["UV_PROJECT_ENVIRONMENT"]
    # The venv's scripts carry absolute shebangs: it must land at the path it was built at,
    # on the same interpreter image.
    assert [shlex.split(v) for v in final.all("COPY")] == [[f"--from={builder.name}", venv, venv]]
    assert final.base == builder.base
    assert not any(i.keyword == "ADD" for stage in dockerfile for i in stage.instructions)


def test_no_floating_base_images(dockerfile: list[Stage]) -> None:
    for stage in dockerfile:
        assert stage.base.startswith("python:3.11"), stage.base
        reference, at, digest = stage.base.partition("@")
        _, sep, tag = reference.rpartition(":")
        assert sep, f"{stage.base}: give a tag"
        assert "/" not in tag, f"{stage.base}: give a tag"
        assert tag != "latest", stage.base
        # A tag moves; the digest is what is built on.
        assert at, f"{stage.base}: pin the image by its digest"
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest), stage.base


def test_final_stage_runs_the_operator_as_a_numeric_non_root_user(
    dockerfile: list[Stage],
) -> None:
    builder, final = builder_of(dockerfile), dockerfile[-1]
    user = re.fullmatch(r"(\d+):(\d+)", final.one("USER"))
    assert user is not None, "USER must be numeric uid:gid (runAsNonRoot can only check those)"
    uid, gid = int(user[1]), int(user[2])
    assert uid != 0
    assert gid != 0
    # The uid has a passwd entry: kopf's process identity asks for the user's name.
    (adduser,) = [v for v in final.all("RUN") if "useradd" in v]
    assert f"--uid {uid}" in adduser
    assert f"--gid {gid}" in adduser
    venv = builder.env()["UV_PROJECT_ENVIRONMENT"]
    assert json.loads(final.one("ENTRYPOINT")) == [f"{venv}/bin/kura-operator"]
    assert final.all("CMD") == []
    env = final.env()
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["PYTHONUNBUFFERED"] == "1"
    assert final.one("EXPOSE").split() == ["8080", "8081"]


def test_oci_labels_and_pinned_uv(dockerfile: list[Stage]) -> None:
    labels = dockerfile[-1].labels()
    assert labels["org.opencontainers.image.title"] == "kura-operator"
    assert labels["org.opencontainers.image.version"] == VERSION
    assert (
        labels["org.opencontainers.image.licenses"]
        == tomllib.loads((PACKAGE / "pyproject.toml").read_text())["project"]["license"]
    )
    assert labels["org.opencontainers.image.description"]
    # uv comes only from the hashed requirements file, never from a bare `pip install uv`.
    installs = [v for v in builder_of(dockerfile).all("RUN") if "pip install" in v]
    assert installs == [
        "pip install --no-cache-dir --require-hashes --only-binary=:all: "
        "-r /tmp/uv-requirements.txt"
    ]
    assert "packages/kura-operator/uv-requirements.txt /tmp/uv-requirements.txt" in (
        builder_of(dockerfile).all("COPY")
    )
    requirements = (PACKAGE / "uv-requirements.txt").read_text()
    (pin,) = re.findall(r"^uv==(\S+)", requirements, re.MULTILINE)
    assert re.fullmatch(r"\d+\.\d+\.\d+", pin), f"pin an exact uv version, not {pin!r}"
    # One wheel per image platform (amd64, arm64), each with its sha256.
    assert len(re.findall(r"--hash=sha256:[0-9a-f]{64}\b", requirements)) == 2
    # That uv builds the workspace packages itself when their uv_build range admits it.
    for pyproject in sorted(ROOT.glob("packages/*/pyproject.toml")):
        (requirement,) = tomllib.loads(pyproject.read_text())["build-system"]["requires"]
        name, _, spec = requirement.partition(">")
        assert name == "uv_build"
        assert pin in SpecifierSet(">" + spec), (pyproject, requirement)


# --- the build context --------------------------------------------------------------------------


def _pattern(pattern: str) -> re.Pattern[str]:
    """One .dockerignore pattern (Go's filepath.Match plus ``**``) as a regex."""
    assert not set(pattern) & set("[]\\"), f"character classes are not supported: {pattern}"
    regex, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            regex, i = regex + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            regex, i = regex + ".*", i + 2
        elif pattern[i] == "*":
            regex, i = regex + "[^/]*", i + 1
        elif pattern[i] == "?":
            regex, i = regex + "[^/]", i + 1
        else:
            regex, i = regex + re.escape(pattern[i]), i + 1
    return re.compile(regex + r"\Z")


def ignore_rules(text: str) -> list[tuple[bool, str, re.Pattern[str]]]:
    """(exception?, pattern, regex) per line, in order: the last matching rule decides."""
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = str(PurePosixPath(line.removeprefix("!").lstrip("/")))
        rules.append((negated, pattern, _pattern(pattern)))
    return rules


def ignored(path: str, rules: list[tuple[bool, str, re.Pattern[str]]]) -> bool:
    """Docker's rule: a pattern matches a path or any of its parents; the last match wins."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    verdict = False
    for negated, _, regex in rules:
        if any(regex.match(prefix) for prefix in prefixes):
            verdict = not negated
    return verdict


def context_files() -> list[str]:
    """The files ``docker build .`` sends from the repository root, as relative paths."""
    rules = ignore_rules(DOCKERIGNORE.read_text())
    exceptions = [pattern for negated, pattern, _ in rules if negated]
    files: list[str] = []
    for directory, dirnames, filenames in os.walk(ROOT):
        base = Path(directory).relative_to(ROOT).as_posix()
        prefix = "" if base == "." else f"{base}/"
        # An ignored directory is only entered when an exception could re-include something.
        dirnames[:] = [
            d
            for d in dirnames
            if not ignored(prefix + d, rules)
            or any(p.startswith(f"{prefix}{d}/") for p in exceptions)
        ]
        files.extend(prefix + name for name in filenames if not ignored(prefix + name, rules))
    return sorted(files)


def stage_copies(builder: Stage, workdir: Path) -> None:
    """Play the builder's COPY instructions from the build context into ``workdir``."""
    files = context_files()
    for value in builder.all("COPY"):
        *sources, dest = shlex.split(value)
        assert not any(s.startswith("--") for s in sources), value
        target = workdir / dest
        for source in sources:
            chosen = [f for f in files if f == source or f.startswith(f"{source}/")]
            assert chosen, f"COPY {source}: nothing in the build context"
            for name in chosen:
                relative = Path(name).relative_to(source) if name != source else Path(source)
                destination = target / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, destination)


def test_build_context_holds_the_workspace_sources_and_nothing_local() -> None:
    files = context_files()
    assert {"pyproject.toml", "uv.lock"} <= set(files)
    members = {p.relative_to(ROOT).as_posix() for p in ROOT.glob("packages/*/pyproject.toml")}
    assert members <= set(files)
    assert "packages/kura-operator/src/kura_operator/cli.py" in files
    assert "packages/kura-operator/README.md" in files  # the package's metadata reads it
    for name in files:
        top = name.split("/")[0]
        assert top in {"pyproject.toml", "uv.lock", "packages"}, name
        assert "__pycache__" not in name, name
        assert not name.endswith(".pyc"), name
        assert "/deploy/" not in name, name


def test_dockerignore_matching_follows_docker() -> None:
    rules = ignore_rules("**\n!packages\npackages/*/deploy\n**/__pycache__\n")
    assert ignored(".venv/bin/python", rules)
    assert not ignored("packages/a/src/m.py", rules)
    assert ignored("packages/a/deploy/crds/x.yaml", rules)
    assert ignored("packages/a/src/__pycache__/m.pyc", rules)
    assert not ignored("packages/a/src/deploy.py", rules)


def test_builder_uv_sync_installs_a_working_operator(
    dockerfile: list[Stage], tmp_path: Path
) -> None:
    """The builder's uv sync, word for word, on a copy of what its COPYs bring in.

    Slow-ish: it installs the operator's whole dependency tree, but from the local uv cache
    (which ``uv sync`` of the workspace has filled), so it takes about a second when warm.
    """
    builder = builder_of(dockerfile)
    command = uv_sync(builder)
    uv = os.environ.get("UV") or shutil.which("uv")
    assert uv, "uv is needed to run the Dockerfile's uv sync"
    workdir = tmp_path / "src"
    stage_copies(builder, workdir)
    venv = tmp_path / "app" / ".venv"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "UV_RUN_RECURSION_DEPTH"}
    }
    env.update(builder.env())
    # Bytecode compilation changes what runs fastest, not what is installed; it costs ~10 s.
    env.pop("UV_COMPILE_BYTECODE", None)
    env["UV_PROJECT_ENVIRONMENT"] = str(venv)
    synced = subprocess.run(
        [uv, *command[1:]], cwd=workdir, env=env, capture_output=True, text=True, timeout=600
    )
    assert synced.returncode == 0, synced.stderr

    help_text = subprocess.run(
        [str(venv / "bin" / "kura-operator"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert help_text.startswith("Usage: kura-operator")
    assert "--leader-elect" in help_text
    plugins = json.loads(
        subprocess.run(
            [str(venv / "bin" / "kura"), "plugins", "-o", "json"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
            env={"PATH": os.environ.get("PATH", "")},
        ).stdout
    )
    loaded = {p["name"]: p["distribution"] for p in plugins["plugins"]}
    assert loaded["hetzner"] == "kura-provider-hetzner"
    assert loaded["gateway-api"] == "kura-provider-gateway-api"
    assert loaded["operator"] == "kura-operator"
    # Real installs (the image has no /src), and no dev tools.
    probe = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import importlib.util as u, kura_operator, kura_provider_hetzner as h;"
            "print(kura_operator.__file__); print(h.__file__);"
            "print(u.find_spec('pytest') is None and u.find_spec('mypy') is None)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    assert all(Path(p).is_relative_to(venv) for p in probe[:2]), probe
    assert probe[2] == "True"


# --- the deploy base ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    return render()


def test_kustomize_renders_exactly_the_expected_objects(rendered: list[dict[str, Any]]) -> None:
    crds = {crd["metadata"]["name"] for crd in custom_resource_definitions()}
    names = {OPERATOR_ACCOUNT, DEFAULT_GATEWAY_SERVICE_ACCOUNT}
    expected = {
        ("Namespace", NAMESPACE),
        ("Deployment", OPERATOR_ACCOUNT),
        *(("CustomResourceDefinition", name) for name in crds),
        *(
            (kind, name)
            for kind in (
                "ServiceAccount",
                "Role",
                "RoleBinding",
                "ClusterRole",
                "ClusterRoleBinding",
            )
            for name in names
        ),
    }
    found = [(o["kind"], o["metadata"]["name"]) for o in rendered]
    assert len(found) == len(set(found))
    assert set(found) == expected
    for obj in rendered:
        namespace = obj["metadata"].get("namespace")
        if obj["kind"] in CLUSTER_SCOPED_KINDS:
            assert namespace is None, obj["kind"]
        else:
            assert namespace == NAMESPACE, obj["kind"]


def test_every_rendered_object_validates_strictly(rendered: list[dict[str, Any]]) -> None:
    assert KUBERNETES_VERSIONS == ("1.31", "1.32", "1.33")
    for obj in rendered:
        assert_valid(obj)


def test_the_kura_crds_are_the_generated_ones(rendered: list[dict[str, Any]]) -> None:
    generated = {crd["metadata"]["name"]: crd for crd in custom_resource_definitions()}
    for name, crd in generated.items():
        deployed = find(rendered, "CustomResourceDefinition", name)
        labels = deployed["metadata"].pop("labels")
        assert labels == {"app.kubernetes.io/part-of": "kura"}  # kustomize's only change
        assert deployed == crd, f"{name} is stale: run kura crds --write {DEPLOY / 'crds'}"


def operator_container(rendered: list[dict[str, Any]]) -> dict[str, Any]:
    pod = find(rendered, "Deployment", OPERATOR_ACCOUNT)["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    return dict(container)


def test_deployment_runs_the_released_image_with_leader_election(
    rendered: list[dict[str, Any]],
) -> None:
    deployment = find(rendered, "Deployment", OPERATOR_ACCOUNT)
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    container = operator_container(rendered)
    assert container["image"] == f"ghcr.io/tuist/kura-operator:{VERSION}"
    assert "command" not in container  # the image's ENTRYPOINT is the operator
    # The args are what kura-operator itself accepts, with leader election on the Lease the
    # operator's Role lets it renew.
    params = run_command.make_context("kura-operator", list(container["args"])).params
    assert params["namespace"] == NAMESPACE
    assert params["leader_elect"] is True
    assert params["all_namespaces"] is False
    role = find(rendered, "Role", OPERATOR_ACCOUNT)
    (renew,) = [r for r in role["rules"] if "update" in r["verbs"] and r["resources"] == ["leases"]]
    assert renew["resourceNames"] == [params["leader_election_id"]]
    assert params["gateway_service_account"] == DEFAULT_GATEWAY_SERVICE_ACCOUNT
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"metrics": params["metrics_port"], "health": params["health_port"]}
    assert ports == {"metrics": 8080, "health": 8081}
    assert (container["livenessProbe"]["httpGet"], container["readinessProbe"]["httpGet"]) == (
        {"path": "/healthz", "port": "health"},
        {"path": "/readyz", "port": "health"},
    )
    assert container["resources"] == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"memory": "256Mi"},
    }
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(ports["metrics"])


def test_deployment_security_context_matches_the_image(
    rendered: list[dict[str, Any]], dockerfile: list[Stage]
) -> None:
    pod = find(rendered, "Deployment", OPERATOR_ACCOUNT)["spec"]["template"]["spec"]
    container = operator_container(rendered)
    uid, gid = (int(n) for n in dockerfile[-1].one("USER").split(":"))
    identity = {"runAsNonRoot": True, "runAsUser": uid, "runAsGroup": gid}
    runtime_default = {"seccompProfile": {"type": "RuntimeDefault"}}
    assert pod["securityContext"] == {**identity, **runtime_default}
    assert container["securityContext"] == {
        **identity,
        **runtime_default,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    }
    assert pod["serviceAccountName"] == OPERATOR_ACCOUNT
    assert pod["automountServiceAccountToken"] is True
    assert "hostNetwork" not in pod
    assert "hostPID" not in pod
    # The only writable mount is a small scratch /tmp.
    (mount,) = container["volumeMounts"]
    (volume,) = pod["volumes"]
    assert (mount["mountPath"], mount["name"], volume["name"]) == ("/tmp", "tmp", "tmp")
    assert set(volume) == {"name", "emptyDir"}
