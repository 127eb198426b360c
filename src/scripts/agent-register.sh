set -e
# $1 apps folder, $2 the app's registration file; stdin: the registration (it holds webhook URLs: root only)
umask 077
mkdir -p "$1"
tmp="$2.tmp.$$"; cat > "$tmp"
if cmp -s "$tmp" "$2"; then rm -f "$tmp"; else mv -f "$tmp" "$2"; echo registered; fi
