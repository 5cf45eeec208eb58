#!/bin/sh
# Slurm prolog (slurm.conf: Prolog=/etc/slurm/envsnap-prolog.sh, PrologFlags=Alloc): when a job
# is allocated, every node checks itself against the capture and writes its report into
# $REPORTS/$SLURM_JOB_ID/<node>.json. The job's batch script then runs, before training:
#
#     envsnap fleet "$REPORTS/$SLURM_JOB_ID" --expect "$SLURM_JOB_NUM_NODES" || exit 1
#
# This script always exits 0: a prolog that fails drains the node, and a package or driver
# mismatch is the job's problem to report, not a reason to take the node out of service.

# Site settings: the capture, a report folder all nodes share, envsnap, the jobs' Python.
CAPTURE=/shared/envsnap-capture
REPORTS=/shared/envsnap-reports
ENVSNAP=/opt/envsnap/bin/envsnap
PYTHON=/shared/venvs/train/bin/python

[ -n "$SLURM_JOB_ID" ] || exit 0
out="$REPORTS/$SLURM_JOB_ID"
mkdir -p "$out" || exit 0
"$ENVSNAP" check "$CAPTURE" --python "$PYTHON" --save "$out" --node "${SLURMD_NODENAME:-$(hostname -s)}" \
    >"$out/.${SLURMD_NODENAME:-node}.log" 2>&1
exit 0
