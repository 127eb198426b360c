set -e
owner=$1; shift
for d; do
  if [ -n "$owner" ]; then install -d -m 0750 -o "$owner" -g "$owner" "$d"; else mkdir -p "$d"; fi
done
