set -e
# $1 the bare repository pushes deploy from, $2 environment, $3 this host's name in slipway.yml, $4 the branch;
# stdin: the pre-receive hook
repo=$1
if [ ! -d "$repo" ]; then git init -q --bare "$repo"; echo "created $repo"; fi
git --git-dir="$repo" config slipway.environment "$2"
git --git-dir="$repo" config slipway.host "$3"
git --git-dir="$repo" config slipway.branch "$4"
hook="$repo/hooks/pre-receive"
tmp="$hook.tmp.$$"
cat > "$tmp"
chmod 0755 "$tmp"
if cmp -s "$tmp" "$hook"; then rm -f "$tmp"; else mv -f "$tmp" "$hook"; echo "wrote its pre-receive hook"; fi
