set -e
t=$1; shift
mkdir -p "$t"
n=0; for p; do if [ -e "$p" ] || [ -L "$p" ]; then n=$((n+1)); mv -f "$p" "$t/$n"; fi; done
# shellcheck disable=SC2016 # $1 is the inner shell's argument
setsid sh -c 'rm -rf "$1"/*' sh "$(dirname "$t")" >/dev/null 2>&1 </dev/null &
