# shellcheck disable=SC2154 # list, src and dst are set by the script this part is spliced into
sed -n 's|/[^/]*$||p' "$list" | uniq | sed "s|^|$dst/|" | xargs -r -d '\n' mkdir -p --
(cd "$src" && xargs -r -d '\n' -P 2 -n 1000 cp -Pl --parents -t "$dst" -- < "$list")
