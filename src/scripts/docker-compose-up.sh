# $1 project, $2 compose file (in the release), $3 folder for relative paths (shared/), then the accessories:
# started, or left running when unchanged (Debian 12 has docker-compose; Docker's packages `docker compose`)
project=$1 file=$2 dir=$3; shift 3
compose() { if docker compose version >/dev/null 2>&1; then docker compose "$@"; else docker-compose "$@"; fi; }
compose --project-name "$project" --project-directory "$dir" --file "$file" up --detach --no-build "$@" 2>&1
