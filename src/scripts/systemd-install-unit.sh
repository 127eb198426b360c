set -e
dir=/etc/systemd/system; f="$dir/$1"; tmp="$f.tmp.$$"; changed=""
if [ -f "$dir/$2" ]; then
  systemctl disable --now "$2" >/dev/null 2>&1 || true
  systemctl stop "${2%@.service}@a.service" "${2%@.service}@b.service" >/dev/null 2>&1 || true
  rm -f "$dir/$2"; changed=yes
fi
cat > "$tmp"
if cmp -s "$tmp" "$f"; then rm -f "$tmp"
else
  # the unit replaced is kept (in $3) until the next change: a failed deploy puts it back
  if [ -f "$f" ]; then cp -p "$f" "$3"; else rm -f "$3"; fi
  chmod 0644 "$tmp"; mv -f "$tmp" "$f"; changed=yes
fi
if [ -n "$changed" ]; then
  systemctl daemon-reload
  case "$1" in *@.service) ;; *) systemctl enable "$1" >/dev/null 2>&1 ;; esac
  echo changed
fi
