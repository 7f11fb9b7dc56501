# provision.sbatch under a real Slurm (Debian's slurm-wlm and munge),
# started here on 127.0.0.1: one node whose tasks play the nodes install
# the demo stack, its source build included, from an nginx mirror carrying
# the build.  Every task exits 0, nothing is compiled (--no-build), and
# every task's manifest equals the first's.  Skipped where slurm is not
# installed or slurmd cannot start.
. "$MB_ROOT/tests/lib.sh"
. "$MB_ROOT/tests/buildmirror.sh"
. "$MB_ROOT/tests/servers/lib.sh"
skip() { ok "# SKIP $1"; done_testing; exit 0; }
for t in munged slurmctld slurmd sbatch sinfo; do
	command -v "$t" >/dev/null 2>&1 || skip "$t is not installed (Debian: slurm-wlm, munge)"
done
[ "$(id -u)" = 0 ] || skip "slurmd runs as root here"
chmod 755 "$T_TMP" # munged wants every directory above its socket searchable
SL="$T_TMP/slurm"; mkdir -p "$SL/state" "$SL/spool" "$SL/munge"
stop_slurm() {
	for f in "$SL/d.pid" "$SL/ctld.pid" "$SL/munge/pid"; do
		[ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	servers_stop
}
trap 'stop_slurm; rm -rf "$T_TMP"' EXIT
dd if=/dev/urandom of="$SL/munge/key" bs=1024 count=1 2>/dev/null && chmod 600 "$SL/munge/key"
munged --key-file="$SL/munge/key" --socket="$SL/munge/sock" --pid-file="$SL/munge/pid" \
	--log-file="$SL/munge/log" --seed-file="$SL/munge/seed" || skip "munged does not start"
set -- $(python3 "$MB_ROOT/tests/servers/freeport.py" 2)
H=$(hostname -s)
cat > "$SL/slurm.conf" <<CONF
ClusterName=mbtest
SlurmctldHost=$H(127.0.0.1)
SlurmctldPort=$1
SlurmdPort=$2
AuthType=auth/munge
AuthInfo=socket=$SL/munge/sock
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$SL/state
SlurmdSpoolDir=$SL/spool
SlurmctldPidFile=$SL/ctld.pid
SlurmdPidFile=$SL/d.pid
SlurmctldLogFile=$SL/ctld.log
SlurmdLogFile=$SL/d.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
SlurmdParameters=config_overrides
ReturnToService=2
NodeName=$H NodeAddr=127.0.0.1 CPUs=8 State=UNKNOWN
PartitionName=debug Nodes=$H Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$SL/slurm.conf"
slurmctld -c && slurmd -c || skip "slurmctld or slurmd does not start (see $SL)"
i=0
until sinfo -h -o %t 2>/dev/null | grep -q idle; do
	i=$((i + 1)); [ $i -gt 60 ] && skip "slurmd never became idle (no cgroups?): $(tail -2 "$SL/d.log")"
	sleep 0.25
done
ok "a one-node Slurm runs on 127.0.0.1"

serve_build_mirror || { fail "the mirror could not be made or served"; done_testing; exit 1; }

MIRROR="http://127.0.0.1:$NGX_HTTP/" RECIPES="$W/www/recipes" STACK=demo MAMBABOOT="$MB" \
PREFIX="$T_TMP/nodes/%n-%t" CACHE="$T_TMP/node-cache" LOGDIR="$T_TMP/logs" LOCK_TIMEOUT=120 \
INSTALL_ARGS=--no-build \
	sbatch --wait --ntasks=4 --ntasks-per-node=4 -o "$T_TMP/job.out" "$MB_ROOT/share/mambaboot/cluster/provision.sbatch" > "$T_TMP/sbatch.err" 2>&1
rc=$?
[ "$rc" = 0 ] && ok "provision.sbatch exits 0" || fail "sbatch exit $rc" "$(cat "$T_TMP/sbatch.err" "$T_TMP/job.out" 2>&1)"
rows=$(grep -c "^$H\\.[0-9]" "$T_TMP/job.out")
[ "$rows" = 4 ] && ok "four tasks report" || fail "rows: $rows" "$(cat "$T_TMP/job.out")"
bad=$(awk -v h="$H." 'index($1, h) == 1 && ($2 != 0 || $4 != 1 || $5 != 0 || $6 != "yes")' "$T_TMP/job.out")
[ -s "$T_TMP/job.out" ] && [ -z "$bad" ] && ok "every task: exit 0, one build-cache hit, nothing built, the first task's manifest" || fail "task rows" "$(cat "$T_TMP/job.out")"
for p in "$T_TMP"/nodes/*; do "$p/bin/mbdemo-tool" >/dev/null || fail "$p has no tool"; done
[ "$(ls "$T_TMP/nodes" | wc -l)" = 4 ] && ok "each task's prefix has the built tool" || fail "prefixes" "$(ls "$T_TMP/nodes")"
done_testing
