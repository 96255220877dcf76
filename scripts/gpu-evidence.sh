#!/usr/bin/env bash
# The GPU evidence in one command, resumable: the papers' protocol offline at its real size (cifar10-local-paper with
# all 50,000 training and 10,000 test images, 5 epochs, paper-cnn-s/m/l x 3 seeds and the crop-flip control), then the
# bench's rows on the GPU. Sized for one GPU and about 9 minutes; run it again after an interruption and finished runs
# are skipped. What finished is left as committable report files:
#   <out>/runs/<run>/{config,metrics,provenance,timings}.json, <out>/report.{ipynb,html}, tables/, figures/, bench.json
#
#   scripts/gpu-evidence.sh                  # on CUDA, into reports/cifar10-local-paper-full
#   SIZE=tiny DEVICE=cpu scripts/gpu-evidence.sh /tmp/x   # the same path at a tiny size (what tests/test_gpu_evidence.py runs)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-reports/cifar10-local-paper-full}
size=${SIZE:-full}
device=${DEVICE:-cuda}
case "$size" in
  full) sets=(train_subset=null test_subset=null noise_subset=null probe_subset=null); seeds=(); bench=(--size default) ;;
  tiny) sets=(dataset=synthetic teacher=timm:resnet10t teacher_pretrained=false teacher_checkpoint=null teacher_input_size=32
              train_subset=64 test_subset=40 noise_subset=40 probe_subset=64 epochs=1 dynamics_subset=null)
        seeds=(--seeds 42); bench=(--size tiny --data synthetic --rows cosine-epoch --threads 1) ;;
  *) echo "SIZE must be 'full' or 'tiny', got '$size'" >&2; exit 2 ;;
esac
if [ "$device" = cuda ] && ! python -c 'import torch, sys; sys.exit(not torch.cuda.is_available())'; then
  echo "no CUDA device here: run it on a GPU machine, or use DEVICE=cpu SIZE=tiny to check the path" >&2; exit 2
fi
mkdir -p "$out"
echo "== 1/2 cifar10-local-paper ($size) on $device into $out/runs =="
asymkd sweep cifar10-local-paper --device "$device" --out "$out/runs" --report_dir "$out" "${seeds[@]}" --set "${sets[@]}"
echo "== 2/2 bench on $device into $out/bench.json =="
asymkd bench --device "$device" --out "$out/bench.json" "${bench[@]}"
echo "done: commit $out (run JSON, report, tables, figures, bench.json); checkpoints and run notebooks are ignored by git"
