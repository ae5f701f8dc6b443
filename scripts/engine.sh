#!/usr/bin/env bash
# Brings up a real Docker Engine for bkrun on a Debian 12 (bookworm) amd64 machine where we are
# root, with no Docker Hub and no systemd: dockerd with the containerd image store and buildx,
# local registries, arm64 emulation through QEMU, and multi-arch base images made locally.
#
#   scripts/engine.sh up       install what is missing, start everything, print the status
#   scripts/engine.sh down     stop what `up` started (pid files); safe to repeat
#   scripts/engine.sh status   one line per component; exit 0 only when all are up
#
# See docs/engine.md for ports, environment variables, timings and troubleshooting.
set -Eeuo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/oci.sh
. "$SCRIPT_DIR/lib/oci.sh"

STATE_DIR=${BKRUN_ENGINE_DIR:-/var/lib/bkrun-engine}
RUN_DIR=$STATE_DIR/run
LOG_DIR=$STATE_DIR/logs
REG_DIR=$STATE_DIR/registry
ROOTFS_DIR=$STATE_DIR/rootfs
WANT_DEBIAN=${BKRUN_ENGINE_DEBIAN:-1}
REG_USER=bkrun
REG_PASSWORD=${BKRUN_TEST_REGISTRY_PASSWORD:-bkrun-test-password}
DOCKERD_TIMEOUT=${BKRUN_ENGINE_TIMEOUT:-90}

MAIN_REGISTRY=127.0.0.1:5000
BUSYBOX_REPO=base/busybox
BUSYBOX_TAG=latest
DEBIAN_REPO=base/debian
DEBIAN_TAG=bookworm
ARCHES=(amd64 arm64)

# Registries: NAME:HOST:PORT:SCHEME. To add one, add a row and a registry_config_NAME function
# (and, if it needs files such as certificates, a registry_prepare_NAME function).
REGISTRIES=(
  main:127.0.0.1:5000:http
  readonly:127.0.0.1:5001:http
  auth:127.0.0.1:5443:https
)
AUTH_CERTS_D=/etc/docker/certs.d/127.0.0.1:5443

TRIXIE_PKGS=(docker.io docker-cli docker-buildx)
BOOKWORM_PKGS=(docker-registry qemu-user-static busybox-static debootstrap iptables
  apache2-utils openssl ca-certificates git curl jq skopeo)

DAEMON_JSON=/etc/docker/daemon.json
BINFMT_DIR=/proc/sys/fs/binfmt_misc
QEMU_AARCH64_CONF=/usr/lib/binfmt.d/qemu-aarch64.conf
POLICY_RC_D=/usr/sbin/policy-rc.d
HOST_CA_DIR=/usr/local/share/ca-certificates

export DEBIAN_FRONTEND=noninteractive
# CI may run us with a minimal PATH; dockerd, debootstrap and chroot live in sbin.
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

# ---------------------------------------------------------------------------------- utilities

T0=$SECONDS
CREATED_POLICY_RC_D=0
ERR_REPORTED=0
TIMINGS=()

log() { printf '[engine %4ds] %s\n' "$((SECONDS - T0))" "$*" >&2; }
die() {
  printf 'engine.sh: error: %s\n' "$*" >&2
  ERR_REPORTED=1
  exit 1
}

on_err() {
  local rc=$?
  # errtrace fires once per function level; report only the innermost failure.
  if ((!ERR_REPORTED)); then
    ERR_REPORTED=1
    printf 'engine.sh: error: command failed (exit %d) at line %d: %s\n' \
      "$rc" "${BASH_LINENO[0]}" "$BASH_COMMAND" >&2
  fi
}

on_exit() {
  local rc=$? jobs_left pid
  unblock_service_starts
  jobs_left=$(jobs -pr)
  # Background debootstraps must not outlive a failed or interrupted run (daemons are
  # disowned, so they are not in this list).
  if [[ -n $jobs_left ]]; then
    for pid in $jobs_left; do pkill -TERM -P "$pid" 2>/dev/null || true; done
    # shellcheck disable=SC2086 # one pid per word
    kill $jobs_left 2>/dev/null || true
  fi
  exit "$rc"
}
trap on_err ERR
trap on_exit EXIT

# Runs a step and remembers how long it took, for the closing summary.
timed() {
  local name=$1 start=$SECONDS
  shift
  "$@"
  TIMINGS+=("$name=$((SECONDS - start))s")
}

# Writes stdin to FILE only when the content differs; sets CHANGED=1 if it wrote. Feed it with
# a redirection, not a pipe: in a pipeline it runs in a subshell and CHANGED is lost.
CHANGED=0
write_if_changed() {
  local file=$1 tmp
  # A dot file: apt ignores it in sources.list.d and preferences.d while it exists.
  tmp=$(mktemp "$(dirname "$file")/.$(basename "$file").XXXXXX")
  cat >"$tmp"
  if [[ -f $file ]] && cmp -s "$tmp" "$file"; then
    rm -f "$tmp"
    CHANGED=0
  else
    chmod 644 "$tmp"
    mv -f "$tmp" "$file"
    CHANGED=1
  fi
}

require_root() {
  [[ $(id -u) == 0 ]] || die "must run as root (installs packages, starts dockerd)"
}

# Unmounts whatever is mounted below DIR (a failed debootstrap can leave proc/sys mounted),
# then removes it without crossing into other file systems.
safe_rm_tree() {
  local dir=$1 m
  [[ -e $dir ]] || return 0
  dir=$(realpath "$dir")
  awk -v d="$dir" '$2 == d || index($2, d "/") == 1 {print $2}' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m" || true; done
  rm -rf --one-file-system "$dir"
}

# ------------------------------------------------------------------------------- pid tracking

pidfile() { echo "$RUN_DIR/$1.pid"; }

# Prints the pid of daemon NAME if its pid file names a live process whose command line
# contains MATCH (guards against a recycled pid).
daemon_pid() {
  local name=$1 match=$2 file pid
  file=$(pidfile "$name")
  [[ -r $file ]] || return 1
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$match" || return 1
  echo "$pid"
}

# Starts CMD... in its own session (so it outlives this script and CI's process group), with
# output appended to LOG_DIR/NAME.log. The child writes its own pid before exec'ing.
start_daemon() {
  local name=$1 log file i
  shift
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  log=$LOG_DIR/$name.log
  file=$(pidfile "$name")
  rm -f "$file"
  printf '\n=== %s: engine.sh starts %s\n' "$(date -u +%FT%TZ)" "$*" >>"$log"
  # shellcheck disable=SC2016 # $$ and $@ belong to the inner shell
  # fd 9 is the state lock: a daemon that inherited it would hold the lock for its lifetime.
  setsid bash -c 'echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' "$file" "$@" \
    </dev/null >>"$log" 2>&1 9>&- &
  disown $!
  for ((i = 0; i < 100; i++)); do
    [[ -s $file ]] && return 0
    sleep 0.05
  done
  die "$name did not start (log: $log)"
}

# stop_daemon NAME MATCH [NAME MATCH]...: TERM to all first, then wait, so that several
# daemons stop in the time of the slowest one.
stop_daemon() {
  local pids=() names=() pid i j
  while (($# >= 2)); do
    if pid=$(daemon_pid "$1" "$2"); then
      log "stopping $1 (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
      names+=("$1")
    fi
    rm -f "$(pidfile "$1")"
    shift 2
  done
  for i in "${!pids[@]}"; do
    for ((j = 0; j < 300; j++)); do
      [[ -d /proc/${pids[$i]} ]] || break
      sleep 0.1
    done
    if [[ -d /proc/${pids[$i]} ]]; then
      log "${names[$i]} did not stop in 30 s; killing it"
      kill -KILL "${pids[$i]}" 2>/dev/null || true
    fi
  done
}

log_tail() {
  if [[ -r $1 ]]; then tail -n "${2:-20}" "$1" | sed 's/^/    | /' >&2; fi
}

# ----------------------------------------------------------------------------------- packages

# The Debian mirror the host uses for SUITE, read from its deb822 sources (then the one-line
# sources.list); Debian's own name when neither says.
host_mirror() {
  local suite=$1 url=''
  local sources=/etc/apt/sources.list.d/debian.sources list=/etc/apt/sources.list
  if [[ -n ${BKRUN_DEBIAN_MIRROR:-} && $suite != *-security ]]; then
    echo "$BKRUN_DEBIAN_MIRROR"
    return
  fi
  if [[ -r $sources ]]; then
    url=$(awk -v s="$suite" 'BEGIN {RS = ""; FS = "\n"}
      { uris = ""; ok = 0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { split($i, a, " "); uris = a[2] }
          if ($i ~ /^Suites:/) {
            n = split($i, b, " ")
            for (j = 2; j <= n; j++) if (b[j] == s) ok = 1
          }
        }
        if (ok && uris != "") { print uris; exit } }' "$sources")
  fi
  if [[ -z $url && -r $list ]]; then
    url=$(awk -v s="$suite" '$1 == "deb" {
        for (i = 2; i < NF; i++)
          if ($i ~ /^[a-z+]+:\/\// && $(i + 1) == s) { print $i; exit } }' "$list")
  fi
  if [[ -z $url ]]; then
    case $suite in
      *-security) url=http://deb.debian.org/debian-security ;;
      *) url=http://deb.debian.org/debian ;;
    esac
  fi
  echo "$url"
}

pkg_installed() {
  [[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null || true) == ii* ]]
}

# Bookworm's docker.io is 20.10: no containerd image store, so no registry cache export with
# the docker driver. Trixie's (26.x) is needed.
docker_io_recent() {
  local v
  v=$(dpkg-query -W -f='${Version}' docker.io 2>/dev/null) || return 1
  pkg_installed docker.io && dpkg --compare-versions "$v" ge 25
}

block_service_starts() {
  if [[ ! -e $POLICY_RC_D ]]; then
    printf '#!/bin/sh\n# engine.sh: package scripts must not start daemons; we do.\nexit 101\n' \
      >"$POLICY_RC_D"
    chmod 755 "$POLICY_RC_D"
    CREATED_POLICY_RC_D=1
  fi
}

unblock_service_starts() {
  if ((CREATED_POLICY_RC_D)); then
    rm -f "$POLICY_RC_D"
    CREATED_POLICY_RC_D=0
  fi
}

setup_trixie_source() {
  local mirror
  mirror=$(host_mirror bookworm)
  mirror=${mirror%/}
  write_if_changed /etc/apt/sources.list.d/trixie.sources <<EOF
# Added by bkrun scripts/engine.sh for docker.io/docker-buildx from trixie (pinned low below).
Types: deb
URIs: $mirror
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  # Priority 100: nothing upgrades to trixie unless asked for by name (pkg/trixie).
  write_if_changed /etc/apt/preferences.d/trixie <<EOF
Package: *
Pin: release n=trixie
Pin-Priority: 100
EOF
}

install_packages() {
  local missing=() p
  for p in "${BOOKWORM_PKGS[@]}"; do pkg_installed "$p" || missing+=("$p"); done
  local need_trixie=0
  for p in docker-cli docker-buildx; do pkg_installed "$p" || need_trixie=1; done
  docker_io_recent || need_trixie=1
  if ((${#missing[@]} == 0 && need_trixie == 0)); then
    log "packages: all present"
    return
  fi
  ((need_trixie)) && missing+=("${TRIXIE_PKGS[@]/%//trixie}")
  log "packages: installing ${missing[*]}"
  setup_trixie_source
  apt-get update -q >"$LOG_DIR/apt.log" 2>&1 ||
    { log_tail "$LOG_DIR/apt.log"; die "apt-get update failed (log: $LOG_DIR/apt.log)"; }
  block_service_starts
  if ! apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}" >>"$LOG_DIR/apt.log" 2>&1; then
    log_tail "$LOG_DIR/apt.log"
    die "apt-get install failed (log: $LOG_DIR/apt.log)"
  fi
  unblock_service_starts
  docker_io_recent || die "docker.io from trixie did not install (log: $LOG_DIR/apt.log)"
}

# --------------------------------------------------------------------------------- binfmt/qemu

# The aarch64 handler must be registered before dockerd starts: its BuildKit works out the
# platforms it can run when it starts.
ensure_binfmt() {
  if [[ ! -e $BINFMT_DIR/register ]]; then
    mount -t binfmt_misc binfmt_misc "$BINFMT_DIR" ||
      die "cannot mount binfmt_misc on $BINFMT_DIR (arm64 emulation needs it)"
  fi
  [[ -r $QEMU_AARCH64_CONF ]] || die "$QEMU_AARCH64_CONF missing (is qemu-user-static installed?)"
  local line interp entry=$BINFMT_DIR/qemu-aarch64
  line=$(grep -v '^[#;]' "$QEMU_AARCH64_CONF" | grep -m1 .)
  interp=$(cut -d: -f7 <<<"$line")
  if [[ -e $entry ]]; then
    # Someone else's registration may point at an interpreter that no longer exists.
    if grep -qx "interpreter $interp" "$entry" && [[ -x $interp ]]; then
      grep -qx enabled "$entry" || echo 1 >"$entry"
      return
    fi
    echo -1 >"$entry"
  fi
  if [[ -x /lib/systemd/systemd-binfmt ]]; then
    /lib/systemd/systemd-binfmt "$QEMU_AARCH64_CONF"
  else
    printf '%s' "$line" >"$BINFMT_DIR/register"
  fi
  if [[ ! -e $entry ]] || ! grep -qx enabled "$entry"; then
    die "registering $QEMU_AARCH64_CONF failed"
  fi
  log "binfmt: registered qemu-aarch64 ($interp)"
}

binfmt_ok() {
  local entry=$BINFMT_DIR/qemu-aarch64 interp
  [[ -r $entry ]] && grep -qx enabled "$entry" || return 1
  interp=$(awk '$1 == "interpreter" {print $2}' "$entry")
  [[ -x $interp ]] && echo "$interp"
}

# ------------------------------------------------------------------------------------- dockerd

configure_daemon_json() {
  mkdir -p /etc/docker
  DAEMON_JSON_CHANGED=0
  if [[ -s $DAEMON_JSON ]]; then
    jq -e . "$DAEMON_JSON" >/dev/null 2>&1 || die "$DAEMON_JSON is not valid JSON; fix it first"
    if jq -e '.features["containerd-snapshotter"] == true' "$DAEMON_JSON" >/dev/null; then
      return
    fi
    # Merge: keep whatever else the file configures.
    write_if_changed "$DAEMON_JSON" \
      < <(jq '.features["containerd-snapshotter"] = true' "$DAEMON_JSON")
  else
    write_if_changed "$DAEMON_JSON" < <(jq -n '{features: {"containerd-snapshotter": true}}')
  fi
  DAEMON_JSON_CHANGED=1
  log "dockerd: enabled the containerd image store in $DAEMON_JSON"
}

docker_answers() { timeout 10 docker info >/dev/null 2>&1; }

containerd_store_on() {
  timeout 10 docker info -f '{{json .DriverStatus}}' 2>/dev/null |
    grep -q 'io.containerd.snapshotter'
}

builder_platforms() {
  timeout 20 docker buildx inspect 2>/dev/null | awk -F': *' '$1 == "Platforms" {print $2; exit}'
}

wait_for_docker() {
  local deadline=$((SECONDS + DOCKERD_TIMEOUT))
  until docker_answers; do
    if ! daemon_pid dockerd dockerd >/dev/null; then
      log_tail "$LOG_DIR/dockerd.log" 30
      die "dockerd exited during start-up (log: $LOG_DIR/dockerd.log)"
    fi
    if ((SECONDS > deadline)); then
      log_tail "$LOG_DIR/dockerd.log" 30
      die "docker info gave no answer after ${DOCKERD_TIMEOUT}s (log: $LOG_DIR/dockerd.log)"
    fi
    sleep 0.5
  done
}

# After a crash or kill -9: dockerd refuses to start while /var/run/docker.pid names a live
# process, and pids are reused quickly on a busy machine.
clear_stale_docker_files() {
  local pid
  if [[ -r /var/run/docker.pid ]]; then
    pid=$(</var/run/docker.pid)
    if [[ ! $pid =~ ^[0-9]+$ || ! -r /proc/$pid/comm || "$(</proc/"$pid"/comm)" != dockerd ]]; then
      rm -f /var/run/docker.pid
    fi
  fi
  [[ -S /var/run/docker.sock ]] && rm -f /var/run/docker.sock
  return 0
}

start_dockerd() {
  configure_daemon_json
  local ours=0
  daemon_pid dockerd dockerd >/dev/null && ours=1
  if ((ours && DAEMON_JSON_CHANGED)); then
    stop_daemon dockerd dockerd
    ours=0
  fi
  if docker_answers; then
    if ((!ours)); then
      containerd_store_on || die "a dockerd not started by engine.sh is running without the" \
        "containerd image store; stop it or enable features.containerd-snapshotter"
    fi
  else
    ((ours)) && stop_daemon dockerd dockerd # alive but not answering: start afresh
    clear_stale_docker_files
    log "dockerd: starting"
    start_daemon dockerd dockerd
    wait_for_docker
    log "dockerd: answering"
  fi
  containerd_store_on || die "dockerd runs without the containerd image store"
  timeout 20 docker buildx version >/dev/null 2>&1 ||
    die "docker buildx does not work (plugin expected in /usr/libexec/docker/cli-plugins)"
  # A dockerd started before the qemu handler was registered never lists arm64.
  if [[ $(builder_platforms) != *linux/arm64* ]]; then
    daemon_pid dockerd dockerd >/dev/null ||
      die "the builder lacks linux/arm64 and dockerd was not started by engine.sh"
    log "dockerd: builder lacks linux/arm64; restarting dockerd"
    stop_daemon dockerd dockerd
    start_daemon dockerd dockerd
    wait_for_docker
    [[ $(builder_platforms) == *linux/arm64* ]] || die "the builder does not list linux/arm64"
  fi
}

# ---------------------------------------------------------------------------------- registries

registry_fields() { # NAME -> "HOST PORT SCHEME"
  local row n h p s
  for row in "${REGISTRIES[@]}"; do
    IFS=: read -r n h p s <<<"$row"
    [[ $n == "$1" ]] && { echo "$h $p $s"; return; }
  done
  die "unknown registry $1"
}

registry_common_yaml() { # NAME
  local host port scheme
  read -r host port scheme <<<"$(registry_fields "$1")"
  cat <<EOF
version: 0.1
log:
  level: info
http:
  addr: $host:$port
  headers:
    X-Content-Type-Options: [nosniff]
EOF
}

registry_config_main() {
  registry_common_yaml main
  cat <<EOF
storage:
  filesystem:
    rootdirectory: $REG_DIR/data
  # Retention tests delete manifests and tags.
  delete:
    enabled: true
EOF
}

# Shares main's storage: what is pushed to :5000 can be pulled from :5001, pushes fail there.
registry_config_readonly() {
  registry_common_yaml readonly
  cat <<EOF
storage:
  filesystem:
    rootdirectory: $REG_DIR/data
  maintenance:
    # Purging uploads is main's job; this instance must never write to the shared storage.
    uploadpurging:
      enabled: false
    readonly:
      enabled: true
EOF
}

registry_config_auth() {
  registry_common_yaml auth
  cat <<EOF
  tls:
    certificate: $REG_DIR/auth/server.crt
    key: $REG_DIR/auth/server.key
auth:
  htpasswd:
    realm: bkrun-test-registry
    path: $REG_DIR/auth/htpasswd
storage:
  filesystem:
    rootdirectory: $REG_DIR/data-auth
  delete:
    enabled: true
EOF
}

# Self-signed CA and a server certificate for 127.0.0.1; dockerd (and its BuildKit) trust the
# CA through certs.d. htpasswd is rewritten when BKRUN_TEST_REGISTRY_PASSWORD changes.
registry_prepare_auth() {
  local dir=$REG_DIR/auth
  mkdir -p "$dir"
  REGISTRY_PREPARE_CHANGED=0
  if [[ ! -s $dir/ca.crt || ! -s $dir/server.crt || ! -s $dir/server.key ]]; then
    log "registry auth: making a self-signed CA and server certificate"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj '/CN=bkrun test registry CA' \
      -keyout "$dir/ca.key" -out "$dir/ca.crt" \
      -addext 'basicConstraints=critical,CA:TRUE' \
      -addext 'keyUsage=critical,keyCertSign,cRLSign' >/dev/null 2>&1
    openssl req -new -newkey rsa:2048 -nodes -subj '/CN=127.0.0.1' \
      -keyout "$dir/server.key" -out "$dir/server.csr" >/dev/null 2>&1
    printf '%s\n' 'subjectAltName=IP:127.0.0.1,DNS:localhost' \
      'basicConstraints=CA:FALSE' 'extendedKeyUsage=serverAuth' >"$dir/server.ext"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
      -CAcreateserial -days 3650 -extfile "$dir/server.ext" -out "$dir/server.crt" \
      >/dev/null 2>&1
    chmod 600 "$dir/ca.key" "$dir/server.key"
    REGISTRY_PREPARE_CHANGED=1
  fi
  mkdir -p "$AUTH_CERTS_D"
  cmp -s "$dir/ca.crt" "$AUTH_CERTS_D/ca.crt" || cp "$dir/ca.crt" "$AUTH_CERTS_D/ca.crt"
  if ! htpasswd -vb "$dir/htpasswd" "$REG_USER" "$REG_PASSWORD" >/dev/null 2>&1; then
    # distribution 2.8 reads the htpasswd file once, at start-up.
    htpasswd -Bbc "$dir/htpasswd" "$REG_USER" "$REG_PASSWORD" >/dev/null 2>&1
    REGISTRY_PREPARE_CHANGED=1
  fi
}

# Prints the HTTP status of GET /v2/ (000 when nothing answers).
registry_probe() {
  local name=$1 host port scheme
  read -r host port scheme <<<"$(registry_fields "$name")"
  local args=(-s -o /dev/null -w '%{http_code}' --max-time 5)
  if [[ $scheme == https ]]; then
    args+=(--cacert "$REG_DIR/auth/ca.crt" -u "$REG_USER:$REG_PASSWORD")
  fi
  curl "${args[@]}" "$scheme://$host:$port/v2/" 2>/dev/null || true
}

start_registry() {
  local name=$1 config=$REG_DIR/$1.yml restart=0 i code
  mkdir -p "$REG_DIR"
  REGISTRY_PREPARE_CHANGED=0
  if declare -F "registry_prepare_$name" >/dev/null; then "registry_prepare_$name"; fi
  ((REGISTRY_PREPARE_CHANGED)) && restart=1
  write_if_changed "$config" < <("registry_config_$name")
  ((CHANGED)) && restart=1
  if daemon_pid "registry-$name" "$config" >/dev/null; then
    ((restart)) || return 0
    stop_daemon "registry-$name" "$config"
  fi
  start_daemon "registry-$name" docker-registry serve "$config"
  for ((i = 0; i < 100; i++)); do
    code=$(registry_probe "$name")
    [[ $code == 200 ]] && { log "registry $name: up"; return 0; }
    daemon_pid "registry-$name" "$config" >/dev/null || break
    sleep 0.1
  done
  log_tail "$LOG_DIR/registry-$name.log"
  die "registry $name did not come up (last HTTP status $code; log: $LOG_DIR/registry-$name.log)"
}

start_registries() {
  local row
  for row in "${REGISTRIES[@]}"; do start_registry "${row%%:*}"; done
}

# --------------------------------------------------------------------------------- base images

# Downloads PKG's .deb for each arch into DIR with a private apt state, so the host's apt
# keeps a single architecture and its lists are untouched.
download_debs() {
  local dir=$1 pkg=$2 arch
  local apt_dir=$dir/apt mirror
  mirror=$(host_mirror bookworm)
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror%/} bookworm main" \
    >"$apt_dir/sources.list"
  local opts=(-q -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
    -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=$apt_dir/none"
    -o "APT::Architectures=amd64,arm64" -o APT::Sandbox::User=root)
  apt-get "${opts[@]}" update >>"$LOG_DIR/apt.log" 2>&1 ||
    die "apt-get update for the busybox debs failed (log: $LOG_DIR/apt.log)"
  for arch in "${ARCHES[@]}"; do
    (cd "$dir" && apt-get "${opts[@]}" download "$pkg:$arch") >>"$LOG_DIR/apt.log" 2>&1 ||
      die "cannot download $pkg:$arch (log: $LOG_DIR/apt.log)"
  done
}

# Busybox rootfs tarballs, byte-for-byte reproducible (sorted, fixed mtime and owners).
build_busybox_tars() {
  local work=$ROOTFS_DIR/work-busybox arch applets root deb
  safe_rm_tree "$work"
  mkdir -p "$work"
  log "busybox: downloading busybox-static for ${ARCHES[*]}"
  download_debs "$work" busybox-static
  for arch in "${ARCHES[@]}"; do
    deb=$(ls "$work"/busybox-static_*_"$arch".deb)
    dpkg-deb -x "$deb" "$work/x-$arch"
  done
  # The applet list comes from the amd64 binary (both are the same build).
  applets=$("$work/x-amd64/bin/busybox" --list-full 2>/dev/null) ||
    applets=$("$work/x-amd64/bin/busybox" --list | sed 's|^|bin/|')
  for arch in "${ARCHES[@]}"; do
    root=$work/root-$arch
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,var/tmp}
    install -m 755 "$work/x-$arch/bin/busybox" "$root/bin/busybox"
    while read -r applet; do
      [[ -n $applet && $applet != bin/busybox ]] || continue
      mkdir -p "$root/$(dirname "$applet")"
      ln -sfn /bin/busybox "$root/$applet"
    done <<<"$applets"
    ln -sfn busybox "$root/bin/sh"
    printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
      'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$root/etc/passwd"
    printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$root/etc/group"
    find "$root" -type d -exec chmod 755 {} +
    chmod 1777 "$root/tmp" "$root/var/tmp"
    chmod 700 "$root/root"
    chmod 644 "$root/etc/passwd" "$root/etc/group"
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
      -C "$root" -cf "$ROOTFS_DIR/busybox-$arch.tar.tmp" .
    mv -f "$ROOTFS_DIR/busybox-$arch.tar.tmp" "$ROOTFS_DIR/busybox-$arch.tar"
  done
  safe_rm_tree "$work"
}

# Image hygiene after debootstrap: the host's proxy CA in the trust store (builds reach PyPI
# and HTTPS mirrors through it), apt sources with updates and security, no host leftovers.
finish_debian_rootfs() {
  local root=$1 crt mirror security
  rm -f "$root/etc/apt/apt.conf.d/docker-clean"
  mirror=$(host_mirror bookworm)
  security=$(host_mirror bookworm-security)
  rm -f "$root/etc/apt/sources.list"
  mkdir -p "$root/etc/apt/sources.list.d"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: ${mirror%/}
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${security%/}
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  mkdir -p "$root/usr/local/share/ca-certificates"
  for crt in "$HOST_CA_DIR"/*.crt; do
    [[ -e $crt ]] && install -m 644 "$crt" "$root/usr/local/share/ca-certificates/"
  done
  if [[ -x $root/usr/sbin/update-ca-certificates ]]; then
    chroot "$root" /usr/sbin/update-ca-certificates
  elif [[ -f $root/etc/ssl/certs/ca-certificates.crt ]]; then
    for crt in "$root"/usr/local/share/ca-certificates/*.crt; do
      [[ -e $crt ]] && cat "$crt" >>"$root/etc/ssl/certs/ca-certificates.crt"
    done
  fi
  : >"$root/etc/resolv.conf"
  echo localhost >"$root/etc/hostname"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin \
    "$root"/var/cache/apt/archives/*.deb "$root/debootstrap"
  find "$root/var/log" -type f -exec truncate -s 0 {} +
}

# One platform; runs in the background, output goes to LOG_DIR/debootstrap-ARCH.log.
debootstrap_one() {
  local arch=$1 root=$ROOTFS_DIR/work-debian-$1 tar=$ROOTFS_DIR/debian-bookworm-$1.tar
  local mirror
  mirror=$(host_mirror bookworm)
  safe_rm_tree "$root"
  # With qemu's handler registered (flag F), debootstrap runs the arm64 second stage itself.
  debootstrap --variant=minbase --include=ca-certificates --arch="$arch" \
    bookworm "$root" "${mirror%/}"
  finish_debian_rootfs "$root"
  # /dev, /proc and /sys are provided by the container runtime.
  tar --numeric-owner -C "$root" --exclude=./dev/* --exclude=./proc/* --exclude=./sys/* \
    -cf "$tar.tmp" .
  mv -f "$tar.tmp" "$tar"
  safe_rm_tree "$root"
}

build_debian_tars() {
  local arch pids=() names=() i rc failed=()
  for arch in "${ARCHES[@]}"; do
    [[ -s $ROOTFS_DIR/debian-bookworm-$arch.tar ]] && continue
    log "debian: debootstrap bookworm for $arch (log: $LOG_DIR/debootstrap-$arch.log)"
    debootstrap_one "$arch" >"$LOG_DIR/debootstrap-$arch.log" 2>&1 &
    pids+=("$!")
    names+=("$arch")
  done
  for i in "${!pids[@]}"; do
    rc=0
    wait "${pids[$i]}" || rc=$?
    if ((rc)); then
      failed+=("${names[$i]}")
      log_tail "$LOG_DIR/debootstrap-${names[$i]}.log"
    fi
  done
  ((${#failed[@]} == 0)) ||
    die "debootstrap failed for ${failed[*]} (logs: $LOG_DIR/debootstrap-ARCH.log)"
}

# Makes the multi-arch index from kept tarballs PREFIX-ARCH.tar and pushes it as REPO:TAG.
push_image() {
  local prefix=$1 repo=$2 tag=$3 created=$4 cmd=$5 layout arch entries=() index
  layout=$STATE_DIR/oci/${repo//\//_}
  safe_rm_tree "$layout"
  for arch in "${ARCHES[@]}"; do
    entries+=("$(oci_layout_image "$layout" "$ROOTFS_DIR/$prefix-$arch.tar" "$arch" \
      "$created" "$cmd") $arch")
  done
  read -r index _ < <(oci_layout_index "$layout" "${entries[@]}")
  oci_push "$layout" "$MAIN_REGISTRY" "$repo" "$tag" "$index"
  safe_rm_tree "$layout"
  log "pushed $MAIN_REGISTRY/$repo:$tag ($index)"
}

ensure_busybox_image() {
  if oci_remote_digest "$MAIN_REGISTRY" "$BUSYBOX_REPO" "$BUSYBOX_TAG" >/dev/null; then
    return
  fi
  local arch need_build=0
  for arch in "${ARCHES[@]}"; do [[ -s $ROOTFS_DIR/busybox-$arch.tar ]] || need_build=1; done
  mkdir -p "$ROOTFS_DIR"
  ((need_build)) && build_busybox_tars
  # The tarballs are reproducible, so a fixed creation time makes the digest the same on every
  # machine.
  push_image busybox "$BUSYBOX_REPO" "$BUSYBOX_TAG" 1970-01-01T00:00:00Z '["sh"]'
}

ensure_debian_image() {
  if [[ $WANT_DEBIAN == 0 ]]; then
    log "debian: skipped (BKRUN_ENGINE_DEBIAN=0)"
    return
  fi
  if oci_remote_digest "$MAIN_REGISTRY" "$DEBIAN_REPO" "$DEBIAN_TAG" >/dev/null; then
    return
  fi
  mkdir -p "$ROOTFS_DIR"
  build_debian_tars
  # Creation time = when the amd64 tarball was made: stable while the tarballs are kept.
  local created
  created=$(date -u -d "@$(stat -c %Y "$ROOTFS_DIR/debian-bookworm-amd64.tar")" +%FT%TZ)
  push_image debian-bookworm "$DEBIAN_REPO" "$DEBIAN_TAG" "$created" '["bash"]'
}

# -------------------------------------------------------------------------------------- status

STATUS_FAILED=0
status_line() { # NAME OK(0/1) DETAIL
  local state=up
  if [[ $2 != 1 ]]; then
    state=DOWN
    STATUS_FAILED=1
  fi
  printf '%-18s %-5s %s\n' "$1" "$state" "$3"
}

print_status() {
  local pid detail ok row name host port scheme code digest interp platforms
  STATUS_FAILED=0

  ok=0
  detail='docker info does not answer'
  if docker_answers; then
    detail="server $(timeout 10 docker version -f '{{.Server.Version}}' 2>/dev/null)"
    if containerd_store_on; then
      ok=1
      detail+=', containerd image store'
    else
      detail+=', containerd image store OFF'
    fi
    if pid=$(daemon_pid dockerd dockerd); then
      detail+=", pid $pid"
    else
      detail+=', not started by engine.sh'
    fi
  fi
  status_line dockerd "$ok" "$detail (log: $LOG_DIR/dockerd.log)"

  ok=0
  detail='docker buildx version fails'
  if timeout 20 docker buildx version >/dev/null 2>&1; then
    platforms=$(builder_platforms || true)
    detail="$(timeout 20 docker buildx version | awk '{print $2}'), platforms: ${platforms:-?}"
    [[ $platforms == *linux/arm64* ]] && ok=1
  fi
  status_line buildx "$ok" "$detail"

  ok=0
  detail='qemu-aarch64 not registered'
  if interp=$(binfmt_ok); then
    ok=1
    detail="qemu-aarch64 -> $interp"
  fi
  status_line binfmt-arm64 "$ok" "$detail"

  for row in "${REGISTRIES[@]}"; do
    name=${row%%:*}
    read -r host port scheme <<<"$(registry_fields "$name")"
    code=$(registry_probe "$name")
    ok=0
    [[ $code == 200 ]] && ok=1
    detail="$scheme://$host:$port (HTTP $code"
    if pid=$(daemon_pid "registry-$name" "$REG_DIR/$name.yml"); then
      detail+=", pid $pid)"
    else
      detail+=', no engine.sh pid)'
    fi
    status_line "registry-$name" "$ok" "$detail"
  done

  ok=0
  digest=$(oci_remote_digest "$MAIN_REGISTRY" "$BUSYBOX_REPO" "$BUSYBOX_TAG") && ok=1
  status_line image-busybox "$ok" "$MAIN_REGISTRY/$BUSYBOX_REPO:$BUSYBOX_TAG ${digest:-missing}"

  if [[ $WANT_DEBIAN == 0 ]]; then
    printf '%-18s %-5s %s\n' image-debian skip 'BKRUN_ENGINE_DEBIAN=0'
  else
    ok=0
    digest=$(oci_remote_digest "$MAIN_REGISTRY" "$DEBIAN_REPO" "$DEBIAN_TAG") && ok=1
    status_line image-debian "$ok" "$MAIN_REGISTRY/$DEBIAN_REPO:$DEBIAN_TAG ${digest:-missing}"
  fi
  return "$STATUS_FAILED"
}

# ------------------------------------------------------------------------------------ commands

lock_state() {
  mkdir -p "$STATE_DIR" "$RUN_DIR" "$LOG_DIR"
  exec 9>"$STATE_DIR/.lock"
  flock -w 1800 9 || die "another engine.sh holds $STATE_DIR/.lock"
}

cmd_up() {
  require_root
  lock_state
  timed packages install_packages
  timed binfmt ensure_binfmt
  timed dockerd start_dockerd
  timed registries start_registries
  timed busybox ensure_busybox_image
  timed debian ensure_debian_image
  log "up in $((SECONDS - T0))s (${TIMINGS[*]})"
  print_status || die "some components are not up (see above)"
}

cmd_down() {
  require_root
  lock_state
  local row args=(dockerd dockerd)
  for row in "${REGISTRIES[@]}"; do
    args+=("registry-${row%%:*}" "$REG_DIR/${row%%:*}.yml")
  done
  stop_daemon "${args[@]}"
  log "down (binfmt registration, packages and $STATE_DIR are kept)"
}

main() {
  case ${1:-} in
    up) cmd_up ;;
    down) cmd_down ;;
    status) print_status || exit 1 ;;
    *)
      echo "usage: $0 up|down|status" >&2
      exit 2
      ;;
  esac
}

# Sourcing the file (for tests or by hand) defines the functions without running anything.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main "$@"
fi
