# link_listed LIST SRC DST: hard-link into DST the files LIST names (one path per line), from SRC
link_listed() {
  sed -n 's|/[^/]*$||p' "$1" | uniq | sed "s|^|$3/|" | xargs -r -d '\n' mkdir -p --
  (cd "$2" && xargs -r -d '\n' -P 2 -n 1000 cp -Pl --parents -t "$3" -- < "$1")
}
