# $1 container, $2 image, $3 owner of the shared folders (uid[:gid], or empty: the image's USER), $4 the file
# caching the owner found per image, then the shared folders, --, then the docker run argv.
# A container running as a non-root USER must be able to write its shared folders: they are given to that user.
name=$1 image=$2 owner=$3 cache=$4; shift 4
dirs=""
while [ "$#" -gt 0 ] && [ "$1" != -- ]; do dirs="$dirs$1
"; shift; done
shift
if [ -z "$owner" ] && [ -n "$dirs" ]; then
  seen=$(docker image inspect --format '{{.Id}} {{.Config.User}}' "$image")
  id=${seen%% *} user=${seen#* }
  owner=$(sed -n "s/^$id //p" "$cache" 2>/dev/null)
  if [ -z "$owner" ]; then
    case "${user%%:*}" in
      "" | root | 0) owner=root ;;
      *[!0-9]*)
        # a user name: its ids from the image's own /etc/passwd (the image may have no shell to ask)
        c=$(docker create "$image")
        owner=$(docker cp "$c:/etc/passwd" - | tar -xOf - | awk -F: -v u="${user%%:*}" '$1 == u { print $3 ":" $4 }')
        docker rm "$c" >/dev/null
        [ -n "$owner" ] || { echo "the image's USER $user is not in its /etc/passwd" >&2; exit 1; }
        ;;
      *) owner=$user ;;
    esac
    printf '%s %s\n' "$id" "$owner" >"$cache"
  fi
fi
if [ -n "$owner" ] && [ "$owner" != root ]; then
  printf '%s' "$dirs" | while IFS= read -r d; do
    [ "$(stat -c %u "$d")" = "${owner%%:*}" ] || chown -R "$owner" "$d"
  done
fi
docker rm -f "$name" >/dev/null 2>&1 || true
exec "$@"
