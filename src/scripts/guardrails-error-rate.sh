rate=$(curl -fs --max-time 5 "$1") || { echo "error rate: $1 did not answer"; exit 42; }
awk -v r="$rate" -v m="$2" 'BEGIN {
  if (r !~ /^[0-9.eE+-]+$/) { print "error rate: not a number: " r; exit 42 }
  if (r + 0 > m + 0) { print "error rate " r " is above " m; exit 42 }
  print "error rate " r
}'
