docker rm -f "$1" >/dev/null 2>&1 || true
shift; exec "$@"
