set -eu
app=$1 id=$2 mf=$3 s=$5 manifests=$6; t="$s/$id.tmp.$$"
sleep "$4"
export LC_ALL=C
# another release's tree is renamed away before it is deleted: a deploy taking it at this moment
# (a rename too) gets all of it or none of it
for f in "$s"/*; do
  case "$f" in
    *.tmp.*|"$s/$id") ;;
    *) if [ -e "$f" ]; then g="$f.tmp.gone.$$"; if mv -T "$f" "$g" 2>/dev/null; then rm -rf "$g"; fi; fi ;;
  esac
done
find "$s" -maxdepth 1 -name '*.tmp.*' -mmin +30 -exec rm -rf {} +
[ ! -e "$s/$id" ] || exit 0
mkdir "$t"; list="$t.list"
cut -c"$PATH_COLUMN"- "$manifests/$mf" > "$list"
link_listed "$list" "$app/releases/$id" "$t"
rm -f "$list"; mv -T "$t" "$s/$id"
