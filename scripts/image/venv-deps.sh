#!/bin/sh
# Usage (in the Dockerfile's builder, with the optional `ca` secret mounted at /run/secrets/ca):
#   venv-deps SERVICE [pip install options]
# Installs requirements/SERVICE.txt (copied to /src/requirements/) into /opt/venv: hashed pins, wheels only
# (so no compiler is ever needed; an option such as --no-binary=odfpy names an exception), into a venv
# without pip. Then, to keep the image small (the three images' own layers over the base went from
# 71.9/84.5/71.0 MB to 37.1/46.0/36.4 MB for api/worker/web when this was written):
# 1. Removed, because only litestar's CLI and test helpers need them and no Docket module imports them
#    (the services' CLIs are argparse; the API's OpenAPIConfig sets create_examples=False, litestar's
#    one run-time path into polyfactory; venv-app, the next builder step, imports every docket module
#    without them):
#      faker, polyfactory            litestar -> polyfactory: example data (create_examples) and tests
#      rich, rich-click              litestar's CLI; its console script bin/litestar goes with them
#      pygments, markdown-it-py, mdurl   rich's dependencies
#      colorama                      rich-click's dependency, for Windows consoles
#    httpx imports its own CLI (click, rich, pygments) only when all of them are installed, and works
#    the same without it (its `httpx` command then only says that the CLI's extras are missing).
#    `pip check` would list litestar's removed requirements: expected.
# 2. Debug symbols stripped from the extension modules.
# 3. Third-party Python shipped as byte-code only: a legacy .pyc next to each module (compileall -b,
#    unchecked-hash, so the build is reproducible), and the .py deleted. Their frames in tracebacks and
#    Sentry keep file, function and line number but show no source text; Docket's own packages (venv-app)
#    keep their source. Kept as source, with byte-code in __pycache__: anyio/__init__.py and
#    anyio/abc/__init__.py, which anyio reads with inspect.getsource at import to set up its lazy
#    imports. Left as source only, never imported at run time: pycryptodome's self-tests (worker).
set -eu
service=$1
shift
# the CA bundle of a TLS-intercepting proxy, when the build was given one; never written to a layer
if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca SSL_CERT_FILE=/run/secrets/ca; fi
python3 -m venv --without-pip /opt/venv
/opt/build/bin/pip --python /opt/venv/bin/python install -q --no-compile --require-hashes \
  --only-binary=:all: "$@" -r "/src/requirements/$service.txt"
/opt/build/bin/pip --python /opt/venv/bin/python uninstall -q -y \
  faker polyfactory rich rich-click pygments markdown-it-py mdurl colorama
rm /opt/venv/bin/litestar
find /opt/venv -name '*.so' -not -path '*.libs/*' -exec strip --strip-unneeded {} +
site=$(echo /opt/venv/lib/python3*/site-packages)
/opt/venv/bin/python -m compileall -q -j0 -b --invalidation-mode unchecked-hash \
  -x '/Crypto/SelfTest/' "$site"
rm "$site/anyio/__init__.pyc" "$site/anyio/abc/__init__.pyc"
/opt/venv/bin/python -c 'import pathlib, sys; [pyc.with_suffix(".py").unlink(missing_ok=True)
  for pyc in pathlib.Path(sys.argv[1]).rglob("*.pyc") if pyc.parent.name != "__pycache__"]' "$site"
/opt/venv/bin/python -m compileall -q --invalidation-mode unchecked-hash \
  "$site/anyio/__init__.py" "$site/anyio/abc/__init__.py"
