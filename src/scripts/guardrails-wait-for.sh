kind=$1 url=$2 expect=$3 total=$4 interval=$5; shift 5
end=$(( $(date +%s) + total )); n=0
while :; do
  n=$((n+1))
  if [ "$kind" = http ]; then
    got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url" 2>/dev/null) || true
    [ "$got" = "$expect" ] && { echo "HTTP $got after $n attempt(s)"; exit 0; }
    last="last answer: ${got:-none}"
  else
    if out=$("$@" 2>&1); then echo "passed after $n attempt(s)"; exit 0; fi
    last=$(printf '%s\n' "$out" | tail -n 5)
  fi
  # printf, not echo: dash's echo rewrites backslashes (\t …) in the command's output
  if [ "$(date +%s)" -ge "$end" ]; then
    printf 'not met after %s attempt(s) in %ss; %s\n' "$n" "$total" "$last"; exit 42
  fi
  sleep "$interval"
done
