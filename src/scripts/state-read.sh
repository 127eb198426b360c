cd "$1" 2>/dev/null && [ -d "$3" ] || exit "$NOT_SET_UP"
readlink current || true
echo ---
readlink slots/a slots/b 2>/dev/null || true
echo ---
ls -1 releases
echo ---
ls -1 "$4" 2>/dev/null || true
echo ---
echo "$(uname -s) $(uname -m) $(if ls /lib/ld-musl-* >/dev/null 2>&1; then echo musl; else echo glibc; fi)"
echo ---
cat "$6" 2>/dev/null || true
echo ---
if command -v zstd >/dev/null; then echo zstd; fi
echo ---
if [ "$2" = kept ]; then
  # only the records of releases still on the host: what a deploy needs, and a bounded read
  # shellcheck disable=SC2012 # release ids are plain names (letters, digits, -)
  kept=$(ls -1 releases | sed 's/.*/"release":"&"/')
  if [ -n "$kept" ]; then tail -n "$HISTORY_LINES" "$5" 2>/dev/null | grep -F -e "$kept" || true; fi
else
  tail -n "$HISTORY_LINES" "$5" 2>/dev/null || true
fi
