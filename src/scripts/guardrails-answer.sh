f="$1/$2.json"
[ -f "$f" ] || exit "$NO_REQUEST"
grep -q '"state":"pending"' "$f" || { cat "$f"; exit "$ANSWERED"; }
cat > "$f.tmp.$$" && mv -f "$f.tmp.$$" "$f"
