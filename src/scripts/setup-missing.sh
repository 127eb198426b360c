for c; do command -v "$c" >/dev/null 2>&1 || echo "$c"; done
