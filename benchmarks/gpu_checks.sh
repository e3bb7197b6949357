#!/usr/bin/env bash
# The GPU side of the performance targets (README "Performance"), as one prepared run of at most 8 minutes: the
# book's loop and the zoo side by side on one GPU (benchmarks/vs_book.py), most important first, each run capped
# so that one slow run cannot take the others' time, and the GPU-only tests.
#
#   bash benchmarks/gpu_checks.sh prepare   # on a machine with pip and $D2L_ZOO_DATA: wheels the GPU machine may
#                                           # lack into .whl/, the real Fashion-MNIST and fra-eng into data/
#   bash benchmarks/gpu_checks.sh run       # on the GPU machine, from the repository root (BUDGET=seconds, 480)
#   DRY=1 bash benchmarks/gpu_checks.sh run # print the plan only
#
# `run` writes log.txt and benchmarks.csv (the rows to add to benchmarks/results/benchmarks.csv) into $OUT, or
# into gpu_checks/ when OUT is unset. Afterwards: tail -n +2 <that>/benchmarks.csv >> benchmarks/results/benchmarks.csv
# and python scripts/readme.py. The GPU machine needs the working tree plus .whl, data/fashion-mnist, data/fra-eng.
set -uo pipefail
cd "$(dirname "$0")/.."

WHEELS="jsonargparse==4.53.0 docstring_parser==0.18.0 typeshed_client==2.15.0 pooch==1.9.0 platformdirs==4.14.9"

prepare() {
    : "${D2L_ZOO_DATA:?point D2L_ZOO_DATA at the folder holding fashion-mnist/ and fra-eng/}"
    mkdir -p .whl data
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux2014_x86_64 -d .whl $WHEELS || exit
    for set in fashion-mnist fra-eng; do
        rm -rf "data/$set" && cp -r "$D2L_ZOO_DATA/$set" data/ && chmod -R u+w "data/$set" || exit
    done
    du -sh .whl data/fashion-mnist data/fra-eng
}

# name, seconds at most, then vs_book.py's arguments; the order is the order of importance
PLAN=(
    "lenet_fp32|90|lenet -- --data.on_device true"
    "resnet18_bf16|170|resnet18 --precision bf16-mixed -- --data.on_device true --model.channels_last true"
    "gru|70|gru -- --data.on_device true"
    "seq2seq|80|seq2seq -- --data.on_device true"
    "lenet_bf16_compile|90|lenet --precision bf16-mixed -- --data.on_device true --config configs/trainer/compile.yaml"
    "alexnet_1_epoch|60|alexnet --epochs 1 --precision bf16-mixed -- --data.on_device true --model.channels_last true"
    "vgg_1_epoch|70|vgg --epochs 1 --precision bf16-mixed -- --data.on_device true --model.channels_last true"
    "nin_1_epoch|60|nin --epochs 1 --precision bf16-mixed -- --data.on_device true --model.channels_last true"
    "googlenet_1_epoch|60|googlenet --epochs 1 --precision bf16-mixed -- --data.on_device true --model.channels_last true"
    "densenet_1_epoch|60|densenet --epochs 1 --precision bf16-mixed -- --data.on_device true --model.channels_last true"
)

run() {
    local out="${OUT:-gpu_checks}" budget="${BUDGET:-480}" start=$SECONDS
    mkdir -p "$out"
    local log="$out/log.txt" csv="$out/benchmarks.csv"
    if [[ -z "${DRY:-}" ]]; then
        if [[ -d .whl ]]; then
            python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
                .whl/*.whl || exit
            export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
        fi
        export D2L_ZOO_DATA="${D2L_ZOO_DATA:-$PWD/data}" PYTHONUNBUFFERED=1
        python3 -c "import torch, lightning, torchvision, torchmetrics, jsonargparse; print('torch', torch.__version__,
            'lightning', lightning.__version__, 'torchvision', torchvision.__version__, 'torchmetrics',
            torchmetrics.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else 'NO GPU')" \
            2>&1 | tee "$log" || exit
        python3 -c "import torch, sys; sys.exit(not torch.cuda.is_available())" ||
            { echo "no GPU here: run this on the GPU machine (DRY=1 prints the plan)" | tee -a "$log"; exit 1; }
        command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.used,clocks.sm --format=csv | tee -a "$log"
    fi
    local item name cap args left
    for item in "${PLAN[@]}" "pytest_gpu|100|"; do
        IFS="|" read -r name cap args <<<"$item"
        left=$((budget - (SECONDS - start)))
        if ((left < 30)); then
            echo "== $name: skipped, ${left}s of the budget left" | tee -a "$log"
            continue
        fi
        ((cap > left)) && cap=$left
        echo "== $name (at most ${cap}s, $((SECONDS - start))s in)" | tee -a "$log"
        if [[ "$name" == pytest_gpu ]]; then
            set -- python3 -m pytest -q -x -p no:cacheprovider tests/test_performance.py
        else
            # shellcheck disable=SC2086  # the plan's arguments are words
            set -- python3 benchmarks/vs_book.py --csv "$csv" $args
        fi
        if [[ -n "${DRY:-}" ]]; then
            echo "timeout $cap $*" | tee -a "$log"
        else
            timeout "$cap" "$@" 2>&1 | grep -v -E "Warning|warn\(|^\s*$" | tee -a "$log"
            echo "== $name: exit ${PIPESTATUS[0]} after $((SECONDS - start))s" | tee -a "$log"
        fi
    done
}

case "${1:-}" in
    prepare) prepare ;;
    run) run ;;
    *) sed -n '2,13p' "$0" && exit 2 ;;
esac
