#!/usr/bin/env bash
# Install what the tests need from Debian and start the loopback services they use when they are down.
# Every service listens on loopback only; nothing here broadcasts.
set -u
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { for _ in $(seq 1 120); do up "$1" && return 0; sleep 0.5; done; echo "service on port $1 did not come up" >&2; return 1; }

APT_UPDATED=""
need_pkg() { # command package
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "installing Debian package $2"
  if [ -z "$APT_UPDATED" ]; then apt-get update -qq >/dev/null && APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}

need_pkg redis-server redis-server
need_pkg arv-fake-gv-camera-0.8 aravis-tools   # GigE Vision peer; tests run it in a loopback-only namespace
need_pkg ip iproute2
need_pkg unshare util-linux
need_pkg nft nftables                         # packet loss and duplication for the GigE tests, inside their namespace only
need_pkg chromium chromium                     # dashboard browser test (headless, loopback pages only)

status=0
start_if_down() { # name port command...
  local name=$1 port=$2; shift 2
  if up "$port"; then echo "services: $name up"; return 0; fi
  echo "services: starting $name"
  "$@" >/dev/null 2>&1 || true
  if wait_port "$port"; then echo "services: $name up"; else echo "services: $name FAILED to start" >&2; status=1; fi
}

mkdir -p /var/lib/redis /var/log/redis
start_if_down redis 6379 redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
if command -v pg_ctlcluster >/dev/null 2>&1; then
  start_if_down postgresql 5432 bash -c 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | head -n 1) main start'
fi
if command -v rabbitmq-server >/dev/null 2>&1; then
  start_if_down rabbitmq 5672 rabbitmq-server -detached
fi
if command -v mosquitto >/dev/null 2>&1; then
  start_if_down mosquitto 1883 mosquitto -d -c /etc/mosquitto/mosquitto.conf
fi
exit $status
