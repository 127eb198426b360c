set -e
cd "$1"; [ -d "releases/$2" ]
mkdir -p "$(dirname "$3")"
ln -sfn "$4" "$3.tmp.$$"
mv -T "$3.tmp.$$" "$3"
