# $1 service, $2 env file (docker's KEY=value lines, root-only), $3 force ("" or "force"), $4 the app, then the names
# of the variables given to the tasks as Swarm secrets (files in /run/secrets, NAME_FILE saying where) instead of in
# the spec's environment. The service spec as JSON on stdin, without its environment: the env file's lines are added
# here, so no value is in an argument or a log. Creates the service, or updates it to the spec (a forced update
# restarts its tasks with the same spec). The spec's digest is a label: each host of an environment applies the same
# spec, and only the first changes anything.
set -eu
svc=$1 envfile=$2 force=$3 app=$4
shift 4
api() { curl -sS --fail-with-body --unix-socket /var/run/docker.sock -H 'Content-Type: application/json' "$@"; }

# a secret's name is its content's digest: an unchanged value is the same secret, a changed one a new one
secrets='[]'
for name in "$@"; do
  value=$(sed -n "s/^$name=//p" "$envfile" | head -n 1)
  if [ -z "$value" ]; then
    echo "secret $name is empty, and a Swarm secret holds at least one byte" \
      "→ give it a value, or set swarm.secrets: env" >&2
    exit 3
  fi
  sname=slipway-$(printf '%s=%s' "$name" "$value" | sha256sum | cut -c1-32)
  if ! id=$(docker secret inspect --format '{{.ID}}' "$sname" 2>/dev/null); then
    id=$(printf '%s' "$value" | base64 | tr -d '\n' |
      jq -Rc --arg n "$sname" --arg a "$app" --arg k "$name" \
        '{Name: $n, Data: ., Labels: {"slipway.app": $a, "slipway.secret": $k}}' |
      api -X POST --data-binary @- http://localhost/secrets/create | jq -r .ID)
  fi
  secrets=$(printf '%s' "$secrets" | jq -c --arg id "$id" --arg n "$sname" --arg k "$name" \
    '. + [{File: {Name: $k, UID: "0", GID: "0", Mode: 292}, SecretID: $id, SecretName: $n}]')
done

spec=$(jq --rawfile env "$envfile" --argjson secrets "$secrets" '
  ($secrets | map(.File.Name)) as $names
  | .TaskTemplate.ContainerSpec.Env = (
      ($env | split("\n") | map(select(length > 0 and ((split("=")[0]) as $k | $names | index($k) | not))))
      + ($names | map(. + "_FILE=/run/secrets/" + .))
      + .TaskTemplate.ContainerSpec.Env)
  | if ($secrets | length) > 0 then .TaskTemplate.ContainerSpec.Secrets = $secrets else . end')
digest=$(printf '%s' "$spec" | sha256sum | cut -c1-16)
spec=$(printf '%s' "$spec" | jq --arg d "$digest" '.Labels["slipway.spec"] = $d')
before=$(docker service inspect --format '{{json .Spec.TaskTemplate.ContainerSpec.Secrets}}' "$svc" 2>/dev/null || true)
tries=0
until
  if now=$(docker service inspect --format \
    '{{.Version.Index}} {{.Spec.TaskTemplate.ForceUpdate}} {{index .Spec.Labels "slipway.spec"}}' "$svc" 2>/dev/null)
  then
    # shellcheck disable=SC2086 # three words: version, force count, digest
    set -- $now
    if [ "$force" != force ] && [ "${3:-}" = "$digest" ]; then
      true
    else
      n=$2
      [ "$force" = force ] && n=$((n + 1))
      printf '%s' "$spec" | jq --argjson n "$n" '.TaskTemplate.ForceUpdate = $n' |
        api -X POST --data-binary @- "http://localhost/services/$svc/update?version=$1" >/dev/null
    fi
  else
    printf '%s' "$spec" | api -X POST --data-binary @- http://localhost/services/create >/dev/null
  fi
do
  # another host of the environment applied it at the same moment (a version out of sequence, a name taken)
  tries=$((tries + 1))
  [ $tries -lt 5 ] || exit 1
  force=
  sleep 0.2
done

# the app's secrets that neither this spec nor the one before it (Swarm's rollback goes there) uses are removed
keep=$(printf '%s %s' "$secrets" "${before:-null}" | jq -rs 'map(. // [] | .[].SecretName) | .[]')
docker secret ls --filter "label=slipway.app=$app" --format '{{.Name}}' | while read -r old; do
  printf '%s\n' "$keep" | grep -qx "$old" || docker secret rm "$old" >/dev/null 2>&1 || true
done
