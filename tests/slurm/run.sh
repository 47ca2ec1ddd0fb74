#!/usr/bin/env bash
# End-to-end test of `gridc slurm` on a one-node Slurm cluster on this machine.
#
# As root (idempotent): installs Slurm and MUNGE from Debian packages, creates a MUNGE key
# if there is none, writes a minimal localhost slurm.conf (no cgroups, no systemd: the
# daemons are started directly), starts munged, slurmctld and slurmd, waits for the node.
# Then builds gridc, submits tests/slurm/tiny.grid as a 3-task job array plus the merge
# job, waits for both, runs the same experiment locally with `gridc run` and compares the
# results (everything except wall-clock fields). Exits non-zero on any difference.
# Stops the daemons it started on exit. See docs/slurm.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
TIMEOUT_S=${GRIDC_SLURM_TIMEOUT_S:-600}

die() {
    echo "tests/slurm/run.sh: $*" >&2
    exit 1
}

[ "$(id -u)" = 0 ] || die "must run as root (it installs and starts Slurm)"

# 1. Packages.
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
    || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
    echo "== installing slurmctld slurmd slurm-client munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq slurmctld slurmd slurm-client munge >/dev/null
fi

# 2. MUNGE key and directories.
mkdir -p /etc/munge /var/log/munge /var/lib/munge /run/munge
if [ ! -s /etc/munge/munge.key ]; then
    echo "== creating /etc/munge/munge.key"
    if command -v mungekey >/dev/null; then
        mungekey --create --keyfile=/etc/munge/munge.key
    else
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
fi
MUNGE_USER=root
id munge >/dev/null 2>&1 && MUNGE_USER=munge
chown -R "$MUNGE_USER": /etc/munge /var/log/munge /var/lib/munge /run/munge
chmod 0700 /etc/munge /var/log/munge /var/lib/munge
chmod 0755 /run/munge
chmod 0400 /etc/munge/munge.key

# 3. slurm.conf for one node: this host, 2 CPUs, memory from /proc/meminfo.
NODE=$(hostname -s)
MEM_MB=$(awk '/^MemTotal:/ { m = int($2 / 1024 * 0.8); if (m < 256) m = 256; print m }' /proc/meminfo)
MARK="# Written by gridc tests/slurm/run.sh: a one-node cluster on this machine."
if [ -f /etc/slurm/slurm.conf ] && [ "$(head -n 1 /etc/slurm/slurm.conf)" != "$MARK" ] \
    && [ "${GRIDC_SLURM_OVERWRITE:-}" != 1 ]; then
    die "/etc/slurm/slurm.conf exists and was not written by this script; refusing to replace it (set GRIDC_SLURM_OVERWRITE=1 to replace it)"
fi
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/slurm
cat >/etc/slurm/slurm.conf <<EOF
$MARK
ClusterName=gridc-test
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmctldTimeout=60
SlurmdTimeout=60
InactiveLimit=0
MinJobAge=600
KillWait=10
Waittime=0
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
# No cgroup plugins (proctrack/linuxproc, task/none): they do not work in containers.

# 4. Daemons (started here, stopped on exit).
STARTED=()
# Alive = the process exists and is not a zombie (containers may not reap daemons).
pid_alive() {
    local pid
    [ -f "$1" ] && pid=$(cat "$1") && [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] \
        && [ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" != Z ]
}
stop_daemons() {
    local rc=$? d f i
    for d in $(printf '%s\n' "${STARTED[@]}" | tac); do
        case $d in
        munged) f=/run/munge/munged.pid ;;
        *) f=/run/slurm/$d.pid ;;
        esac
        pid_alive "$f" || continue
        echo "== stopping $d"
        kill "$(cat "$f")" 2>/dev/null || true
        for i in $(seq 1 30); do
            pid_alive "$f" || break
            sleep 1
        done
    done
    exit "$rc"
}
trap stop_daemons EXIT

show_logs() {
    for f in /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log /var/log/munge/munged.log; do
        [ -f "$f" ] && { echo "--- tail $f"; tail -n 30 "$f"; }
    done >&2
}

if ! pid_alive /run/munge/munged.pid; then
    echo "== starting munged"
    if [ "$MUNGE_USER" = munge ]; then
        runuser -u munge -- munged --force
    else
        munged --force
    fi
    STARTED+=(munged)
fi
munge -n | unmunge >/dev/null || { show_logs; die "MUNGE does not work (see /var/log/munge/munged.log)"; }

if ! pid_alive /run/slurm/slurmctld.pid; then
    echo "== starting slurmctld"
    slurmctld || { show_logs; die "slurmctld did not start"; }
    STARTED+=(slurmctld)
else
    scontrol reconfigure || true
fi
if ! pid_alive /run/slurm/slurmd.pid; then
    echo "== starting slurmd"
    slurmd || { show_logs; die "slurmd did not start"; }
    STARTED+=(slurmd)
fi

echo "== waiting for node $NODE"
for i in $(seq 1 60); do
    state=$(sinfo -h -n "$NODE" -o '%T' 2>/dev/null | head -n 1 || true)
    case $state in
    idle | mixed | allocated) break ;;
    down* | drain* | fail*) scontrol update nodename="$NODE" state=resume 2>/dev/null || true ;;
    esac
    sleep 1
done
case $state in
idle | mixed | allocated) echo "node $NODE: $state" ;;
*)
    sinfo -N -l >&2 || true
    scontrol show node "$NODE" >&2 || true
    show_logs
    die "node $NODE is not usable (state: ${state:-unknown})"
    ;;
esac

# 5. Build gridc.
echo "== cargo build --release"
cargo build --release --quiet
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
GRIDC=$TARGET_DIR/release/gridc
[ -x "$GRIDC" ] || die "no gridc binary at $GRIDC"
GRID=$ROOT/tests/slurm/tiny.grid
"$GRIDC" check "$GRID"

TMP=$(mktemp -d /tmp/gridc-slurm-test.XXXXXX)
echo "== results under $TMP"

# 6. Submit and wait.
t0=$(date +%s)
"$GRIDC" slurm "$GRID" --out "$TMP/slurm" --shards 3 --cpus 1 --submit | tee "$TMP/submit.txt"
RUN_JOB=$(awk '/^submitted job array/ { print $4 }' "$TMP/submit.txt")
MERGE_JOB=$(awk '/^submitted merge job/ { print $4 }' "$TMP/submit.txt")
[ -n "$RUN_JOB" ] && [ -n "$MERGE_JOB" ] || die "no job ids in the output of gridc slurm"

job_failed() {
    echo "--- squeue" >&2
    squeue -a >&2 || true
    for j in "$RUN_JOB" "$MERGE_JOB"; do
        scontrol show job "$j" >&2 || true
    done
    for f in "$TMP"/slurm/slurm/logs/*; do
        [ -f "$f" ] && { echo "--- $f" >&2; cat "$f" >&2; }
    done
    show_logs
    die "$*"
}

# A job is finished when it has left the queue (MinJobAge keeps it in scontrol for 10 min).
job_state() {
    scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | awk -F= '$1 == "JobState" { print $2 }' | sort -u | tr '\n' ' '
}
while :; do
    run_state=$(job_state "$RUN_JOB")
    merge_state=$(job_state "$MERGE_JOB")
    case "$run_state $merge_state" in
    *FAILED* | *CANCELLED* | *TIMEOUT* | *NODE_FAIL* | *OUT_OF_ME* | *DEADLINE*)
        job_failed "a job failed: array $RUN_JOB: $run_state; merge $MERGE_JOB: $merge_state" ;;
    esac
    if [ "$merge_state" = "COMPLETED " ]; then
        break
    fi
    if [ -z "$merge_state" ]; then
        job_failed "merge job $MERGE_JOB is unknown to slurmctld"
    fi
    if [ $(($(date +%s) - t0)) -gt "$TIMEOUT_S" ]; then
        job_failed "timeout after ${TIMEOUT_S}s (array: $run_state; merge: $merge_state)"
    fi
    sleep 2
done
t1=$(date +%s)
echo "== Slurm: array $RUN_JOB and merge $MERGE_JOB completed in $((t1 - t0)) s"
[ -f "$TMP/slurm/report.md" ] || job_failed "the merge job left no report.md"

# 7. The same experiment locally.
"$GRIDC" run "$GRID" --out "$TMP/local" --jobs "$(nproc)"
t2=$(date +%s)
echo "== local gridc run: $((t2 - t1)) s"

# 8. Compare.
python3 - "$TMP/slurm" "$TMP/local" <<'EOF'
import difflib, json, pathlib, sys

a, b = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
WALL = ("wall_s", "env_steps_per_s", "timing")
errors = []

def diff(name, x, y):
    lines = difflib.unified_diff(x.splitlines(), y.splitlines(), f"slurm/{name}", f"local/{name}", lineterm="")
    errors.append(f"{name} differs:\n" + "\n".join(list(lines)[:60]))

def same_files(pattern):
    xs = sorted(p.relative_to(a) for p in a.glob(pattern))
    ys = sorted(p.relative_to(b) for p in b.glob(pattern))
    if xs != ys:
        errors.append(f"{pattern}: different files:\n  slurm: {[str(p) for p in xs]}\n  local: {[str(p) for p in ys]}")
    if not xs:
        errors.append(f"{pattern}: no files")
    return [p for p in xs if p in ys]

def summary(p):
    v = json.loads(p.read_text())
    for k in WALL:
        v.pop(k, None)
    return json.dumps(v, indent=1, sort_keys=True)

for rel in same_files("runs/*/*/summary.json"):
    x, y = summary(a / rel), summary(b / rel)
    if x != y:
        diff(str(rel), x, y)
for rel in same_files("points/*/reference.json") + [pathlib.Path("runs.csv")]:
    x, y = (a / rel).read_text(), (b / rel).read_text()
    if x != y:
        diff(str(rel), x, y)
x = json.loads((a / "report.json").read_text())
y = json.loads((b / "report.json").read_text())
for v in (x, y):
    v.pop("compute", None)  # wall clock, if a report ever carries it
x, y = json.dumps(x, indent=1, sort_keys=True), json.dumps(y, indent=1, sort_keys=True)
if x != y:
    diff("report.json", x, y)
def md(p):
    t = p.read_text()
    return t.split("\n## Compute", 1)[0]
x, y = md(a / "report.md"), md(b / "report.md")
if x != y:
    diff("report.md (before ## Compute)", x, y)
n = len(list(a.glob("runs/*/*/summary.json")))
if errors:
    print("\n\n".join(errors), file=sys.stderr)
    print(f"FAIL: Slurm and local results differ ({len(errors)} differences)", file=sys.stderr)
    sys.exit(1)
print(f"ok: {n} run summaries, references, runs.csv, report.json and report.md agree")
EOF
rm -rf "$TMP"
echo "tests/slurm/run.sh: ok"
