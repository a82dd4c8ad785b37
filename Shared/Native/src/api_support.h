// Small pieces every group of C exports uses: handle checks, copies to caller buffers, autograd on or off.
#pragma once

#include "guard.h"
#include "handles.h"

#include <c10/core/InferenceMode.h>

#include <cstring>

namespace rnnb {

inline Model& checked(rnn_model* m) {
    if (m == nullptr) fail(RNN_ERR_ARGUMENT, "model handle is null");
    return m->impl;
}

inline const Model& checked(const rnn_model* m) {
    if (m == nullptr) fail(RNN_ERR_ARGUMENT, "model handle is null");
    return m->impl;
}

// Copies a tensor (any device, any layout) into a caller buffer of exactly its size and type.
inline void copy_to_host(const at::Tensor& t, void* destination) {
    auto host = t.detach().contiguous().to(at::kCPU);
    std::memcpy(destination, host.data_ptr(), static_cast<size_t>(host.numel()) * host.element_size());
}

// Runs body with autograd recording when gradients are wanted, else in inference mode (no graph at all).
template <class Body>
void with_autograd(bool backward, Body&& body) {
    if (backward) {
        body();
    } else {
        c10::InferenceMode no_autograd;
        body();
    }
}

}  // namespace rnnb
