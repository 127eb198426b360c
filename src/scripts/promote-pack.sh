set -e
cut -c"$PATH_COLUMN"- "$2" | tr '\n' '\0' | tar -C "$1" --null -T - -czf -
