"""The deployment files (``Dockerfile``, ``deploy/``) are valid for the tools that run them and agree with arb.

The tools' own checks run where the tools are installed: ``systemd-analyze verify`` on the unit, the
compose tool's ``config`` on the compose files, ``hadolint`` on the Dockerfile, ``promtool check config``
on Prometheus's file; each test is skipped, saying why, where its tool is absent, unless an
``ARB_REQUIRE_...`` variable asks for it (``.ci/run`` installs them all and sets those). The image itself
is built by ``.ci/run`` where a container engine runs. The rest needs no tool: the stop timeouts, the
exit codes a restart cannot fix, the volumes and the container's configuration match arb's own.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from arb.config import load_config
from arb.errors import EXIT_NEEDS_OPERATOR
from tests.support.captures import ROOT

UNIT = ROOT / "deploy" / "systemd" / "arb-live.service"
COMPOSE = ROOT / "deploy" / "compose.yaml"
COMPOSE_LIVE = ROOT / "deploy" / "compose.live.yaml"
DOCKERFILE = ROOT / "Dockerfile"
PROMETHEUS = ROOT / "deploy" / "prometheus" / "prometheus.yml"
SHIPPED = ROOT / "config" / "arbitrage.toml"
STATE_IN_IMAGE = Path("/srv/arb")  # the image's WORKDIR: the configuration is its config/


def _tool(name: str, variable: str) -> str:
    """The tool's path; the test is skipped without it, or fails when ``variable`` requires it."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get(variable):
            pytest.fail(f"{name} is required here ({variable} is set) but is not installed")
        pytest.skip(f"{name} is not installed (.ci/run installs it; {variable}=1 makes this a failure)")
    return path


def _run(*command: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def _unit() -> dict[str, list[str]]:
    # key -> every value it is given (a unit may repeat a key), comments and sections ignored
    values: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def _seconds(text: str) -> float:
    match = re.fullmatch(r"(\d+)(s|min)?", text)
    assert match, f"a duration in seconds or minutes, got {text!r}"
    return float(match.group(1)) * (60 if match.group(2) == "min" else 1)


# -- the unit ---------------------------------------------------------------------------------------


def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    tool = _tool("systemd-analyze", "ARB_REQUIRE_SYSTEMD_ANALYZE")
    # verify checks that ExecStart's program exists: the unit as shipped, with this environment's arb there
    arb = Path(sys.executable).parent / "arb"
    assert arb.exists(), "arb is installed in the environment running the tests"
    text = UNIT.read_text()
    assert "ExecStart=/opt/arb/venv/bin/arb " in text
    copy = tmp_path / UNIT.name
    copy.write_text(text.replace("ExecStart=/opt/arb/venv/bin/arb ", f"ExecStart={arb} "))
    done = _run(tool, "verify", str(copy))
    said = (done.stdout + done.stderr).strip()
    assert done.returncode == 0 and not said, said  # a warning (an unknown key, a typo) fails it too


def test_the_unit_stops_cleanly_within_arbs_bound_and_never_restarts_what_a_restart_cannot_fix() -> None:
    unit = _unit()
    live = load_config(SHIPPED).live
    stop_s = _seconds(unit["TimeoutStopSec"][0])
    assert stop_s >= live.stop_timeout_ns / 1e9 + 10  # arb's own bound first, then systemd's SIGKILL
    assert unit["KillSignal"] == ["SIGTERM"] and unit["KillMode"] == ["mixed"]
    assert unit["Restart"] == ["on-failure"] and _seconds(unit["RestartSec"][0]) >= 5
    # a bad configuration and a reconciliation that needs a person (codes for other such failures may join)
    assert {"2", str(EXIT_NEEDS_OPERATOR)} <= set(unit["RestartPreventExitStatus"][0].split())
    assert not {"0", "1"} & set(unit["RestartPreventExitStatus"][0].split())
    assert int(unit["StartLimitBurst"][0]) >= 1 and _seconds(unit["StartLimitIntervalSec"][0]) > 0
    assert unit["ExecStart"][0].split()[1] == "live"
    assert (
        unit["WorkingDirectory"] == [str(STATE_IN_IMAGE)]
        and "--config /srv/arb/config/arbitrage.toml" in (unit["ExecStart"][0])
    )
    assert "time-sync.target" in unit["After"][0]  # signed requests fail on a skewed clock


# -- the compose files ------------------------------------------------------------------------------


def _compose() -> list[str]:
    docker = shutil.which("docker")
    if docker is not None and _run(docker, "compose", "version").returncode == 0:
        return [docker, "compose"]
    return [_tool("docker-compose", "ARB_REQUIRE_COMPOSE")]


@pytest.mark.parametrize("files", [[COMPOSE], [COMPOSE, COMPOSE_LIVE]], ids=["dry-run", "live"])
def test_the_compose_tool_validates_the_compose_files(files: list[Path]) -> None:
    command = _compose()
    done = _run(*command, *(a for f in files for a in ("-f", str(f))), "config", "-q")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_compose_file_stops_as_the_unit_does_and_provisions_the_shipped_monitoring() -> None:
    text = COMPOSE.read_text()
    unit = _unit()
    grace = re.search(r"^\s+stop_grace_period: (\S+)$", text, re.MULTILINE)
    assert grace is not None and _seconds(grace.group(1)) == _seconds(unit["TimeoutStopSec"][0])
    assert re.search(r"^\s+stop_signal: SIGTERM$", text, re.MULTILINE)
    assert re.search(r"^\s+restart: on-failure:\d+$", text, re.MULTILINE)
    for mount in (
        "../config/monitoring/prometheus-alerts.yml:/etc/prometheus/arb/prometheus-alerts.yml:ro",
        "../config/monitoring/grafana-provisioning.yml:/etc/grafana/provisioning/dashboards/arb.yml:ro",
        "../config/monitoring:/etc/arb/monitoring:ro",
    ):
        assert mount in text, mount
    provisioning = (ROOT / "config" / "monitoring" / "grafana-provisioning.yml").read_text()
    assert "path: /etc/arb/monitoring" in provisioning
    assert "/etc/prometheus/arb/prometheus-alerts.yml" in PROMETHEUS.read_text()
    assert re.search(r'targets: \["arb:8321"\]', PROMETHEUS.read_text())
    assert load_config(SHIPPED).ops.port == 8321
    for port in ("8321", "9090", "3000"):  # published on the host's loopback only
        assert f'"127.0.0.1:{port}:{port}"' in text


def test_the_compose_files_arb_log_is_bounded() -> None:
    # Docker's json-file log has no bound of its own: a process that runs for weeks would fill the disk
    arb = COMPOSE.read_text().split("\n  prometheus:")[0]
    assert re.search(r"^    logging:\n      driver: json-file\n      options:\n        max-size: \d+m\n"
                     r'        max-file: "\d+"$', arb, re.MULTILINE)  # fmt: skip


def test_promtool_checks_the_prometheus_configuration(tmp_path: Path) -> None:
    tool = _tool("promtool", "ARB_REQUIRE_PROMTOOL")
    copy = tmp_path / "prometheus.yml"  # the rules at their place in the repository, not in the container
    rules = ROOT / "config" / "monitoring" / "prometheus-alerts.yml"
    copy.write_text(PROMETHEUS.read_text().replace("/etc/prometheus/arb/prometheus-alerts.yml", str(rules)))
    done = _run(tool, "check", "config", str(copy))
    assert done.returncode == 0, done.stdout + done.stderr


# -- the Dockerfile ---------------------------------------------------------------------------------


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    tool = _tool("hadolint", "ARB_REQUIRE_HADOLINT")
    done = _run(tool, "--no-color", str(DOCKERFILE))
    assert done.returncode == 0, done.stdout + done.stderr


def _instructions() -> list[tuple[str, str]]:
    # (INSTRUCTION, arguments) with continuation lines joined and comments dropped: the Dockerfile's grammar
    out: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        word, _, rest = pending.strip().partition(" ")
        out.append((word.upper(), " ".join(rest.split())))
        pending = ""
    assert not pending, "a continuation line ends the file"
    return out


def test_the_image_is_multi_stage_non_root_and_stops_and_checks_health_through_arb() -> None:
    steps = _instructions()
    froms = [args for word, args in steps if word == "FROM"]
    assert len(froms) == 2 and froms[0].endswith(" AS build") and froms[1].endswith(" AS runtime")
    assert "slim" in next(args for word, args in steps if word == "ARG" and args.startswith("PYTHON_IMAGE="))
    runtime = steps[[i for i, (w, _) in enumerate(steps) if w == "FROM"][1] :]
    user = next(args for word, args in runtime if word == "USER")
    assert user == "${ARB_UID}:${ARB_UID}" and "ARB_UID=10001" in [a for w, a in runtime if w == "ARG"]
    assert ("ENTRYPOINT", '["tini", "--", "arb"]') in runtime  # SIGTERM reaches arb, not a shell
    assert ("CMD", '["dry-run", "--live-data"]') in runtime
    health = next(args for word, args in runtime if word == "HEALTHCHECK")
    assert health.endswith('CMD ["arb", "status", "--liveness", "--timeout", "5s"]')
    env = " ".join(args for word, args in runtime if word == "ENV")
    assert "NUMBA_CACHE_DIR=/opt/arb/numba-cache" in env
    warm = next(args for word, args in runtime if word == "RUN" and "arb -q backtest" in args)
    assert "arb -q dry-run --speed max" in warm and "chown -R arb:arb /opt/arb/numba-cache" in warm
    assert ("WORKDIR", str(STATE_IN_IMAGE)) in runtime


def test_the_images_volumes_are_where_the_shipped_configuration_keeps_its_state(tmp_path: Path) -> None:
    steps = _instructions()
    volumes = re.findall(r'"([^"]+)"', next(args for word, args in steps if word == "VOLUME"))
    config = load_config(SHIPPED)
    here = SHIPPED.parent.parent.resolve()

    def in_image(path: Path) -> str:
        return str(STATE_IN_IMAGE / path.resolve().relative_to(here))

    kept = {in_image(config.live.state_dir), in_image(config.dry_run.state_dir), in_image(config.backtest.out),
            in_image(config.backtest.recordings)}  # fmt: skip
    assert set(volumes) == kept == {"/srv/arb/live", "/srv/arb/paper", "/srv/arb/results", "/srv/arb/recordings"}


def test_the_images_configuration_is_the_shipped_one_listening_on_every_address(tmp_path: Path) -> None:
    # the build's sed, applied here to the shipped file: it must match (the build greps for it) and
    # change nothing but [ops] host
    run = next(args for word, args in _instructions() if word == "RUN" and "sed -i" in args)
    script = re.search(r"sed -i '(s\|[^']+)'", run)
    assert script is not None
    _, pattern, replacement, _ = script.group(1).split("|")
    folder = tmp_path / "config"
    shutil.copytree(SHIPPED.parent, folder)
    text = (folder / "arbitrage.toml").read_text()
    changed, n = re.subn(pattern.replace("^", "(?m)^", 1), replacement, text)
    assert n == 1
    (folder / "arbitrage.toml").write_text(changed)
    image, shipped = load_config(folder / "arbitrage.toml"), load_config(SHIPPED)
    assert image.ops.host == "0.0.0.0"
    assert image.to_dict()["ops"] | {"host": shipped.ops.host} == shipped.to_dict()["ops"]


def test_the_build_context_holds_only_what_the_image_needs() -> None:
    lines = [ln for ln in (ROOT / ".dockerignore").read_text().splitlines() if ln and not ln.startswith("#")]
    assert lines[0] == "**"  # everything out, then what COPY takes back in
    kept = {ln[1:].rstrip("/") for ln in lines if ln.startswith("!")}
    copies = [args.split()[:-1] for word, args in _instructions() if word == "COPY" and "--from" not in args]
    copied = {source.rstrip("/") for sources in copies for source in sources}
    assert copied == kept, copied ^ kept
    assert not any(name in kept for name in (".venv", "live", "paper", "results", "deploy", ".git"))
