#!/usr/bin/env bash
# Build and run every test suite.  Exits non-zero if any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
meson test -C build --print-errorlogs "$@"
