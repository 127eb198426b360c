systemctl is-failed --quiet "$1" || exit 1
status=$(systemctl show --property=ExecMainStatus --value "$1")
echo "systemd gave up on $1: it kept exiting (last exit status $status)"
