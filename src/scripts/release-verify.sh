set -eu
rel=$1 mf=$2 digest=$3
export LC_ALL=C
if [ ! -d "$rel" ] || [ ! -f "$mf" ]; then echo missing; exit 0; fi
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
cd "$rel"
# the manifest's paths, made safe to give find as starting points
cut -c"$PATH_COLUMN"- "$mf" | sed 's|^|./|' | tr '\n' '\0' > "$t/paths"
# a path that is gone has no line: the digest then cannot match
xargs -0 -r sh -c 'find "$@" -maxdepth 0 -printf "%y %m %p\n"' find < "$t/paths" > "$t/kinds" 2>/dev/null || true
sed -n 's/^f [0-7]* //p' "$t/kinds" | tr '\n' '\0' | xargs -0 -r sha256sum -z -- | tr '\0' '\n' > "$t/sums"
sed -n 's/^l [0-7]* //p' "$t/kinds" | while IFS= read -r p; do
  # a link's hash is of "link", a NUL and its target, as content.ts makes it
  printf '%s  %s\n' "$(printf 'link\000%s' "$(readlink -- "$p")" | sha256sum | cut -c1-64)" "$p"
done >> "$t/sums"
# the manifest as these files would make it, in its own order
got=$(awk -v c="$PATH_COLUMN" '
  FILENAME == ARGV[1] { m = $2; p = $0; sub(/^[^ ]+ [^ ]+ /, "", p); type[p] = $1; mode[p] = m; next }
  FILENAME == ARGV[2] { sum[substr($0, 67)] = substr($0, 1, 32); next }
  {
    p = "./" substr($0, c); k = type[p]
    if (k == "f") k = (substr(mode[p], length(mode[p]) - 2) ~ /[1357]/) ? "x" : "f"
    print sum[p] " " k " " substr($0, c)
  }' "$t/kinds" "$t/sums" "$mf" | sha256sum | cut -c1-32)
if [ "$got" = "$digest" ]; then echo intact; else echo changed; fi
