#!/usr/bin/env bash
# Start the loopback services the tests need when they are down. Never binds beyond loopback.
set -u
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { for _ in $(seq 1 60); do up "$1" && return 0; sleep 0.5; done; echo "service on port $1 did not come up" >&2; return 1; }

need_pkg() { # command package
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "installing Debian package $2"
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq >/dev/null && APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}

need_pkg redis-server redis-server
need_pkg arv-fake-gv-camera-0.8 aravis-tools   # GigE Vision peer; tests run it in a loopback-only namespace
need_pkg ip iproute2
need_pkg unshare util-linux
if ! up 6379; then
  echo "starting redis-server on 127.0.0.1:6379"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_port 6379
fi
echo "services: redis up"
