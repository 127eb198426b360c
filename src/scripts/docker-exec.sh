dir=$1 app=$2 cmd=$3; shift 3
release=$(basename "$(readlink -f "$dir")")
exec "$@" "slipway-$app:$release" /bin/sh -c "$cmd"
