dir=$1 cmd=$2 total=$3 interval=$4 port=$5; shift 5
# "$@": a command that prints why and succeeds once the process manager has given up on the app; asked
# after the first half second only: a healthy start is not slowed by it, and giving up takes seconds
end=$(( $(date +%s) + total )); n=0; cd "$dir" || { echo "cannot enter $dir"; exit 42; }
while :; do
  n=$((n+1))
  if out=$(PORT=$port sh -c "$cmd" 2>&1); then echo "command passed after $n attempt(s)"; exit 0; fi
  if [ $n -ge 25 ] && [ $# -gt 0 ] && why=$("$@" 2>/dev/null); then echo "$why"; exit 42; fi
  if [ "$(date +%s)" -ge "$end" ]; then
    echo "command failed after $n attempt(s); last output:"; printf '%s\n' "$out" | tail -n 20; exit 42
  fi
  if [ $n -lt 25 ]; then sleep 0.02; else sleep "$interval"; fi
done
