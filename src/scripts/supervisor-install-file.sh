set -e
mkdir -p "$(dirname "$1")"
if [ -f "$1" ] && [ "$(sha256sum < "$1" | cut -d' ' -f1)" = "$2" ]; then echo unchanged; exit 0; fi
if [ -n "${3:-}" ]; then if [ -f "$1" ]; then cp -p "$1" "$3"; else rm -f "$3"; fi; fi
cat > "$1.tmp.$$"; mv -f "$1.tmp.$$" "$1"; echo changed
