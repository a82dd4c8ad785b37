# Sourced by bench/cluster-benchmark.sh, bench/lm-benchmark.sh and bench/tasks-benchmark.sh: the reference
# implementations (PyTorch, PyTorch DDP, the plain TorchSharp loop) get the glibc malloc settings our
# processes give themselves (Shared/Torch/TorchRuntime.cs sets the same three with mallopt when libtorch
# loads). With glibc's adaptive defaults a step's large tensors are mapped afresh and zero-filled every
# step in any libtorch process: on stop 24's host the plain TorchSharp loop ran at 4,336 tokens/s with
# them and 7,641 with ours, PyTorch at 4,613 and 5,555, and PyTorch's one-process step in the DDP
# reference was bimodal (145-160 and 210-355 ms) instead of a steady 150 ms. A reference on the defaults
# measured its allocator, not its training code.
# Sets ref_tunables (the GLIBC_TUNABLES to run a reference with) and ref_malloc_text (what to print).
# BENCH_REF_MALLOC=default keeps glibc's defaults for the references; a caller's GLIBC_TUNABLES with malloc
# settings of its own is left as it is (ours then takes them too: TorchRuntime defers to them).
our_malloc_tunables="glibc.malloc.mmap_threshold=33554432:glibc.malloc.top_pad=67108864:glibc.malloc.trim_threshold=268435456"
ref_malloc=${BENCH_REF_MALLOC:-ours}
ref_tunables=${GLIBC_TUNABLES:-}
case $ref_malloc in
  ours)
    if [[ $ref_tunables == *glibc.malloc.* ]]; then
      ref_malloc_text="the caller's GLIBC_TUNABLES ($ref_tunables) for every implementation"
    else
      ref_tunables="${ref_tunables:+$ref_tunables:}$our_malloc_tunables"
      ref_malloc_text="the references run with ours (mmap threshold 32 MiB, top pad 64 MiB, trim threshold 256 MiB; BENCH_REF_MALLOC=default for glibc's)"
    fi ;;
  default) ref_malloc_text="glibc's defaults for the references, ours for rnncluster (BENCH_REF_MALLOC=default)" ;;
  *) echo "BENCH_REF_MALLOC must be ours or default, got '$ref_malloc'" >&2; exit 1 ;;
esac
