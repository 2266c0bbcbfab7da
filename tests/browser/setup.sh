#!/usr/bin/env bash
# Make the browser tests runnable, idempotently (well under a second when all is there):
#   - Debian's `chromium`, installed with apt-get only when running as root and it is missing;
#   - the Playwright client (PyPI `playwright`) in the course's virtualenv, driving that
#     chromium (Playwright's own browser download is never used: nothing is fetched at run time).
# It never fails the build: without chromium the browser tests skip and say why.
# Usage: tests/browser/setup.sh [path/to/python]   (default: .venv/bin/python)
set -u
cd "$(dirname "$0")/../.."
PY=${1:-.venv/bin/python}
PLAYWRIGHT_VERSION=1.65.2

if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "browser tests: installing Debian's chromium (apt-get) ..."
        export DEBIAN_FRONTEND=noninteractive
        { apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 \
          || { apt-get update -q >/dev/null 2>&1 \
               && apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1; }; } \
          || echo "browser tests: could not install chromium; they will be skipped"
    else
        echo "browser tests: no chromium on PATH (install Debian's 'chromium' as root to run them)"
    fi
fi

if ! "$PY" -c "import playwright" >/dev/null 2>&1; then
    echo "browser tests: installing the Playwright client $PLAYWRIGHT_VERSION ..."
    "$PY" -m pip install --quiet --disable-pip-version-check "playwright==$PLAYWRIGHT_VERSION" \
      || echo "browser tests: could not install playwright; they will be skipped"
fi
exit 0
