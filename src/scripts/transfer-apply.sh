set -eu
app=$1 id=$2 base=$3 bm=$4 digest=$5 work=$6 manifests=$7 staged=$8/$3
d="$work/$id.delta"; inc="$work/$id"
mkdir -p "$work" "$manifests"
# leftovers of interrupted deploys (we hold the lock); incoming itself may be a mount point
for f in "$work"/* "$work"/.[!.]*; do if [ -e "$f" ] || [ -L "$f" ]; then rm -rf "$f"; fi; done
mkdir "$d"
if ! tar -xzf - -C "$d" --no-same-owner; then
  free=$(df -Pk "$d" | awk 'NR == 2 { print $4 }')
  if [ "${free:-0}" -lt 1024 ]; then echo "No space left on device: ${free:-0} KiB free for $work" >&2; fi
  exit 4
fi
mkdir -p "$d/release"
export LC_ALL=C
if [ -d "$d/patch" ]; then
  (cd "$d/patch" && find . -type f) | while IFS= read -r p; do
    p=${p#./}
    want=$(awk -v c="$PATH_COLUMN" -v p="$p" 'substr($0, c) == p { print substr($0, 1, 34) }' "$d/delta/add")
    mkdir -p "$(dirname "$d/release/$p")"
    if ! zstd -d -q --patch-from="$app/releases/$base/$p" "$d/patch/$p" -o "$d/release/$p" ||
      [ "$(sha256sum < "$d/release/$p" | cut -c1-32)" != "${want% ?}" ]; then
      echo "$p: the delta against releases/$base/$p does not give the file that was sent" >&2; exit "$PATCH_FAILED"
    fi
    if [ "${want#* }" = x ]; then chmod 755 "$d/release/$p"; else chmod 644 "$d/release/$p"; fi
  done
fi
: > "$d/link"
if [ -n "$base" ]; then
  # the base's lines for files that stay: linked from the base, and part of the new manifest
  awk -v c="$PATH_COLUMN" 'NR == FNR { drop[$0] = 1; next } !(substr($0, c) in drop)' \
    "$d/delta/drop" "$manifests/$bm" > "$d/kept"
  cut -c"$PATH_COLUMN"- "$d/kept" > "$d/link"
  staged_ok=""
  if mv -T "$staged" "$inc" 2>/dev/null; then
    # the staged tree is the base's files: take out what goes or changes, add what was sent
    sed 1d "$d/delta/drop" > "$d/gone"
    (cd "$inc" && xargs -r -d '\n' rm -f -- < "$d/gone" && sed -n 's|/[^/]*$||p' "$d/gone" | sort -u |
      xargs -r -d '\n' rmdir -p --ignore-fail-on-non-empty -- 2>/dev/null) || true
    cp -al "$d/release/." "$inc/"
    # it must now hold exactly the new release's files, or it is not used
    if [ "$(find "$inc" ! -type d | wc -l)" -eq $(( $(wc -l < "$d/link") + $(wc -l < "$d/delta/add") )) ]; then
      staged_ok=yes; echo staged
    else rm -rf "$inc"; fi
  fi
  if [ -z "$staged_ok" ]; then
    mv -T "$d/release" "$inc"
    link_listed "$d/link" "$app/releases/$base" "$inc"
  fi
  cat "$d/kept" "$d/delta/add" > "$d/unsorted"
else
  mv -T "$d/release" "$inc"
  cp "$d/delta/add" "$d/unsorted"
fi
sort -t "$(printf '\001')" -k1."$PATH_COLUMN" "$d/unsorted" > "$d/manifest"
got=$(sha256sum < "$d/manifest" | cut -c1-32)
if [ "$got" != "$digest" ]; then
  echo "the release on the host does not match what was sent (manifest $got, expected $digest)" >&2; exit 3
fi
echo "linked $(wc -l < "$d/link")"
