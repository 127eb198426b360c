systemctl stop "$1.timer" >/dev/null 2>&1 || true
systemctl reset-failed "$1.timer" "$1.service" >/dev/null 2>&1 || true
