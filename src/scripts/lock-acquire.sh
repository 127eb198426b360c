[ -d "$2" ] || exit "$NOT_SET_UP"
tmp="$1.new.$$"; rm -rf "$tmp"
if ! { mkdir "$tmp" && cat > "$tmp/info.json"; }; then
  rm -rf "$tmp"; echo "could not write the lock in $2 (is the disk full?)" >&2; exit 1
fi
if mv -T "$tmp" "$1" 2>/dev/null; then exit 0; fi
rm -rf "$tmp"
cat "$1/info.json" 2>/dev/null || echo '{}'; exit "$HELD"
