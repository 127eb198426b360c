docker image ls --quiet --no-trunc | sort -u | xargs -r docker image inspect --format '{{.Id}} {{json .RootFS.Layers}}'
