#!/bin/sh
# The build step of the runner image after `pip install` (infra/Dockerfile runs it; so does
# tests/test_infra.py in a plain directory laid out like the image). It parses the dbt project once
# with the connection values the functions will have, so the runner's first task reuses
# target/partial_parse.msgpack instead of parsing the project again (dbt rejects a partial parse
# made for another host, user, database, schema or target).
#   usage: infra/image-build.sh PROJECT_DIR
set -eu
project="$1"
dbt parse --quiet \
    --project-dir "$project" \
    --profiles-dir "$project/infra" \
    --target "${STORE_SALES_TARGET:-redshift}" \
    --target-path "$project/target" \
    --log-path "${TMPDIR:-/tmp}/dbt-image-build-logs"
rm -f "$project/target/perf_info.json"
test -s "$project/target/partial_parse.msgpack"
