[ -f "$2" ] || exit 0
mv -f "$2" "/etc/systemd/system/$1"; systemctl daemon-reload
