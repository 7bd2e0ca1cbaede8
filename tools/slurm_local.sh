#!/usr/bin/env bash
# A single-node Slurm cluster on this host, for the `slurm` tests (ctest -L slurm)
# and for trying `qlab slurm --submit` locally. Idempotent: installs what is
# missing (Debian packages slurmctld, slurmd, slurm-client, munge), writes a
# minimal /etc/slurm/slurm.conf for this host's real CPU count and memory
# (only when it is missing or was written by this script), creates the munge
# key if missing, starts munged, slurmctld and slurmd directly (no systemd:
# containers here run no init system) unless they already run, and waits until
# `sinfo` shows the node idle. Needs root. Exit 0 when the node is up, 1 otherwise.
set -euo pipefail
if [[ $(id -u) -ne 0 ]]; then
  echo "slurm_local.sh: needs root (it installs packages and starts daemons)" >&2
  exit 1
fi

packages=(slurmctld slurmd slurm-client munge)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

node=$(hostname -s)
cpus=$(nproc)
# RealMemory in MiB, a little under the total so slurmd's own check passes.
mem_mib=$(awk '/^MemTotal:/ {print int($2 / 1024 * 0.95)}' /proc/meminfo)
conf=/etc/slurm/slurm.conf
marker="# written by qlab tools/slurm_local.sh"
if [[ ! -f $conf ]] || grep -qF "$marker" "$conf"; then
  mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
  # Root runs the daemons: a throw-away local cluster, no accounting, no
  # cgroups (a container's cgroup tree is not ours to configure).
  cat >"$conf.new" <<EOF
$marker
ClusterName=qlab-local
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
KillWait=5
MinJobAge=30
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mib State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  if ! cmp -s "$conf.new" "$conf" 2>/dev/null; then mv "$conf.new" "$conf"; restart=1; else rm "$conf.new"; fi
fi

if [[ ! -s /etc/munge/munge.key ]]; then
  mkdir -p /etc/munge
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown munge:munge /etc/munge/munge.key
chmod 400 /etc/munge/munge.key
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge

running() { pgrep -x "$1" >/dev/null; }
# A daemon by the pid file it wrote; killed only when this script changed the config.
stop_daemon() {
  local pidfile=$1
  if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    kill "$(cat "$pidfile")"
    sleep 1
  fi
}
if [[ ${restart:-0} -eq 1 ]]; then
  stop_daemon /run/slurmd.pid
  stop_daemon /run/slurmctld.pid
fi

running munged || runuser -u munge -- /usr/sbin/munged
running slurmctld || /usr/sbin/slurmctld
running slurmd || /usr/sbin/slurmd

for _ in $(seq 60); do
  state=$(sinfo -h -n "$node" -o %T 2>/dev/null || true)
  case $state in
    idle*|mixed*|allocated*) echo "slurm_local.sh: node $node is $state ($cpus CPUs, $mem_mib MiB)"; exit 0 ;;
    down*|drain*) scontrol update nodename="$node" state=resume 2>/dev/null || true ;;
  esac
  sleep 1
done
echo "slurm_local.sh: the node did not come up (sinfo: '${state:-no answer}'); see /var/log/slurm/" >&2
exit 1
