#!/usr/bin/env bash
# Runs every test: unit and integration tests against the real embedded ClickHouse engine,
# the RPM cross-checks against Debian's rpm, and the third-party corpus in ../shared/testdata
# (tests that need it say they were skipped when it is absent, and fail under CI).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
export TZ=UTC
export ALTREPODB_TESTDATA=${ALTREPODB_TESTDATA:-$here/../shared/testdata}
# Under CI a missing prerequisite (test corpus, RabbitMQ, a tool) fails the test that needs it
# instead of skipping it (altrepodb_testdata::corpus::missing).
if [ -n "${CI:-}" ] && [ "${CI}" != "false" ]; then
  export ALTREPODB_REQUIRE_ALL=1
fi

# RabbitMQ for the daemon tests: start it when it is not already listening.
if ! (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then
  if command -v rabbitmq-server >/dev/null; then
    echo "test: starting rabbitmq-server"
    rabbitmq-server -detached >/dev/null 2>&1 || true
    for _ in $(seq 1 60); do (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null && break; sleep 1; done
  fi
fi

# Release profile: reuses the set-up build instead of compiling everything a second time.
cargo test --release --workspace --no-fail-fast -- --test-threads="${ALTREPODB_TEST_THREADS:-2}"
