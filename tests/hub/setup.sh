#!/usr/bin/env bash
# Make the hub test and benchmark runnable, idempotently (about a second when all is there):
#   - configurable-http-proxy from npm, exactly as pinned in deploy/jupyterhub/proxy/, into
#     build/hub/proxy (project-local; the hub runs as root, which reaches it wherever it is);
#   - the class's Python environment as deploy/jupyterhub/setup.sh builds it (the course's
#     requirements without its code, and JupyterHub), in /opt/deep-learning-hub-test/env:
#     outside the repository, because the test's students run their servers from it and must
#     reach it whatever the clone's folder permissions are.
# Only as root (the test needs root to create accounts); it never fails the build: without
# npm or root the hub tests skip and say why.
# Usage: tests/hub/setup.sh
set -u
cd "$(dirname "$0")/../.."
DEPLOY=deploy/jupyterhub
PROXY=build/hub/proxy
ENV_DIR=${COURSE_HUB_TEST_ENV:-/opt/deep-learning-hub-test/env}

if [ "$(id -u)" != 0 ]; then
    echo "hub tests: not root; they will be skipped (they create Unix accounts)"
    exit 0
fi

if ! command -v npm >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    echo "hub tests: installing Debian's npm (apt-get) ..."
    export DEBIAN_FRONTEND=noninteractive
    { apt-get install -y -q --no-install-recommends npm >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null 2>&1 \
           && apt-get install -y -q --no-install-recommends npm >/dev/null 2>&1; }; } \
      || echo "hub tests: could not install npm; they will be skipped"
fi
if command -v npm >/dev/null 2>&1 \
   && ! cmp -s "$DEPLOY/proxy/package-lock.json" "$PROXY/node_modules/.package-lock.json.installed" 2>/dev/null; then
    echo "hub tests: installing configurable-http-proxy (npm ci) into $PROXY ..."
    mkdir -p "$PROXY"
    cp "$DEPLOY/proxy/package.json" "$DEPLOY/proxy/package-lock.json" "$PROXY/"
    if (cd "$PROXY" && npm ci --omit=dev --no-audit --no-fund --loglevel=error >/dev/null); then
        cp "$DEPLOY/proxy/package-lock.json" "$PROXY/node_modules/.package-lock.json.installed"
    else
        echo "hub tests: npm ci failed; they will be skipped"
    fi
fi

STAMP="$ENV_DIR/.course-hub-requirements"  # as deploy/jupyterhub/setup.sh writes it
WANT=$(cat requirements.txt "$DEPLOY/requirements.txt")
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
    echo "hub tests: building the class's environment in $ENV_DIR (pip, a few minutes once) ..."
    # a Python every account can run (the students' servers run it; not pyenv's under /root)
    [ -x "$ENV_DIR/bin/python" ] || /usr/bin/python3 -m venv "$ENV_DIR"
    if grep -v '^-e ' requirements.txt > "$ENV_DIR/course-requirements.txt" \
       && "$ENV_DIR/bin/python" -m pip install --quiet --disable-pip-version-check \
            -r "$ENV_DIR/course-requirements.txt" -r "$DEPLOY/requirements.txt"; then
        echo "$WANT" > "$STAMP"
    else
        echo "hub tests: could not build $ENV_DIR; they will be skipped"
    fi
fi
exit 0
