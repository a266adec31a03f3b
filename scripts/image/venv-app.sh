#!/bin/sh
# Usage (in the Dockerfile's builder, after venv-deps): venv-app SERVICE
# Builds the workspace packages docket_core and docket_SERVICE (copied to /src/services/) into wheels,
# offline with the pinned backend in /opt/build (SOURCE_DATE_EPOCH makes them reproducible), installs them
# into /opt/venv without dependencies, compiles their byte-code into __pycache__ (their .py stay, for
# tracebacks), and imports every module of both packages, so an image that cannot import its own code (a
# dependency removed by venv-deps, a missing pin) fails to build.
set -eu
service=$1
cd /src/services
/opt/build/bin/pip wheel -q --no-deps --no-build-isolation --no-index -w /tmp/wheels ./core "./$service"
/opt/build/bin/pip --python /opt/venv/bin/python install -q --no-deps --no-index --no-compile \
  /tmp/wheels/*.whl
rm -rf /tmp/wheels
/opt/venv/bin/python -m compileall -q -j0 --invalidation-mode unchecked-hash \
  /opt/venv/lib/python3*/site-packages/docket_*
/opt/venv/bin/python -B -c 'import importlib, pkgutil, sys, psycopg, uvloop, httptools
for package in map(importlib.import_module, sys.argv[1:]):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(module.name)' docket_core "docket_$service"
