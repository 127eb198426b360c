# $1 unit, $2 socket, $3 restart|start: (re)start the agent, or ask the running one to look at every app again
systemctl daemon-reload
systemctl enable "$1" >/dev/null 2>&1
if [ "$3" = restart ]; then systemctl restart "$1"; exit; fi
if systemctl is-active --quiet "$1"; then
  curl -s --max-time 5 --unix-socket "$2" -X POST http://agent/check >/dev/null || true
else
  systemctl start "$1"
fi
