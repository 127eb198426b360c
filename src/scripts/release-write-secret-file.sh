set -e
umask 077; tmp="$1.tmp.$$"
cat > "$tmp"
if [ -n "$2" ]; then chown "$2:$2" "$tmp"; fi
chmod 0400 "$tmp"; mv -f "$tmp" "$1"
