mkdir -p "$6"
setsid nice -n 10 sh -c "$4" slipway "$1" "$2" "$3" "$5" "$6" "$7" >/dev/null 2>&1 </dev/null &
