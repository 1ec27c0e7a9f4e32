#!/usr/bin/env bash
# scripts/local_slurm.sh -- a real single-node Slurm cluster (Debian bookworm's slurm-wlm 22.05 +
# munge, slurmdbd + MariaDB for sacct, fake GPUs as GRES) on a root machine without systemd, for CI
# and for trying the toolkit's Slurm side on a laptop-sized VM. From the recipe in
# shared/slurm/README.md (pitfalls and timings there); tests/slurm/ runs against it.
#
#   sudo bash scripts/local_slurm.sh start    # install if needed, start (~15-35 s); healthy: left alone
#   sudo bash scripts/local_slurm.sh restart  # cancel every job, start again from clean state
#   bash scripts/local_slurm.sh status        # sinfo / node / daemons
#   sudo bash scripts/local_slurm.sh stop     # cancel jobs, stop every daemon it started (by PID)
#
# Environment knobs (all optional):
#   LOCAL_SLURM_ACCOUNTING=1  also run MariaDB + slurmdbd so `sacct` works (submitit needs it to
#                             notice jobs that die without a result, e.g. scancel'd). Default 1.
#   LOCAL_SLURM_GPUS=2        fake GPUs declared as GRES gpu (0 = no GRES at all)
#   LOCAL_SLURM_PARTITION=debug
#   LOCAL_SLURM_CRED_EXPIRE=10  seconds; also the delay before a requeued job may
#                             restart (Slurm default 120, minimum 5)
#
# Needs: root, Debian 12, apt access to Debian's archive. No systemd, no cgroups.
set -euo pipefail

ACCOUNTING=${LOCAL_SLURM_ACCOUNTING:-1}
NGPUS=${LOCAL_SLURM_GPUS:-2}
PARTITION=${LOCAL_SLURM_PARTITION:-debug}
CRED_EXPIRE=${LOCAL_SLURM_CRED_EXPIRE:-10}

ETC=/etc/slurm
RUN=/run/slurm
LOG=/var/log/slurm
FAKEGPU_DIR=/var/lib/local-slurm
CTLD_PID=$RUN/slurmctld.pid
SLURMD_PID=$RUN/slurmd.pid
DBD_PID=$RUN/slurmdbd.pid
MUNGE_PID=/run/munge/munged.pid
MARIADB_PID=/run/mysqld/mysqld.pid

log() { echo "[local-slurm] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# wait_for SECONDS CMD... : poll CMD every 0.2 s until it succeeds
wait_for() {
  local t=$1; shift
  local n=$((t * 5))
  while ((n-- > 0)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  return 1
}

pid_alive() { [ -n "${1:-}" ] && [ -e "/proc/$1" ]; }
pid_of() { [ -s "$1" ] && cat "$1" || true; }
# runs_as PIDFILE NAME : the PID in PIDFILE is alive and is NAME (a stale pid file names a stranger)
runs_as() { local pid; pid=$(pid_of "$1"); pid_alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]; }

# stop_pid PIDFILE NAME : SIGTERM the PID in PIDFILE, wait, then SIGKILL that PID.
# NAME must equal /proc/PID/comm, so a stale pid file never kills a stranger.
stop_pid() {
  local pf=$1 name=$2 pid
  runs_as "$pf" "$name" || { rm -f "$pf"; return 0; }
  pid=$(pid_of "$pf")
  log "stopping $name (pid $pid)"
  kill "$pid" 2>/dev/null || true
  local n=100
  while pid_alive "$pid" && ((n-- > 0)); do sleep 0.1; done
  if pid_alive "$pid"; then kill -9 "$pid" 2>/dev/null || true; fi
  rm -f "$pf"
}

install_packages() {
  local pkgs=(slurmctld slurmd slurm-client munge)
  [ "$ACCOUNTING" = 1 ] && pkgs+=(slurmdbd mariadb-server)
  local missing=() p
  for p in "${pkgs[@]}"; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = 'install ok installed' ] || missing+=("$p")
  done
  if ((${#missing[@]})); then
    log "apt-get install ${missing[*]}"
    apt-get update -qq
    # postinst scripts try to start the services; without systemd/runlevel
    # invoke-rc.d just declines, which is what we want.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      -o Dpkg::Use-Pty=0 "${missing[@]}" >/dev/null
  fi
}

start_munge() {
  install -d -o munge -g munge -m 0700 /etc/munge
  if [ ! -s /etc/munge/munge.key ]; then
    # the Debian postinst normally creates it already
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
  chown munge:munge /etc/munge/munge.key
  chmod 0400 /etc/munge/munge.key
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/log/munge
  install -d -o munge -g munge -m 0711 /var/lib/munge
  if ! munge -n >/dev/null 2>&1; then
    log "starting munged"
    runuser -u munge -- /usr/sbin/munged   # forks; pid in /run/munge/munged.pid
  fi
  munge -n | unmunge >/dev/null || die "munge round-trip failed (see /var/log/munge/munged.log)"
}

start_mariadb() {
  install -d -o mysql -g mysql -m 0755 /run/mysqld
  install -d -o mysql -g adm -m 2750 /var/log/mysql
  if ! mariadb-admin ping >/dev/null 2>&1; then
    log "starting mariadbd (unix socket only)"
    setsid /usr/sbin/mariadbd --user=mysql --skip-networking \
      --pid-file="$MARIADB_PID" --log-error=/var/log/mysql/error.log \
      </dev/null >/dev/null 2>&1 &
    wait_for 60 mariadb-admin ping || die "mariadbd did not start (see /var/log/mysql/error.log)"
  fi
  # Debian's root@localhost uses unix_socket auth, so root needs no password here.
  mariadb -uroot -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurm';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"
}

write_config() {
  local host nodeline gres_line="" gpu_types="" i
  host=$(hostname -s)
  # Real hardware line, e.g.
  # NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24105
  nodeline=$(slurmd -C | head -n1)
  case $nodeline in NodeName=*) ;; *) die "slurmd -C gave: $nodeline" ;; esac

  mkdir -p "$ETC" "$RUN" "$LOG" /var/spool/slurmctld /var/spool/slurmd

  : > "$ETC/gres.conf"
  if ((NGPUS > 0)); then
    # gres/gpu entries without File= are dropped by slurmd ("Removing file-less
    # GPU"), and File= must be a character/block device.  Fake ones with the
    # major/minor of /dev/null (1,3); they are never opened (no cgroups).
    mkdir -p "$FAKEGPU_DIR"
    for ((i = 0; i < NGPUS; i++)); do
      [ -c "$FAKEGPU_DIR/gpu$i" ] || { rm -f "$FAKEGPU_DIR/gpu$i"; mknod -m 0666 "$FAKEGPU_DIR/gpu$i" c 1 3; }
      echo "NodeName=$host Name=gpu File=$FAKEGPU_DIR/gpu$i" >> "$ETC/gres.conf"
    done
    gres_line="Gres=gpu:$NGPUS"
    gpu_types="GresTypes=gpu"
  fi

  local acct
  if [ "$ACCOUNTING" = 1 ]; then
    acct="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStorageTRES=gres/gpu
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30"
  else
    acct="AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none"
  fi

  cat > "$ETC/slurm.conf" <<EOF
# written by local-slurm-setup.sh -- single node, no systemd, no cgroups
ClusterName=local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# credential lifetime = how long a requeued job waits before it may restart (default 120 s)
AuthInfo=cred_expire=$CRED_EXPIRE
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1024
$gpu_types
$acct
JobCompType=jobcomp/filetxt
JobCompLoc=$LOG/jobcomp.log
DependencyParameters=kill_invalid_depend
EnforcePartLimits=ALL
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=5,bf_interval=5
ReturnToService=2
MinJobAge=3600
KillWait=5
InactiveLimit=0
SlurmdTimeout=300
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
$nodeline NodeAddr=127.0.0.1 $gres_line State=UNKNOWN
PartitionName=$PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF

  if [ "$ACCOUNTING" = 1 ]; then
    cat > "$ETC/slurmdbd.conf" <<EOF
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
DebugLevel=info
LogFile=$LOG/slurmdbd.log
PidFile=$DBD_PID
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
EOF
    chmod 0600 "$ETC/slurmdbd.conf"   # slurmdbd refuses a world-readable file
  fi
}

do_stop() {
  # (no `cmd | grep -q` under pipefail: grep exiting early makes cmd die of SIGPIPE)
  if command -v scontrol >/dev/null && [[ $(scontrol ping 2>/dev/null) == *UP* ]]; then
    local jobs
    jobs=$(squeue -h -o %A 2>/dev/null | tr '\n' ' ')
    if [ -n "${jobs// /}" ]; then
      log "cancelling jobs: $jobs"
      # shellcheck disable=SC2086
      scancel $jobs 2>/dev/null || true
      wait_for 15 bash -c '[ -z "$(squeue -h 2>/dev/null)" ]' || true
    fi
  fi
  stop_pid "$SLURMD_PID" slurmd
  stop_pid "$CTLD_PID" slurmctld
  stop_pid "$DBD_PID" slurmdbd
  stop_pid "$MARIADB_PID" mariadbd
  stop_pid "$MUNGE_PID" munged
}

# healthy: every daemon this script starts is alive (pid file + name), slurmctld answers, the node
# takes jobs and, with accounting, slurmdbd answers. (No `cmd | grep -q` under pipefail.)
is_healthy() {
  command -v scontrol >/dev/null && runs_as "$MUNGE_PID" munged && runs_as "$CTLD_PID" slurmctld &&
    runs_as "$SLURMD_PID" slurmd || return 1
  [ "$ACCOUNTING" != 1 ] || { runs_as "$MARIADB_PID" mariadbd && runs_as "$DBD_PID" slurmdbd; } || return 1
  [[ $(scontrol ping 2>/dev/null) == *UP* ]] || return 1
  [[ $(sinfo -h -n "$(hostname -s)" -o %T 2>/dev/null) =~ ^(idle|mixed|allocated|completing)$ ]] || return 1
  [ "$ACCOUNTING" != 1 ] || sacctmgr -n list cluster >/dev/null 2>&1
}

do_start() {
  [ "$(id -u)" = 0 ] || die "must run as root"
  if is_healthy; then
    log "already up and healthy: $(sinfo -h -o '%P %T %c CPUs %m MB %G' | tr '\n' ' ')- left as it is, jobs untouched" \
        "('restart' cancels every job and starts from clean state, applying changed LOCAL_SLURM_* settings)"
    return 0
  fi
  local t0=$SECONDS
  install_packages
  log "packages ready after $((SECONDS - t0))s"
  do_stop   # not healthy (or not running): whatever is left goes, then a clean start
  start_munge
  write_config
  if [ "$ACCOUNTING" = 1 ]; then
    start_mariadb
    log "starting slurmdbd"
    slurmdbd
    wait_for 30 sacctmgr -n list cluster || die "slurmdbd not answering (see $LOG/slurmdbd.log)"
    # register the cluster (idempotent); slurmctld would also add it on first contact
    sacctmgr -i add cluster local >/dev/null 2>&1 || true
  fi
  log "starting slurmctld"
  slurmctld -c          # -c: discard any old job/node state
  wait_for 30 bash -c 'scontrol ping | grep -q UP' || die "slurmctld did not come up (see $LOG/slurmctld.log)"
  log "starting slurmd"
  slurmd
  local host state
  host=$(hostname -s)
  wait_for 30 bash -c "sinfo -h -n $host -o %T | grep -Eq '^(idle|mixed|allocated)\$'" || {
    scontrol show node "$host" >&2 || true
    die "node $host not idle (see $LOG/slurmd.log)"
  }
  state=$(sinfo -h -n "$host" -o '%T %c %m %G')
  log "cluster up after $((SECONDS - t0))s: node $host [$state], partition $PARTITION"
}

do_status() {
  sinfo -N -o '%N %P %T %c %m %G' || true
  squeue || true
  local f
  for f in "$MUNGE_PID" "$MARIADB_PID" "$DBD_PID" "$CTLD_PID" "$SLURMD_PID"; do
    local p; p=$(pid_of "$f")
    if pid_alive "$p"; then echo "$(basename "$f" .pid): running (pid $p)"; else echo "$(basename "$f" .pid): not running"; fi
  done
}

case ${1:-start} in
  start) do_start ;;
  restart) [ "$(id -u)" = 0 ] || die "must run as root"; do_stop; do_start ;;
  stop) do_stop ;;
  status) do_status ;;
  *) die "usage: $0 [start|restart|stop|status]" ;;
esac
