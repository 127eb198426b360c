# A run's events for the host's agent (its dashboard shows them live): each JSON line appended as it comes on stdin.
# The closing line is written here, so a run that dies (its connection lost, kill -9) still ends its feed.
# $1 the feeds' folder (tmpfs), $2 the app, $3 the feed's file name
trap '' HUP PIPE
umask 077
mkdir -p "$1/$2" || exit 1
# a host without an agent keeps no feed for long
find "$1/$2" -name '*.jsonl' -mmin +1440 -delete 2>/dev/null
cat >> "$1/$2/$3"
printf '{"type":"end"}\n' >> "$1/$2/$3"
