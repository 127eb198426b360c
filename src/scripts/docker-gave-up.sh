# $1 container: docker restarts an exiting container forever (with a growing pause), so three exits of a
# container started by this deploy are taken as a crash loop
s=$(docker inspect --format '{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}' "$1" 2>/dev/null) || exit 1
restarts=${s%% *} rest=${s#* }
[ "$restarts" -ge 3 ] || [ "${rest% *}" = exited ] || [ "${rest% *}" = dead ] || exit 1
echo "the container $1 kept exiting (restarted $restarts times, last exit status ${rest#* })"
