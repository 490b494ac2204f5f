# The Haven image: intake (gunicorn), router, webhook deliverer and `haven provision`,
# one image, the command chosen by docker-compose.yml.
#
# Base image: pinned to an exact patch release and Debian suite. It is not
# pinned by digest yet because the digest could not be resolved where this
# file was written (no registry access); whoever builds the first release
# runs `docker buildx imagetools inspect python:3.11.14-slim-bookworm` and
# appends `@sha256:<digest>` to both FROM lines, so that a re-pushed tag
# cannot change what is built.
#
# Haven runs from a virtual environment (/opt/haven), not from the image's
# system Python: so the same file builds on the official Python image and on
# a Debian image whose system Python belongs to Debian's packages
# (scripts/standin-images, for machines that reach no image registry).
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# ---- builder: every dependency as a hash-checked wheel, Haven as a wheel ----
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# A virtual environment for the build tools: pip from the Python's own
# ensurepip, whichever image the build runs on.
RUN python3 -m venv /opt/build
ENV PATH=/opt/build/bin:$PATH
# The locks (docs/operators.md, "Dependencies"): every package the image runs,
# transitive ones included, pinned with the hashes of its files.
COPY requirements/build.txt requirements/runtime.txt ./requirements/
# Binary wheels only, each checked against runtime.txt's hashes: a file on the
# index that differs from the one locked fails the build, and no package's own
# build script runs here.
RUN pip download --require-hashes --only-binary=:all: --dest /wheels -r requirements/runtime.txt
# Only what the package needs (see .dockerignore: no tests, no keys, no .git).
COPY pyproject.toml README.md ./
COPY haven ./haven
COPY intake ./intake
COPY worker ./worker
COPY schemas ./schemas
# Haven itself: built by the locked setuptools (build.txt), without build
# isolation (which would fetch the backend unchecked) and without dependencies.
RUN pip install --require-hashes -r requirements/build.txt \
    && pip wheel --no-deps --no-build-isolation --wheel-dir /wheels .

# ---- runtime: no compiler, no pip, no build tree ----------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/haven \
    PATH=/opt/haven/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# A fixed uid/gid: bind-mounted secrets and the partner credentials folder
# on the host are chowned to it (docs/operators.md).
RUN groupadd --system --gid 10001 haven \
    && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent \
        --no-create-home --shell /usr/sbin/nologin haven
# The wheels and the lock are mounted for this one step, never copied into a
# layer; pip (and setuptools, wheel) are removed afterwards, from the virtual
# environment and from the system Python where it has them: nothing in the
# running container installs anything.
# The dependencies from the wheels only (--no-index), checked against the lock
# once more; Haven without dependencies, so nothing unlocked comes in.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    --mount=type=bind,from=builder,source=/src/requirements,target=/requirements \
    python3 -m venv "$VIRTUAL_ENV" \
    && pip install --no-index --find-links=/wheels --require-hashes -r /requirements/runtime.txt \
    && pip install --no-index --no-deps /wheels/haven-*.whl \
    && pip uninstall --yes pip setuptools wheel \
    && if /usr/local/bin/python3 -m pip --version >/dev/null 2>&1; then \
        /usr/local/bin/python3 -m pip uninstall --yes pip setuptools wheel; fi \
    && install -d -o 10001 -g 10001 -m 0700 /var/lib/haven /var/lib/haven/state /var/lib/haven/partners
WORKDIR /app
COPY --chmod=0755 deploy/docker-entrypoint.sh /usr/local/bin/haven-entrypoint
USER 10001:10001
# No HEALTHCHECK here: docker-compose.yml declares one per service.
ENTRYPOINT ["/usr/local/bin/haven-entrypoint"]
CMD ["haven", "--help"]
