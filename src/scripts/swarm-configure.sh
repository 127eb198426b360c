# $1 what to do on a host in no swarm: "init" one, "join" the one of manager $4 with the token in file $5, or ""
# (refuse); $2 network, $3 node label. Then the host is in a swarm as a manager (the one that runs the app's
# service), the app's network exists (a bridge on each node, so Caddy reaches its tasks) and the node carries the
# app's label. Prints what it changed.
set -eu
mode=$1 net=$2 label=$3 manager=$4 token=$5
manager_state() { docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}'; }
case $(manager_state) in
  active\ true) ;;
  active\ *) echo "this host is a swarm worker: slipway runs the service from a manager → list a manager in hosts" >&2
    exit 3 ;;
  *) case $mode in
      init) docker swarm init >/dev/null; echo "swarm initialised" ;;
      join)
        [ -r "$token" ] || { echo "no join token in $token → write a manager token there (root only)" >&2; exit 3; }
        # the token reaches the engine on stdin: an argument would show in the process list
        if ! answer=$(jq -n --arg remote "$manager" --rawfile token "$token" \
          '{ListenAddr: "0.0.0.0:2377", RemoteAddrs: [$remote], JoinToken: ($token | rtrimstr("\n"))}' |
          curl -sS --fail-with-body --unix-socket /var/run/docker.sock -H 'Content-Type: application/json' \
            --data-binary @- http://localhost/swarm/join 2>&1); then
          echo "could not join the swarm of $manager: $answer" >&2
          exit 3
        fi
        n=0
        until [ "$(manager_state)" = "active true" ]; do
          n=$((n + 1))
          [ $n -lt 20 ] || { echo "joined $manager, but not as a manager → use a manager's token" >&2; exit 3; }
          sleep 0.5
        done
        echo "joined the swarm of $manager" ;;
      *) echo "this host is in no swarm → set swarm.init: true, or swarm.join" >&2; exit 3 ;;
    esac ;;
esac
if ! docker network inspect "$net" >/dev/null 2>&1; then
  docker network create --driver bridge --scope swarm --attachable "$net" >/dev/null
  echo "network $net"
fi
node=$(docker info --format '{{.Swarm.NodeID}}')
if [ "$(docker node inspect --format "{{index .Spec.Labels \"$label\"}}" "$node")" != true ]; then
  docker node update --label-add "$label=true" "$node" >/dev/null
  echo "node label $label"
fi
