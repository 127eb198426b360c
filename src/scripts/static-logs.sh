# $1 access log, $2 lines, $3 follow (or empty), $4 since (a date `date -d` reads, or empty): Caddy's JSON lines,
# those from `since` on (by their "ts" field)
log=$1 lines=$2 follow=$3 since=$4
if [ ! -e "$log" ]; then echo "no request yet ($log does not exist)" >&2; [ -z "$follow" ] && exit 0; fi
from=0
if [ -n "$since" ]; then from=$(date -d "$since" +%s) || exit 2; lines=+1; fi
if [ -n "$follow" ]; then set -- -F; else set --; fi
tail -n "$lines" "$@" "$log" 2>/dev/null | awk -v from="$from" '
  match($0, /"ts":[0-9.]+/) { if (substr($0, RSTART + 5, RLENGTH - 5) + 0 < from) next }
  { print; fflush() }'
