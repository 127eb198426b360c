unit=$1 after=$2; shift 2
exec systemd-run --quiet --unit="$unit" --on-active="$after" --timer-property=AccuracySec=100ms "$@"
