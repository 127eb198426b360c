set -e
mkdir -p "$1"; find "$1" -name '*.json' -mtime +7 -delete 2>/dev/null || true
cat > "$1/$2.json.tmp"; mv -f "$1/$2.json.tmp" "$1/$2.json"
