# $1 container: docker restarts an exiting container forever (with a growing pause), so three exits of a
# container started by this deploy are taken as a crash loop
state() { s=$(docker inspect --format '{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}' "$1" 2>/dev/null); }
state "$1" || exit 1
restarts=${s%% *} rest=${s#* }
[ "$restarts" -ge 3 ] || [ "${rest% *}" = exited ] || [ "${rest% *}" = dead ] || exit 1
# a running container's exit status is 0 again: catch it between two starts
n=0
while [ "${rest% *}" = running ] && [ $n -lt 15 ]; do sleep 0.1; state "$1" || exit 1; rest=${s#* }; n=$((n + 1)); done
if [ "${rest% *}" = running ]; then echo "the container $1 kept exiting (restarted $restarts times)"; exit 0; fi
echo "the container $1 kept exiting (restarted $restarts times, last exit status ${rest#* })"
