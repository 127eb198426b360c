systemctl reset-failed "$1" >/dev/null 2>&1 || true
systemctl restart "$1"
