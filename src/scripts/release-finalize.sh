set -eu
app=$1 id=$2 digest=$3 incoming=$4 manifests=$5; shift 5
inc="$incoming/$id"; kind="dir"
for p in "$@"; do
  if [ "$p" = "--files" ]; then kind="file"; continue; fi
  if [ "$kind" = file ] && [ ! -e "$app/shared/$p" ]; then
    echo "shared file $app/shared/$p does not exist: create it on the host (or remove it from shared.files)" >&2; exit 3
  fi
  rm -rf "${inc:?}/$p"; mkdir -p "$(dirname "$inc/$p")"; ln -s "$app/shared/$p" "$inc/$p"
done
rm -f "$inc/REVISION"; cat > "$inc/REVISION"
mv -f "$inc.delta/manifest" "$manifests/$id.$digest"
mv -T "$inc" "$app/releases/$id"
rm -rf "$inc.delta"
