#!/usr/bin/env bash
# The nightly integrity check, for cron. Example crontab line:
#
#   15 2 * * *  BUURTKAS_DATABASE_URL=postgresql://... BUURTKAS_SIGNING_KEY=/etc/buurtkas/audit.key \
#               /opt/buurtkas/scripts/nightly.sh /var/lib/buurtkas/audit
#
# 1. `buurtkas verify --json` against the database's checkpoints and every checkpoint kept
#    in DIR/checkpoints (copies outside the database, which a database superuser cannot
#    reach); the JSON report goes to DIR/reports/verify-<time>.json.
# 2. Only if everything holds, `buurtkas checkpoint` signs tonight's tree head and keeps a
#    copy in DIR/checkpoints, so that tomorrow's check covers today's history.
# Exit status: 0 when intact, 1 when a check failed (the report says which), 2 when the
# check could not run (usage, no event store at the URL, a store that cannot be opened:
# DIR/reports/verify-<time>.err says why).
set -euo pipefail

dir="${1:-}"
if [[ -z "$dir" ]]; then
    echo "usage: nightly.sh DIR   (DIR keeps checkpoints and reports)" >&2
    exit 2
fi
buurtkas="${BUURTKAS:-buurtkas}"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$dir/checkpoints" "$dir/reports"

kept=()
for file in "$dir"/checkpoints/*.json; do
    [[ -e "$file" ]] && kept+=(--checkpoint "$file")
done

report="$dir/reports/verify-$stamp.json"
errors="$dir/reports/verify-$stamp.err"
status=0
"$buurtkas" verify --json ${kept[@]+"${kept[@]}"} >"$report" 2>"$errors" || status=$?
if [[ $status -eq 0 ]]; then
    "$buurtkas" checkpoint --out "$dir/checkpoints/checkpoint-$stamp.json" >/dev/null
    echo "integrity intact; report $report; checkpoint $dir/checkpoints/checkpoint-$stamp.json"
elif [[ $status -eq 1 ]]; then
    echo "integrity check FAILED; see $report" >&2
    exit 1
else
    echo "integrity check could not run (exit $status): $(tail -n 1 "$errors")" >&2
    exit 2
fi
