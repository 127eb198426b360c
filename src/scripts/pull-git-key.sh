set -e
# $1 the app's git folder (root only), $2 the deploy key's comment; stdin: the git server's known_hosts lines.
# Prints the deploy key's public half.
umask 077
mkdir -p "$1"
if [ ! -f "$1/id_ed25519" ]; then ssh-keygen -q -t ed25519 -N '' -C "$2" -f "$1/id_ed25519"; echo created >&2; fi
cat > "$1/known_hosts.tmp"
mv -f "$1/known_hosts.tmp" "$1/known_hosts"
# git's ssh: this key and this host key only, never a prompt, never the host's own ssh config
cat > "$1/ssh.tmp" <<'WRAPPER'
#!/bin/sh
d=$(dirname "$0")
exec ssh -F /dev/null -i "$d/id_ed25519" -o IdentitiesOnly=yes -o UserKnownHostsFile="$d/known_hosts" \
  -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes "$@"
WRAPPER
chmod 0700 "$1/ssh.tmp"
mv -f "$1/ssh.tmp" "$1/ssh"
cat "$1/id_ed25519.pub"
