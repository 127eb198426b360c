# $1 the instance's state.json: the supervisor waits 2 s or more before a restart only after two exits in a row
# within 10 s of starting, and restarting resets that count: a crash loop of the release just started
s=$(cat "$1" 2>/dev/null) || exit 1
case "$s" in *'"state":"backoff"'*) ;; *) exit 1 ;; esac
ms=$(printf '%s' "$s" | sed -n 's/.*"backoff_ms":\([0-9]*\).*/\1/p')
[ "${ms:-0}" -ge 2000 ] || exit 1
last=$(printf '%s' "$s" | sed -n 's/.*"last_exit":"\([^"]*\)".*/\1/p')
echo "the supervisor sees the app exit again and again within seconds of starting (last: $last)"
