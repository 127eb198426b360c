id -u "$1" >/dev/null 2>&1 && exit 0
useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin "$1"
echo created
