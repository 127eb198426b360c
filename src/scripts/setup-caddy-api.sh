if systemctl is-enabled caddy.service >/dev/null 2>&1 ||
  systemctl is-active caddy.service >/dev/null 2>&1; then
  systemctl disable --now caddy.service >/dev/null 2>&1; echo "stopped caddy.service (Caddyfile mode)"
fi
if ! systemctl is-active caddy-api.service >/dev/null 2>&1; then
  systemctl enable --now caddy-api.service >/dev/null 2>&1 || exit 1; echo "started caddy-api.service"
fi
for _ in $(seq 1 100); do curl -fsS -o /dev/null "$1/config/" 2>/dev/null && exit 0; sleep 0.1; done
echo "the admin API at $1 did not answer" >&2; exit 1
