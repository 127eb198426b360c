systemctl enable "$1" >/dev/null 2>&1
