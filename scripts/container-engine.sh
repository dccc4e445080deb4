#!/usr/bin/env bash
# A Docker-Engine-API endpoint for ghostd's container runtime and its tests, on a Debian machine.
#
#   eval "$(scripts/container-engine.sh up)"    prints `export DOCKER_HOST=unix://...`
#   scripts/container-engine.sh down            stops the service this script started
#
# An engine that already answers (DOCKER_HOST, /var/run/docker.sock, Podman's root socket) is used
# as it is: nothing is installed or configured then. Otherwise, as root, it installs Debian's
# Podman with what the tests need of it (netavark and aardvark-dns, so containers find each other
# by name; busybox-static and mmdebstrap, which build the test images, as no registry is reachable)
# and serves Podman's API on its standard root socket, where ghostd looks even without DOCKER_HOST.
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

install_packages() {
  # netavark's bridge firewall needs iptables; catatonit is Podman's `init: true`.
  local wanted=(podman runc conmon netavark aardvark-dns iptables catatonit busybox-static mmdebstrap curl)
  local missing=() p
  for p in "${wanted[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  ((${#missing[@]})) || return 0
  log "installing ${missing[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

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
strip() { python3 -c 'import json, sys
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
  # setsid: the service outlives this script and the shell that evaluated its output.
  setsid podman system service --time=0 "unix://$SOCK" >"$STATE_DIR/service.log" 2>&1 </dev/null &
  echo $! >"$STATE_DIR/service.pid"
  local _
  for _ in $(seq 1 200); do answers "$SOCK" && return 0; sleep 0.1; done
  log "the engine did not answer at $SOCK within 20 s:"
  tail -n 20 "$STATE_DIR/service.log" >&2
  return 1
}

up() {
  local found
  if found=$(existing_engine); then
    log "using the engine at $found"
    echo "export DOCKER_HOST=$found"
    return 0
  fi
  [[ $(id -u) -eq 0 ]] || { log "no engine answers, and setting one up needs root"; return 1; }
  mkdir -p "$STATE_DIR"
  local started=$SECONDS
  install_packages
  configure_storage
  ensure_containers_run
  check_network_backend
  start_service
  log "engine ready at unix://$SOCK ($((SECONDS - started)) s; log: $STATE_DIR/service.log)"
  echo "export DOCKER_HOST=unix://$SOCK"
}

down() {
  [[ -f $STATE_DIR/service.pid ]] || { log "no service of this script is running"; return 0; }
  kill "$(cat "$STATE_DIR/service.pid")" 2>/dev/null || true
  rm -f "$STATE_DIR/service.pid" "$SOCK"
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
