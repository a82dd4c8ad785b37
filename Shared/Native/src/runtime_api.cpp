// Process-wide runtime queries and settings.
#include "guard.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <cstring>
#include <dlfcn.h>
#include <string>

using rnnb::guarded;
using rnnb::require;

extern "C" {

// Bumped whenever an export changes meaning; the managed side refuses a bridge of another version.
RNN_EXPORT int32_t rnn_abi_version(void) { return 5; }

RNN_EXPORT int32_t rnn_build_info(char* buffer, int32_t capacity, int32_t* length) {
    return guarded([&] {
        require(buffer != nullptr && length != nullptr, "buffer and length must not be null");
        std::string info = "libtorch " + std::string(TORCH_VERSION) + " (" + std::string(RNN_TORCH_ORIGIN) + "); cuda " +
                           (at::hasCUDA() ? "yes" : "no") + "; " + at::get_parallel_info();
        *length = static_cast<int32_t>(info.size());
        const auto n = std::min<size_t>(info.size(), capacity > 0 ? static_cast<size_t>(capacity - 1) : 0);
        if (capacity > 0) {
            std::memcpy(buffer, info.data(), n);
            buffer[n] = '\0';
        }
    });
}

RNN_EXPORT int32_t rnn_set_num_threads(int32_t threads, int32_t blas_threads) {
    return guarded([&] {
        require(threads >= 1, "threads must be >= 1, got " + std::to_string(threads));
        require(blas_threads >= 1, "blas_threads must be >= 1, got " + std::to_string(blas_threads));
        at::set_num_threads(threads);
        // OpenBLAS keeps its own pthread pool; inside ATen's parallel regions it oversubscribes the
        // cores (measured on 2 cores: 2,335 vs 11,090 tokens/s), so the caller chooses it explicitly
        // (default 1). Looked up at run time: libtorch reaches OpenBLAS through libblas.so.3.
        using set_blas_threads_fn = void (*)(int);
        if (auto set_blas = reinterpret_cast<set_blas_threads_fn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
            set_blas(blas_threads);
        }
    });
}

RNN_EXPORT int32_t rnn_get_num_threads(int32_t* threads) {
    return guarded([&] {
        require(threads != nullptr, "threads is null");
        *threads = at::get_num_threads();
    });
}

RNN_EXPORT int32_t rnn_cuda_device_count(int32_t* count) {
    return guarded([&] {
        require(count != nullptr, "count is null");
        *count = at::hasCUDA() ? static_cast<int32_t>(torch::cuda::device_count()) : 0;
    });
}

}  // extern "C"
