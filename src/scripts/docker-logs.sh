lines=$1 since=$2 follow=$3; shift 3
for c; do
  docker inspect "$c" >/dev/null 2>&1 || continue
  docker logs --tail "$lines" ${since:+--since "$since"} ${follow:+--follow} "$c" 2>&1 &
done
wait
