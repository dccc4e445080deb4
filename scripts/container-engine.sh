#!/usr/bin/env bash
# A Docker-Engine-API endpoint for ghostd's container runtime and its tests, on a Debian machine.
#
#   eval "$(scripts/container-engine.sh up)"    prints `export DOCKER_HOST=unix://...` and
#                                               `export GHOSTD_TEST_REGISTRY=127.0.0.1:5000`
#   scripts/container-engine.sh down            stops the service and registry this script started
#
# An engine that already answers (DOCKER_HOST, /var/run/docker.sock, Podman's root socket) is used
# as it is: nothing is installed or configured then. Otherwise, as root, it installs Debian's
# Podman with what the tests need of it (netavark and aardvark-dns, so containers find each other
# by name; busybox-static and mmdebstrap, which build the test images, as no registry is reachable)
# and serves Podman's API on its standard root socket, where ghostd looks even without DOCKER_HOST.
#
# Beside the engine, as root, it runs an image registry for the tests to push to and pull from:
# Debian's docker-registry on 127.0.0.1:5000 (plain HTTP, loopback only), and tells Podman to
# speak HTTP to it. One that already answers there is used as it is. The registry is printed only
# once the engine has been seen to reach it; a registry that cannot be had leaves the engine's line
# alone, and the tests that need it say so.
#
# CI runs this nested, inside a privileged container sharing the host's network: there the
# storage may sit on overlayfs, there is no systemd, and the sandbox may lack CAP_SYS_RESOURCE, so
# Podman's default rlimits are refused. Each of those is detected and worked around only where a
# probe shows it is needed, so a normal machine's Podman configuration is left alone.
# Idempotent: a second `up` finds the running service and prints the same line.
set -euo pipefail
SOCK=${GHOSTD_ENGINE_SOCKET:-/run/podman/podman.sock}
STATE_DIR=${GHOSTD_ENGINE_STATE:-/run/ghostd-container-engine}
PROBE_IMAGE=localhost/ghostd-engine-probe:latest
CONF_DIR=/etc/containers
REGISTRY=127.0.0.1:5000
REGISTRY_DIR=$STATE_DIR/registry
REGISTRY_DROP_IN=$CONF_DIR/registries.conf.d/50-ghostd-test-registry.conf
log() { echo "container-engine: $*" >&2; }

answers() { curl -sf --max-time 5 --unix-socket "$1" http://engine/_ping >/dev/null 2>&1; }

# The first engine that already answers, as a DOCKER_HOST value; Docker's and Podman's usual places.
existing_engine() {
  local host=${DOCKER_HOST:-}
  if [[ $host == unix://* ]] && answers "${host#unix://}"; then echo "$host"; return 0; fi
  if [[ $host == tcp://* ]] && curl -sf --max-time 5 "http://${host#tcp://}/_ping" >/dev/null 2>&1; then echo "$host"; return 0; fi
  # ssh:// and the like are the user's own choice, which curl cannot check.
  if [[ -n $host && $host != unix://* && $host != tcp://* ]]; then echo "$host"; return 0; fi
  [[ -z $host ]] || log "nothing answers at DOCKER_HOST=$host; looking elsewhere"
  local sock
  for sock in /var/run/docker.sock /run/podman/podman.sock "$SOCK"; do
    answers "$sock" && { echo "unix://$sock"; return 0; }
  done
  return 1
}

# Debian packages, those not installed yet. No package may start a service of its own meanwhile:
# docker-registry's would listen on every interface with its own storage, where the script runs
# its own registry on loopback (policy-rc.d is how Debian's maintainer scripts are told).
install_packages() {
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  ((${#missing[@]})) || return 0
  log "installing ${missing[*]}"
  local policy=/usr/sbin/policy-rc.d placed=""
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && placed=1
  fi
  local status=0
  { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } || status=$?
  [[ -z $placed ]] || rm -f "$policy"
  return "$status"
}

# netavark's bridge firewall needs iptables; catatonit is Podman's `init: true`; docker-registry
# is the tests' registry.
ENGINE_PACKAGES=(podman runc conmon netavark aardvark-dns iptables catatonit busybox-static mmdebstrap curl docker-registry python3)

# Overlay cannot stack on overlayfs (a container's own root); fuse-overlayfs can, and vfs always works.
configure_storage() {
  local root=/var/lib/containers/storage
  mkdir -p "$root"
  [[ $(stat -f -c %T "$root") == overlayfs ]] || return 0
  [[ -f $CONF_DIR/storage.conf ]] && grep -q '^driver' "$CONF_DIR/storage.conf" && return 0
  log "container storage is on overlayfs; using the vfs driver"
  mkdir -p "$CONF_DIR"
  printf '[storage]\ndriver = "vfs"\nrunroot = "/run/containers/storage"\ngraphroot = "%s"\n' "$root" >"$CONF_DIR/storage.conf"
}

# The smallest image that proves a container starts: busybox-static's one binary.
ensure_probe_image() {
  podman image exists "$PROBE_IMAGE" && return 0
  local dir; dir=$(mktemp -d)
  mkdir -p "$dir/rootfs/bin"
  cp /bin/busybox "$dir/rootfs/bin/busybox"
  tar -C "$dir/rootfs" -cf "$dir/probe.tar" .
  podman import -q --change 'CMD ["/bin/busybox","true"]' "$dir/probe.tar" "$PROBE_IMAGE" >/dev/null
  rm -rf "$dir"
}

runs_container() { podman run --rm --network none "$PROBE_IMAGE" /bin/busybox true >"$STATE_DIR/probe.log" 2>&1; }

# Without CAP_SYS_RESOURCE, runc cannot raise the rlimits Podman puts in every spec (nofile 1048576)
# above the sandbox's hard limits. This runtime hands runc the spec without them, so containers
# inherit the engine's own limits.
install_norlimit_runtime() {
  local wrapper=/usr/local/libexec/ghostd-engine-runc-norlimit
  log "runc refuses Podman's rlimits here ($(tail -n 1 "$STATE_DIR/probe.log")); using a runtime that drops them"
  mkdir -p "$(dirname "$wrapper")" "$CONF_DIR/containers.conf.d"
  cat >"$wrapper" <<'WRAPPER'
#!/usr/bin/env bash
# runc, given specs without process.rlimits (written by ghostd's scripts/container-engine.sh).
# Debian's python3 by path, without site: a python3 first in PATH (a pyenv shim) took 1 s a call.
strip() { /usr/bin/python3 -I -S -c 'import json, sys
path = sys.argv[1]; spec = json.load(open(path)); spec.get("process", spec).pop("rlimits", None); json.dump(spec, open(path, "w"))' "$1"; }
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --bundle | -b) [[ -f "${args[$((i + 1))]}/config.json" ]] && strip "${args[$((i + 1))]}/config.json" ;;
    --process | -p) [[ -f "${args[$((i + 1))]}" ]] && strip "${args[$((i + 1))]}" ;;
    --process=*) strip "${args[$i]#--process=}" ;;
  esac
done
exec runc "$@"
WRAPPER
  chmod +x "$wrapper"
  printf '[engine]\nruntime = "ghostd-norlimit"\n[engine.runtimes]\nghostd-norlimit = ["%s"]\n' "$wrapper" >"$CONF_DIR/containers.conf.d/50-ghostd-engine-norlimit.conf"
}

ensure_containers_run() {
  ensure_probe_image
  runs_container && return 0
  if grep -q 'rlimit' "$STATE_DIR/probe.log"; then
    install_norlimit_runtime
    runs_container && return 0
  fi
  log "podman cannot run a container here:"
  cat "$STATE_DIR/probe.log" >&2
  return 1
}

# Podman keeps CNI on a machine that used it before; CNI has no DNS by container name.
check_network_backend() {
  local backend; backend=$(podman info --format '{{.Host.NetworkBackend}}')
  [[ $backend == netavark ]] || log "warning: Podman's network backend is $backend, not netavark: containers will not find each other by name"
}

start_service() {
  mkdir -p "$(dirname "$SOCK")"
  rm -f "$SOCK"
  # setsid: the service outlives this script and the shell that evaluated its output. From /: conmon
  # inherits the service's working directory and fails every container start once that is deleted
  # (a removed checkout the script was run from).
  env -C / setsid podman system service --time=0 "unix://$SOCK" >"$STATE_DIR/service.log" 2>&1 </dev/null &
  echo $! >"$STATE_DIR/service.pid"
  local _
  for _ in $(seq 1 200); do answers "$SOCK" && return 0; sleep 0.1; done
  log "the engine did not answer at $SOCK within 20 s:"
  tail -n 20 "$STATE_DIR/service.log" >&2
  return 1
}

registry_answers() { curl -sf --max-time 5 "http://$REGISTRY/v2/" >/dev/null 2>&1; }

# Podman speaks HTTPS to a registry unless told otherwise (Docker speaks HTTP to 127.0.0.0/8 as it
# is). Prints `changed` when it wrote the drop-in, which a running service reads on SIGHUP.
allow_registry_http() {
  command -v podman >/dev/null || return 0
  local want
  want=$(printf '%s\n' "# Written by ghostd's scripts/container-engine.sh: its test registry speaks plain HTTP on loopback." \
    '[[registry]]' "location = \"$REGISTRY\"" 'insecure = true' '' '[[registry]]' "location = \"localhost:${REGISTRY##*:}\"" 'insecure = true')
  [[ -f $REGISTRY_DROP_IN && $(cat "$REGISTRY_DROP_IN") == "$want" ]] && return 0
  mkdir -p "$(dirname "$REGISTRY_DROP_IN")"
  printf '%s\n' "$want" >"$REGISTRY_DROP_IN"
  echo changed
}

# Debian's package would start its own at boot, on every interface: this script runs it instead.
keep_package_registry_off() {
  update-rc.d docker-registry disable >/dev/null 2>&1 || true
  deb-systemd-helper disable docker-registry.service >/dev/null 2>&1 || true
}

start_registry() {
  mkdir -p "$REGISTRY_DIR/storage"
  cat >"$REGISTRY_DIR/config.yml" <<CONF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $REGISTRY_DIR/storage
  delete:
    enabled: true
http:
  addr: $REGISTRY
  secret: $(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
CONF
  env -C / setsid docker-registry serve "$REGISTRY_DIR/config.yml" >"$REGISTRY_DIR/registry.log" 2>&1 </dev/null &
  local pid=$! _
  echo "$pid" >"$REGISTRY_DIR/registry.pid"
  for _ in $(seq 1 100); do
    registry_answers && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  log "the registry did not answer at $REGISTRY:"
  tail -n 5 "$REGISTRY_DIR/registry.log" >&2
  return 1
}

# What the engine answers when asked to pull an image the registry lacks.
pull_probe() {
  local host=$1 query="images/create?fromImage=$REGISTRY/ghostd-registry-probe&tag=absent"
  case $host in
    unix://*) curl -s --max-time 20 --unix-socket "${host#unix://}" -X POST "http://engine/$query" ;;
    tcp://*) curl -s --max-time 20 -X POST "http://${host#tcp://}/$query" ;;
    *) echo "manifest unknown (not checked: curl cannot reach $host)" ;;
  esac
}

# "manifest unknown" means the engine reached the registry over HTTP. A service told to reload
# may take a moment to; any other answer is the reason it cannot pull from it.
engine_reaches_registry() {
  local host=$1 answer="" _
  for _ in $(seq 1 20); do
    answer=$(pull_probe "$host" || true)
    grep -Eqi 'manifest unknown|name unknown' <<<"$answer" && return 0
    grep -q 'HTTPS client' <<<"$answer" || break
    sleep 0.1
  done
  log "the engine at $host cannot pull from $REGISTRY: ${answer:0:300}"
  grep -q 'HTTPS client' <<<"$answer" && log "restart it (or send Podman's service SIGHUP) so that it reads $REGISTRY_DROP_IN"
  return 1
}

# A Podman service reads its registries configuration again on SIGHUP; only this script's own is told.
reload_own_service() {
  local pid
  [[ $1 == "unix://$SOCK" && -f $STATE_DIR/service.pid ]] || return 0
  pid=$(cat "$STATE_DIR/service.pid")
  kill -0 "$pid" 2>/dev/null && kill -HUP "$pid"
  return 0
}

# The tests' registry, reachable from the engine at $1; it fails, saying why, without one.
set_up_registry() {
  local host=$1
  if ! registry_answers; then
    [[ $(id -u) -eq 0 ]] || { log "no registry answers at $REGISTRY, and starting one needs root"; return 1; }
    mkdir -p "$REGISTRY_DIR"
    if ! dpkg -s docker-registry >/dev/null 2>&1; then
      install_packages docker-registry || return 1
      keep_package_registry_off
    fi
    start_registry || return 1
  fi
  if [[ $(id -u) -eq 0 && $(allow_registry_http) == changed ]]; then reload_own_service "$host"; fi
  engine_reaches_registry "$host"
}

# Debian's Podman, set up and served on $SOCK.
set_up_engine() {
  [[ $(id -u) -eq 0 ]] || { log "no engine answers, and setting one up needs root"; return 1; }
  mkdir -p "$STATE_DIR"
  local started=$SECONDS had_registry=""
  dpkg -s docker-registry >/dev/null 2>&1 && had_registry=1
  install_packages "${ENGINE_PACKAGES[@]}"
  [[ -n $had_registry ]] || keep_package_registry_off
  configure_storage
  # Before the service starts, so that it reads it.
  allow_registry_http >/dev/null
  ensure_containers_run
  check_network_backend
  start_service
  log "engine ready at unix://$SOCK ($((SECONDS - started)) s; log: $STATE_DIR/service.log)"
}

up() {
  local host
  if host=$(existing_engine); then
    log "using the engine at $host"
  else
    set_up_engine
    host=unix://$SOCK
  fi
  echo "export DOCKER_HOST=$host"
  local started=$SECONDS
  if set_up_registry "$host"; then
    log "registry ready at $REGISTRY ($((SECONDS - started)) s; log: $REGISTRY_DIR/registry.log)"
    echo "export GHOSTD_TEST_REGISTRY=$REGISTRY"
  else
    log "no registry for the tests: those that pull from one will say so"
  fi
}

# Stops what a pid file names; false when there is none.
stop_started() {
  [[ -f $1 ]] || return 1
  kill "$(cat "$1")" 2>/dev/null || true
  rm -f "$1"
}

down() {
  if stop_started "$STATE_DIR/service.pid"; then rm -f "$SOCK"; else log "no service of this script is running"; fi
  stop_started "$REGISTRY_DIR/registry.pid" || log "no registry of this script is running"
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
