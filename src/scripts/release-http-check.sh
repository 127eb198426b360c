url=$1 expect=$2 total=$3 interval=$4 each=$5 resolve=$6; shift 6
# "$@": a command that prints why and succeeds once the process manager has given up on the app; asked
# after the first half second only: a healthy start is not slowed by it, and giving up takes seconds
body=$(mktemp); end=$(( $(date +%s) + total )); n=0
while :; do
  n=$((n+1))
  code=$(curl -s -o "$body" -w '%{http_code}' --max-time "$each" ${resolve:+--resolve "$resolve"} \
    "$url" 2>/dev/null) || true
  if [ "$code" = "$expect" ]; then rm -f "$body"; echo "HTTP $code after $n attempt(s)"; exit 0; fi
  if [ $n -ge 25 ] && [ $# -gt 0 ] && why=$("$@" 2>/dev/null); then echo "$why"; rm -f "$body"; exit 42; fi
  if [ "$(date +%s)" -ge "$end" ]; then
    [ "$code" = 000 ] && code="no response (connection refused or timed out)"
    echo "last answer: $code after $n attempt(s)"; head -c 2000 "$body"; rm -f "$body"; exit 42
  fi
  if [ $n -lt 25 ]; then sleep 0.02; else sleep "$interval"; fi
done
