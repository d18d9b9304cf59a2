# syntax=docker/dockerfile:1
# arb in a container (docs/deployment.md): a virtual environment holding arb, every Numba kernel compiled
# while the image is built (the first run loads them, it does not compile), run as the unprivileged user
# arb under tini (SIGTERM reaches arb at once: its clean stop). From the repository's root:
#
#   docker build -t arb .
#   docker run --rm arb --help
#   docker run --rm arb backtest                 # the sample recording that ships in the image
#
# State lives on volumes: /srv/arb/live (the journal: back it up), /srv/arb/paper, /srv/arb/results,
# /srv/arb/recordings. The configuration is /srv/arb/config (the repository's, with [ops] host = "0.0.0.0"
# so that Prometheus and a published port reach it; mount your own folder there read-only). Keys come from
# the environment or from files, BINANCE_API_KEY_FILE=/run/secrets/binance_api_key and so on: never from
# the image. deploy/compose.yaml runs it beside Prometheus and Grafana.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# -- build: arb and its dependencies (all of them wheels) in a virtual environment ----------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY arb ./arb
COPY connectors ./connectors
RUN python -m venv /opt/arb/venv \
    && /opt/arb/venv/bin/pip install --no-compile . \
    && /opt/arb/venv/bin/arb --version

# -- runtime: the environment, the configuration, the sample recording, the compiled kernels -----------
FROM ${PYTHON_IMAGE} AS runtime
ARG ARB_UID=10001
# Numba's cache lives in the image, written at build time and owned by arb (a cache it cannot write to is
# not read either); matplotlib (the reports' charts) keeps its cache in /tmp
ENV PATH=/opt/arb/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    NUMBA_CACHE_DIR=/opt/arb/numba-cache \
    MPLCONFIGDIR=/tmp/matplotlib

# tini from the base image's Debian release, at its current security update (a pinned version would
# break the build as soon as Debian supersedes it)
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid "${ARB_UID}" arb \
    && useradd --system --uid "${ARB_UID}" --gid arb --home-dir /srv/arb --no-create-home \
       --shell /usr/sbin/nologin arb

COPY --from=build /opt/arb/venv /opt/arb/venv
WORKDIR /srv/arb
COPY config ./config
COPY recordings ./recordings

# Compile every kernel once, here: a backtest of the sample and a dry run replaying it through the live
# path (the book, the normalizers, the engine, the kernel, the risk gate: what arb live runs). arb's own
# check of Numba's cache (arb/_numba_cache.py) stamps it with the sources it was built from, so every
# start of this image keeps it. A CPU unlike the build machine's compiles once more at its first start.
RUN mkdir -p /tmp/warm \
    && arb -q backtest --out /tmp/warm/backtest \
    && arb -q dry-run --speed max --duration 3m --state-dir /tmp/warm/paper --out /tmp/warm/dry-run \
    && rm -rf /tmp/warm /tmp/matplotlib \
    && find recordings -name '*.npz' -delete \
    && sed -i 's|^host = "127.0.0.1" .*$|host = "0.0.0.0"                # the container: reachable by Prometheus and a published port|' \
       config/arbitrage.toml \
    && grep -q '^host = "0.0.0.0" ' config/arbitrage.toml \
    && mkdir -p live paper results \
    && chown -R arb:arb /opt/arb/numba-cache live paper results recordings

VOLUME ["/srv/arb/live", "/srv/arb/paper", "/srv/arb/results", "/srv/arb/recordings"]
EXPOSE 8321
# numeric, so that an orchestrator's "run as non-root" check can tell
USER ${ARB_UID}:${ARB_UID}

# alive: the trading loop publishes (GET /healthz); the compile of a foreign CPU and a reconciliation fit
# in the start period
HEALTHCHECK --interval=30s --timeout=10s --start-period=180s --retries=3 \
    CMD ["arb", "status", "--liveness", "--timeout", "5s"]

ENTRYPOINT ["tini", "--", "arb"]
CMD ["dry-run", "--live-data"]
