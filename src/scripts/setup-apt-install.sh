set -e
export DEBIAN_FRONTEND=noninteractive
command -v apt-get >/dev/null || exit 44
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "$@" >/dev/null
