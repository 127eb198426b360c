set -e
tmp="$1.tmp.$$"; cat > "$tmp"
if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv -f "$tmp" "$1"; echo changed; fi
