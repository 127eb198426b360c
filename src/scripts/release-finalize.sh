set -eu
app=$1 id=$2 digest=$3 incoming=$4 manifests=$5 changed=$6 staged=$7; shift 7
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
# a copy of the release whose files were changed on the host is replaced (sync), and kept aside for a look;
# its staged tree shares those files' inodes, so it goes too
if [ -n "$changed" ] && [ -e "$app/releases/$id" ]; then
  mkdir -p "$changed"; rm -rf "${staged:?}/$id"
  mv -T "$app/releases/$id" "$changed/$id.$(date -u +%Y%m%dT%H%M%SZ)"
fi
mv -T "$inc" "$app/releases/$id"
rm -rf "$inc.delta"
