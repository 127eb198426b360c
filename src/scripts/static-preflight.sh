# $1 the release's folder of served files, $2 the health check's path (without its query), $3 "spa" when a path
# that is no file answers /index.html
f="$1$2"
case "$2" in */) f="${f}index.html" ;; esac
if [ -f "$f" ] || [ -f "$f/index.html" ]; then exit 0; fi
if [ "$3" = spa ] && [ -f "$1/index.html" ]; then exit 0; fi
echo "$2 is not a file of the release (no ${f#"$1"}${3:+, and no /index.html}): it was never served"
exit 1
