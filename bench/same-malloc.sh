# Sourced by bench/lm-benchmark.sh and bench/tasks-benchmark.sh: every implementation a benchmark runs gets
# the glibc malloc settings our processes give themselves (Shared/Torch/TorchRuntime.cs sets them with
# mallopt when libtorch loads; bench/ddp/ddp_lm.py has the same three for the DDP reference). With glibc's
# adaptive defaults a step's large tensors are mapped afresh and zero-filled every step in any libtorch
# process: on stop 24's host the plain TorchSharp loop ran at 4,336 tokens/s with them and 7,641 with ours,
# PyTorch at 4,613 and 5,555, so a reference on the defaults measured its allocator, not its training code.
# BENCH_REF_MALLOC=default keeps glibc's defaults for the references (ours then still sets its own);
# a GLIBC_TUNABLES with malloc settings of the caller's own is left as it is.
our_malloc_tunables="glibc.malloc.mmap_threshold=33554432:glibc.malloc.top_pad=67108864:glibc.malloc.trim_threshold=268435456"
ref_malloc=${BENCH_REF_MALLOC:-ours}
case $ref_malloc in
  ours)
    if [[ ${GLIBC_TUNABLES:-} == *glibc.malloc.* ]]; then
      ref_malloc_text="the caller's GLIBC_TUNABLES for every implementation"
    else
      export GLIBC_TUNABLES="${GLIBC_TUNABLES:+$GLIBC_TUNABLES:}$our_malloc_tunables"
      ref_malloc_text="ours for every implementation (mmap threshold 32 MiB, top pad 64 MiB, trim threshold 256 MiB; BENCH_REF_MALLOC=default for glibc's)"
    fi ;;
  default) ref_malloc_text="glibc's defaults for the references, ours for rnncluster (BENCH_REF_MALLOC=default)" ;;
  *) echo "BENCH_REF_MALLOC must be ours or default, got '$ref_malloc'" >&2; exit 1 ;;
esac
