# $1 service, $2 network: the service's update state, the release its spec runs, its replicas and the update's
# message ("none" when there is no service), then one line per task of this node that should run: state, release, address on the network.
svc=$1 net=$2
docker service inspect --format \
  '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{else}}-{{end}} {{index .Spec.TaskTemplate.ContainerSpec.Labels "slipway.release"}} {{.Spec.Mode.Replicated.Replicas}} {{if .UpdateStatus}}{{.UpdateStatus.Message}}{{end}}' \
  "$svc" 2>/dev/null || { echo none; exit 0; }
node=$(docker info --format '{{.Swarm.NodeID}}')
tasks=$(docker service ps --quiet --filter desired-state=running --filter "node=$node" "$svc" 2>/dev/null)
[ -n "$tasks" ] || exit 0
# shellcheck disable=SC2086 # one argument per task id
docker inspect --type task --format \
  '{{.Status.State}} {{index .Spec.ContainerSpec.Labels "slipway.release"}} {{with .Status.ContainerStatus}}{{.ContainerID}}{{end}}' \
  $tasks | while read -r state release container; do
  # a bridge's addresses are the node's own: the container has it, not the task
  address=
  [ -n "$container" ] && address=$(docker inspect --type container --format \
    "{{with index .NetworkSettings.Networks \"$net\"}}{{.IPAddress}}{{end}}" "$container" 2>/dev/null)
  echo "$state $release $address"
done
