grep -qF "\"token\":\"$2\"" "$1/info.json" 2>/dev/null ||
  { [ "$2" = "" ] && [ ! -s "$1/info.json" ]; } || exit 0
rm -rf "$1"
