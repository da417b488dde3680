#!/usr/bin/env bash
# Check a real GPU node against aigrid: its facts, verify-node against a blueprint that
# declares it (must pass) and one that declares an A100 with a 590 driver (must fail with
# AG501 and AG504), then the CUDA smoke check. Installs nothing from the network: aigrid and
# its dependencies must already be importable (pip install from this checkout, or wheels
# carried to the node). Uses NVML through nvidia-ml-py when it is installed.
#
#   scripts/gpu-node-check.sh [BLUEPRINT NODE]
#
# Without arguments the blueprint is chosen from the GPU model found:
# blueprints/examples/gpu-node-h100.yaml or gpu-node-h200.yaml.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
aigrid() { PYTHONPATH="$root/src${PYTHONPATH:+:$PYTHONPATH}" python3 -m aigrid "$@"; }
failures=0
step() { printf '\n== %s\n' "$*"; }
expect() {  # expect WANTED_STATUS DESCRIPTION -- COMMAND...
    local wanted=$1 what=$2; shift 3
    "$@"; local status=$?
    if [ "$status" -eq "$wanted" ]; then echo "-> ok: $what (exit $status)"
    else echo "-> UNEXPECTED: $what exited $status, wanted $wanted"; failures=$((failures + 1)); fi
}

step "node"
date -u '+%Y-%m-%dT%H:%M:%SZ'; uname -a; grep PRETTY_NAME /etc/os-release
nvidia-smi --query-gpu=name,driver_version,memory.total,mig.mode.current --format=csv || true

step "aigrid facts"
expect 0 "facts gathered" -- aigrid facts
facts_json=$(aigrid facts --json) || { echo "no facts: stopping"; exit 2; }
echo "$facts_json"

blueprint=${1:-} node=${2:-}
if [ -z "$blueprint" ]; then
    model=$(printf '%s' "$facts_json" | python3 -c 'import json,sys; g=json.load(sys.stdin)["gpus"]; print(g[0]["catalog_model"] if g else "")')
    case "$model" in
        H100-SXM-80GB) blueprint=blueprints/examples/gpu-node-h100.yaml node=h100-node-01 ;;
        H200-141GB) blueprint=blueprints/examples/gpu-node-h200.yaml node=h200-node-01 ;;
        *) echo "no shipped blueprint declares a single $model node: pass BLUEPRINT NODE"; exit 2 ;;
    esac
fi

step "verify-node $blueprint --node $node (declares this node: must match)"
expect 0 "verify-node matches" -- aigrid verify-node "$blueprint" --node "$node"

step "verify-node gpu-node-declares-a100.yaml (an A100 and driver 590: must not match)"
mismatch=$(aigrid verify-node blueprints/examples/gpu-node-declares-a100.yaml --node a100-node-01 --json)
status=$?
printf '%s\n' "$mismatch" | python3 -c 'import json,sys; [print(m["code"], m["severity"], m["path"], "observed", json.dumps(m["observed"]), "-", m["message"]) for m in json.load(sys.stdin)["mismatches"]]'
codes=$(printf '%s' "$mismatch" | python3 -c 'import json,sys; print(" ".join(sorted({m["code"] for m in json.load(sys.stdin)["mismatches"]})))')
if [ "$status" -eq 1 ] && [[ " $codes " == *" AG501 "* ]] && [[ " $codes " == *" AG504 "* ]]; then
    echo "-> ok: mismatch reported with $codes (exit 1)"
else
    echo "-> UNEXPECTED: exit $status, codes: $codes"; failures=$((failures + 1))
fi

step "aigrid smoke"
expect 0 "CUDA smoke check passed" -- aigrid smoke
if command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; then
    expect 0 "CUDA smoke check through the driver API passed" -- aigrid smoke --method driver-api
fi

step "summary"
if [ "$failures" -eq 0 ]; then echo "all checks behaved as expected"; else echo "$failures check(s) did not"; fi
exit $(( failures > 0 ))
