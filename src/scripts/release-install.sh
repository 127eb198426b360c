set -eu
rel=$1 cache=$2 key=$3 cmd=$4 limit=$5; shift 5
# A file's copy of its own, with every mention of the release the install ran in replaced by this one:
# a venv's scripts start with `#!<that release>/.venv/bin/python`, and that release may be pruned.
relocate() {
  from=$(printf '%s' "$1" | sed 's/[][\\/.*^$|]/\\&/g') to=$(printf '%s' "$rel" | sed 's/[\\/&|]/\\&/g')
  find "$rel/$2" -maxdepth 5 -type f \( -path '*/bin/*' -o -name '*.pth' -o -name '__editable__*' \
    -o -name pyvenv.cfg \) -exec grep -lIF -- "$1" {} + 2>/dev/null | while IFS= read -r f; do
    sed "s|$from|$to|g" "$f" >"$f.relocated"; chmod --reference="$f" "$f.relocated"; mv -f "$f.relocated" "$f"
  done
}
if [ -n "$key" ] && [ -d "$cache/$key" ]; then
  origin=$(cat "$cache/$key/.origin" 2>/dev/null || true)
  for p; do
    if [ -e "$cache/$key/$p" ]; then
      rm -rf "${rel:?}/$p"; mkdir -p "$(dirname "$rel/$p")"; cp -al "$cache/$key/$p" "$rel/$p"
      if [ -n "$origin" ] && [ "$origin" != "$rel" ] && [ -d "$rel/$p" ]; then relocate "$origin" "$p"; fi
    fi
  done
  echo "install: reused cache $key"; exit 0
fi
code=0; (cd "$rel" && timeout -k 10 "$limit" sh -c "$cmd") || code=$?
if [ "$code" = 124 ] || [ "$code" = 137 ]; then echo "install: stopped after $limit s: $cmd" >&2; exit 124; fi
[ "$code" = 0 ] || exit "$code"
if [ -n "$key" ]; then
  mkdir -p "$cache"; tmp="$cache/.tmp.$key.$$"; rm -rf "$tmp"; mkdir "$tmp"
  for p; do if [ -e "$rel/$p" ]; then mkdir -p "$(dirname "$tmp/$p")"; cp -al "$rel/$p" "$tmp/$p"; fi; done
  printf '%s\n' "$rel" >"$tmp/.origin"
  mv -T "$tmp" "$cache/$key" 2>/dev/null || rm -rf "$tmp"
  # shellcheck disable=SC2012 # newest first by mtime; the entries are install keys (hex), never odd names
  ls -1t "$cache" | tail -n +4 | while read -r old; do rm -rf "${cache:?}/$old"; done
fi
echo "install: ran $cmd"
