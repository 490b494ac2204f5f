"""The dependency locks in requirements/ agree with what they are made from.

Every install (make, CI, the image) takes Python packages only from these
locks, checked against their hashes (docs/operators.md, "Dependencies"). A
dependency added to pyproject.toml but not locked would be missing from an
installed Haven, or installed at a version nobody tested; a locked package
that nothing needs is code installed and trusted for no reason. `make lock`
regenerates the locks; these tests say when it is due.

What each requirement needs is read from the packages installed in the
running .venv (installed from the dev lock), with their markers evaluated
here; a locked package whose marker excludes this machine (colorama on
Windows) must still be named by a requirement of something locked.
"""

from __future__ import annotations

import os
import re
import runpy
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import pytest
import yaml
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy import builtin_schema
from tests.repo import REPO as ROOT

REQUIREMENTS = ROOT / "requirements"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
HASH = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class Pin:
    version: str
    marker: Marker | None
    hashes: tuple[str, ...]


def read_lock(text: str) -> dict[str, Pin]:
    """Pins by canonical name, from a requirements file as `uv pip compile` writes it."""
    pins: dict[str, Pin] = {}
    for line in text.replace("\\\n", " ").splitlines():
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        # An index or find-links line would send installs to a host the lock
        # does not name; the locks carry pins and hashes only.
        assert not words[0].startswith("-"), f"option line in a lock: {line.strip()}"
        hashes = tuple(w.removeprefix("--hash=") for w in words if w.startswith("--hash="))
        requirement = Requirement(" ".join(w for w in words if not w.startswith("--hash=")))
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", line
        pins[canonicalize_name(requirement.name)] = Pin(
            specifier.version, requirement.marker, hashes
        )
    return pins


def pyproject_roots(pyproject: dict[str, Any], lock: str) -> list[Requirement]:
    """What each lock is made from, as `make lock` makes it."""
    if lock == "tools.txt":
        lines = (REQUIREMENTS / "tools.in").read_text(encoding="utf-8").splitlines()
        texts = [line.split("#", 1)[0].strip() for line in lines]
    elif lock == "build.txt":
        texts = pyproject["build-system"]["requires"]
    else:
        texts = list(pyproject["project"]["dependencies"])
        if lock == "dev.txt":
            texts += pyproject["project"]["optional-dependencies"]["dev"]
    return [Requirement(text) for text in texts if text]


def applies(requirement: Requirement, extras: frozenset[str]) -> bool:
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({"extra": extra}) for extra in extras or {""})


def direct_problems(roots: list[Requirement], pins: dict[str, Pin], lock: str) -> list[str]:
    problems = []
    for requirement in roots:
        pin = pins.get(canonicalize_name(requirement.name))
        if pin is None:
            problems.append(f"{requirement} is not in requirements/{lock}: run make lock")
        elif not requirement.specifier.contains(pin.version, prereleases=True):
            problems.append(
                f"{requirement} but requirements/{lock} pins {pin.version}: run make lock"
            )
    return problems


def closure_problems(roots: list[Requirement], pins: dict[str, Pin], lock: str) -> list[str]:
    """Every package the roots need is locked (at the installed version), and nothing else."""
    problems = []
    needed: set[str] = set()
    named: set[str] = {canonicalize_name(r.name) for r in roots}
    queue = [(r, frozenset(r.extras)) for r in roots if applies(r, frozenset())]
    while queue:
        requirement, extras = queue.pop()
        name = canonicalize_name(requirement.name)
        key = f"{name}[{','.join(sorted(extras))}]"
        if key in needed:
            continue
        needed.add(key)
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            problems.append(f"{name} is needed but not installed: run make lock, then make venv")
            continue
        pin = pins.get(name)
        if pin is None:
            problems.append(f"{name} is needed but not in requirements/{lock}: run make lock")
        elif pin.version != distribution.version:
            problems.append(
                f"{name} {distribution.version} is installed, requirements/{lock} pins {pin.version}"
            )
        for text in distribution.requires or []:
            dependency = Requirement(text)
            named.add(canonicalize_name(dependency.name))
            if applies(dependency, extras):
                queue.append((dependency, frozenset(dependency.extras)))
    needed_names = {key.split("[", 1)[0] for key in needed}
    for locked, pin in sorted(pins.items()):
        if locked in needed_names:
            continue
        # Locked for another platform (its marker is false here): fine if
        # something locked asks for it there.
        elsewhere = pin.marker is not None and not pin.marker.evaluate()
        if not (elsewhere and locked in named):
            problems.append(
                f"{locked} is in requirements/{lock} but nothing needs it: run make lock"
            )
    return problems


LOCKS = ("runtime.txt", "dev.txt", "build.txt", "tools.txt")


@pytest.fixture(scope="module")
def locks() -> dict[str, dict[str, Pin]]:
    return {name: read_lock((REQUIREMENTS / name).read_text(encoding="utf-8")) for name in LOCKS}


@pytest.mark.parametrize("lock", LOCKS)
def test_every_direct_requirement_is_locked_at_its_version(
    lock: str, locks: dict[str, dict[str, Pin]]
) -> None:
    assert direct_problems(pyproject_roots(PYPROJECT, lock), locks[lock], lock) == []


@pytest.mark.parametrize("lock", LOCKS)
def test_each_lock_holds_what_its_requirements_need_and_nothing_else(
    lock: str, locks: dict[str, dict[str, Pin]]
) -> None:
    assert closure_problems(pyproject_roots(PYPROJECT, lock), locks[lock], lock) == []


@pytest.mark.parametrize("lock", LOCKS)
def test_every_pin_carries_sha256_hashes(lock: str, locks: dict[str, dict[str, Pin]]) -> None:
    assert locks[lock]
    for name, pin in locks[lock].items():
        assert pin.hashes, name
        assert all(HASH.match(digest) for digest in pin.hashes), name


def test_a_package_in_several_locks_has_one_version(locks: dict[str, dict[str, Pin]]) -> None:
    # The image ships runtime.txt; the tests run on dev.txt: one version each,
    # so what is tested is what ships. pip and setuptools likewise.
    versions: dict[str, set[str]] = {}
    for pins in locks.values():
        for name, pin in pins.items():
            versions.setdefault(name, set()).add(pin.version)
    assert {name: v for name, v in versions.items() if len(v) > 1} == {}


def test_the_runtime_lock_is_part_of_the_dev_lock(locks: dict[str, dict[str, Pin]]) -> None:
    assert set(locks["runtime.txt"]) <= set(locks["dev.txt"])


def test_the_checks_catch_a_lock_that_disagrees_with_pyproject(
    locks: dict[str, dict[str, Pin]],
) -> None:
    # A dependency added to pyproject.toml (as a merge brings them) without
    # `make lock`, one changed without it, and one left behind in the lock.
    dependencies = ["flask==0.1", "gunicorn==27.0.1", "not-a-haven-dependency==1.0"]
    roots = pyproject_roots({"project": {"dependencies": dependencies}}, "runtime.txt")
    problems = direct_problems(roots, locks["runtime.txt"], "runtime.txt")
    assert problems == [
        "flask==0.1 but requirements/runtime.txt pins 3.1.3: run make lock",
        "not-a-haven-dependency==1.0 is not in requirements/runtime.txt: run make lock",
    ]
    problems = closure_problems(roots, locks["runtime.txt"], "runtime.txt")
    assert (
        "not-a-haven-dependency is needed but not installed: run make lock, then make venv"
        in problems
    )
    assert "pika is in requirements/runtime.txt but nothing needs it: run make lock" in problems


def test_a_lock_line_without_a_pin_or_with_an_index_is_refused() -> None:
    with pytest.raises(AssertionError):
        read_lock("flask>=3\n")
    with pytest.raises(AssertionError):
        read_lock("--extra-index-url https://example.invalid/simple\nflask==3.1.3\n")


# Installs take only locked, hashed packages.


def test_make_installs_python_packages_only_from_the_locks_with_hashes() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    variables = dict(re.findall(r"^(\w+)\s*:=\s*(.*)$", makefile, re.MULTILINE))
    installs = []
    for line in makefile.splitlines():
        if not line.startswith("\t"):
            continue
        expanded = re.sub(r"\$\((\w+)\)", lambda m: variables.get(m.group(1), m.group(0)), line)
        if re.search(r"\bpip install\b", expanded):
            installs.append(expanded.strip())
    assert installs
    for install in installs:
        if "--require-hashes" in install:
            assert re.search(r"-r requirements/\w+\.txt$", install), install
        else:
            # Haven itself, from this tree, nothing fetched for it.
            assert install.endswith("--no-deps --no-build-isolation -e ."), install


def test_ci_installs_through_make() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install" not in ci
    assert "exec make test" in ci


WORKFLOW = ROOT / ".github" / "workflows" / "audit.yml"


def test_the_audit_workflow_is_valid_runs_make_audit_on_every_push_and_pins_actions() -> None:
    result = builtin_schema.check("vendor.github-workflows", WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert "push" in workflow[True]  # YAML 1.1 reads the key `on` as True
    assert workflow["permissions"] == {"contents": "read"}
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    assert [step["run"] for step in steps if "run" in step] == ["make audit"]
    for step in steps:
        if "uses" in step:
            # A tag can be moved; a full commit cannot.
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]


# make audit: never a silent pass


@pytest.fixture(scope="module")
def audit() -> dict[str, Any]:
    return runpy.run_path(str(ROOT / "scripts" / "audit"), run_name="audit")


def summarise(audit: dict[str, Any], pika: dict[str, Any]) -> Any:
    """What scripts/audit makes of a pip-audit report on flask (clean) and pika."""
    outcome = audit["Outcome"]()
    flask = {"name": "flask", "version": "3.1.3", "vulns": []}
    audit["summarise_python"]([flask, {"name": "pika", **pika}], outcome)
    return outcome


def test_a_package_the_vulnerability_service_skipped_is_not_audited(
    audit: dict[str, Any],
) -> None:
    # As pip-audit reports a package its service did not answer for (and
    # still exits 0): this must not read as clean.
    skipped = "Dependency not found on PyPI and could not be audited: pika (1.4.4)"
    outcome = summarise(audit, {"skip_reason": skipped})
    assert outcome.unchecked == ["Python: none for 1 of 2 packages"]
    assert outcome.checked == []


def test_a_vulnerability_is_a_finding_and_a_clean_report_is_checked(
    audit: dict[str, Any],
) -> None:
    vulnerability = {"id": "PYSEC-0000-0", "fix_versions": ["1.4.5"]}
    outcome = summarise(audit, {"version": "1.4.4", "vulns": [vulnerability]})
    assert outcome.findings == ["python pika 1.4.4: PYSEC-0000-0 (fixed in 1.4.5)"]
    assert outcome.unchecked == []
    assert outcome.checked == ["2 Python packages"]


def test_make_audit_says_in_one_line_that_it_could_not_audit_and_exits_2() -> None:
    # Both data sources made unreachable on purpose, whatever this machine
    # reaches: a closed port on loopback as the HTTPS proxy (pip-audit) and
    # as the npm registry.
    closed = "http://127.0.0.1:9"
    environment = {
        **os.environ,
        "HTTPS_PROXY": closed,
        "https_proxy": closed,
        "NO_PROXY": "",
        "no_proxy": "",
        "npm_config_registry": closed + "/",
        "npm_config_fetch_retries": "0",
    }
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "audit")],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr == ""
    (line,) = result.stdout.splitlines()
    assert line.startswith("audit: could not audit: no vulnerability data ("), line
    assert "Python: the vulnerability service did not answer" in line
    assert "npm: " in line
