#!/usr/bin/env bash
# Throughput and latency of computeadvisor's hot routes against a bare Litestar app (see docs/performance.md).
#
#   make bench                      # or: bash bench/run.sh, from the repository root
#   BENCH_DURATION=10 BENCH_ROUNDS=3 BENCH_WARMUP=2 BENCH_CONNECTIONS=16 make bench
#   BENCH_STRICT=1 make bench       # also exit 3 when a route misses its target
#   bash bench/run.sh http          # only the HTTP routes against the bare app (wrk)
#   bash bench/run.sh scheduler     # only the scheduler (bench/scheduler.py; see docs/performance.md)
#   BENCH_SCHEDULER_SIZES="0 100000" BENCH_SCHEDULER_DURATION=5 make bench   # stored jobs per size, s per phase
#   BENCH_SKIP_SCHEDULER=1 make bench                                         # skip the scheduler part
#   BENCH_PLAN_HISTORY=10000 make bench                                        # finished jobs the plan sees
#
# Both servers run on 127.0.0.1 (free ports), one uvicorn process each with uvloop, httptools and no access log.
# Every scenario is warmed up once, then all scenarios are measured round after round, interleaved, so that noise
# on this shared 2-core machine spreads over all of them. Raw wrk output and the summary land in bench/results/.
set -euo pipefail

MODE=${1:-all}
case $MODE in
    all | http | scheduler) ;;
    *) echo "usage: bash bench/run.sh [all|http|scheduler]" >&2; exit 2 ;;
esac
[[ $MODE == all && ${BENCH_SKIP_SCHEDULER:-0} == 1 ]] && MODE=http

cd "$(dirname "$0")/.."
PY=.venv/bin/python
DURATION=${BENCH_DURATION:-10}
ROUNDS=${BENCH_ROUNDS:-3}
WARMUP=${BENCH_WARMUP:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-16}
THREADS=1
SCHEDULER_SIZES=${BENCH_SCHEDULER_SIZES:-0 100000 1000000}
SCHEDULER_DURATION=${BENCH_SCHEDULER_DURATION:-5}

[[ -x $PY && -x .venv/bin/computeadvisor ]] || { echo "bench: .venv is missing; run 'make install'" >&2; exit 1; }
if [[ $MODE != scheduler ]] && ! command -v wrk >/dev/null 2>&1; then
    echo "bench: installing wrk" >&2
    apt-get update && apt-get install -y wrk
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=bench/results/$stamp
mkdir -p "$out"
ln -sfn "$stamp" bench/results/latest
state=$(mktemp -d)
pids=()

cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$state"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

status=0

http_bench() {
    read -r svc_port bare_port plan_port < <($PY bench/util.py free-ports 3)
    [[ -n ${plan_port:-} ]] || { echo "bench: could not find free ports" >&2; exit 1; }
    svc=http://127.0.0.1:$svc_port
    bare=http://127.0.0.1:$bare_port
    plansvc=http://127.0.0.1:$plan_port

    .venv/bin/computeadvisor serve --root "$state" --port "$svc_port" --log-level warning >"$out/service.log" 2>&1 &
    pids+=("$!")
    svc_pid=$!
    $PY -m uvicorn bench.bare_app:app --host 127.0.0.1 --port "$bare_port" --workers 1 --loop uvloop --http httptools \
        --no-access-log --lifespan on --log-level warning >"$out/bare.log" 2>&1 &
    pids+=("$!")
    bare_pid=$!
    # The planner's own service (idle while the others are measured): 10 providers, 10,000 finished jobs.
    mkdir -p "$state/plan"
    .venv/bin/computeadvisor serve --root "$state/plan" --port "$plan_port" --log-level warning >"$out/plan-service.log" 2>&1 &
    pids+=("$!")
    plan_pid=$!
    $PY bench/util.py wait "$svc/api/providers" "$svc_pid" "$bare/bare" "$bare_pid" "$plansvc/api/providers" "$plan_pid" \
        --timeout 30

    provider='{"id":"runpod-dev","kind":"runpod","base":"https://api.runpod.io/v2","meta":{"cost_per_minute":0.12,'
    provider+='"egress_cost_per_gb":0.09,"vram_cost_per_gb_minute":0.001,"pricing_url":"https://runpod.io/pricing"}}'
    $PY bench/util.py request POST "$svc/api/providers" "$provider" --expect '"ok":true' --out "$out/register.json"

    # The plan runs against 10 providers and 10,000 finished jobs in the history (bench/seed_history.py).
    places=cpu,gpu:0
    for n in $(seq 0 9); do
        p='{"id":"rp'$n'","kind":"runpod","base":"https://api.runpod.io/v2","meta":{"cost_per_minute":0.0'$n',"startup_s":'$n'}}'
        $PY bench/util.py request POST "$plansvc/api/providers" "$p" --expect '"ok":true' --out "$out/register-rp$n.json"
        places+=",remote:rp$n"
    done
    $PY bench/seed_history.py "$state/plan" --jobs "${BENCH_PLAN_HISTORY:-10000}" --places "$places" >"$out/seed.txt"

    advise_body='{"job":{"width":2048,"height":1152,"priority":3},"allow_remote":true}'
    costs_body='{"job":{"queue":"remote","provider_id":"runpod-dev","duration_minutes":4.5,"bytes_tx":1073741824,"bytes_rx":67108864,"vram_gb":16}}'
    plan_body='{"job":{"width":2048,"height":1152,"steps":30,"model":"sdxl"},"allow_remote":true}'
    bare_body='{"job":{"width":2048,"height":1152,"priority":3},"allow_remote":true}'

    # name, method, base URL, path, body, baseline scenario, target share of the baseline's requests/s (0: none)
    scenarios=(
        "bare-post|POST|$bare|/bare|$bare_body|bare-post|0"
        "advise|POST|$svc|/api/compute/advise|$advise_body|bare-post|0.60"
        "costs|POST|$svc|/api/compute/costs|$costs_body|bare-post|0.60"
        "plan|POST|$plansvc|/api/compute/plan|$plan_body|bare-post|0.50"
        "bare-get|GET|$bare|/bare||bare-get|0"
        "providers|GET|$svc|/api/providers||bare-get|0"
        "gpu-list|GET|$svc|/api/gpu/list||bare-get|0"
    )

    # One request per scenario first: each must answer 2xx with the expected content (costs must find the provider).
    : >"$out/scenarios.tsv"
    for spec in "${scenarios[@]}"; do
        IFS='|' read -r name method base path body baseline target <<<"$spec"
        printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$method" "$path" "$baseline" "$target" >>"$out/scenarios.tsv"
        expect=()
        case $name in
            advise) expect=(--expect '"decision":') ;;
            costs) expect=(--expect '"kind":"runpod"' --expect '"estimate":') ;;
            plan) expect=(--expect '"source":"history"' --expect '"device":"remote:rp9"') ;;
            providers) expect=(--expect '"id":"runpod-dev"') ;;
            gpu-list) expect=(--expect '"devices":') ;;
        esac
        $PY bench/util.py request "$method" "$base$path" ${body:+"$body"} "${expect[@]}" --out "$out/response-$name.json"
    done

    wrk_run() {  # seconds, output file, method, url, body
        local args=("$3")
        [[ -n $5 ]] && args+=("$5")
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"$1"s --latency -s bench/wrk.lua "$4" -- "${args[@]}" >"$2"
        $PY bench/report.py check "$2" >/dev/null
    }

    wrk --version 2>&1 | head -1 >"$out/wrk.txt" || true
    { git rev-parse --short HEAD 2>/dev/null || echo unknown; } | tr -d '\n' >"$out/commit.txt"
    [[ -z $(git status --porcelain -- src 2>/dev/null) ]] || echo ' (src has uncommitted changes)' >>"$out/commit.txt"
    cat /proc/loadavg >"$out/loadavg-before.txt" 2>/dev/null || true
    echo "wrk -t$THREADS -c$CONNECTIONS, warm-up ${WARMUP}s per scenario, $ROUNDS rounds of ${DURATION}s per scenario" \
        >"$out/settings.txt"
    echo "bench: $(cat "$out/settings.txt"); results in $out" >&2

    for spec in "${scenarios[@]}"; do
        IFS='|' read -r name method base path body _ _ <<<"$spec"
        wrk_run "$WARMUP" "$out/warmup-$name.txt" "$method" "$base$path" "$body"
    done
    for round in $(seq 1 "$ROUNDS"); do
        for spec in "${scenarios[@]}"; do
            IFS='|' read -r name method base path body _ _ <<<"$spec"
            wrk_run "$DURATION" "$out/r$round-$name.txt" "$method" "$base$path" "$body"
            printf 'round %d  %-10s %s\n' "$round" "$name" "$($PY bench/report.py check "$out/r$round-$name.txt")" >&2
        done
    done

    for pid in "$svc_pid" "$bare_pid" "$plan_pid"; do
        kill -0 "$pid" 2>/dev/null || { echo "bench: a server died during the run; see $out/*.log" >&2; exit 1; }
    done
    cat /proc/loadavg >"$out/loadavg-after.txt" 2>/dev/null || true
    $PY bench/report.py summarize "$out" || status=$?
    for pid in "$svc_pid" "$bare_pid" "$plan_pid"; do  # idle now: out of the way of the scheduler part
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}

scheduler_bench() {
    echo "bench: scheduler, sizes $SCHEDULER_SIZES, $ROUNDS rounds × ${SCHEDULER_DURATION}s per phase" >&2
    # shellcheck disable=SC2086  # the sizes are a space-separated list on purpose
    $PY bench/scheduler.py --sizes $SCHEDULER_SIZES --rounds "$ROUNDS" --duration "$SCHEDULER_DURATION" \
        --connections "$CONNECTIONS" --out "$out/scheduler" || status=$?
}

[[ $MODE == scheduler ]] || http_bench
[[ $MODE == http ]] || scheduler_bench
exit "$status"
