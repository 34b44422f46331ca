#!/usr/bin/env bash
# A throwaway PostgreSQL cluster (installed with apt-get if its server binaries are missing,
# run as an unprivileged user, on 127.0.0.1 and a free port, deleted afterwards).
#   scripts/postgres.sh run -- CMD ARGS...   run CMD with OPENROSTER_TEST_PG_URL set to the cluster
#   scripts/postgres.sh serve                print a database URL and keep the cluster until Ctrl-C
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
exec .venv/bin/python -m openroster.store.pgcluster "$@"
