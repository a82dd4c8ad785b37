// C exports for models. Each export validates its arguments, then runs inside guarded().
#include "api_support.h"

#include <c10/core/GradMode.h>

#include <cstring>

using rnnb::checked;
using rnnb::copy_to_host;
using rnnb::fail;
using rnnb::guarded;
using rnnb::Model;
using rnnb::require;

namespace {

// The managed mirror (NativeModelConfig in Shared/Torch/NativeMethods.cs) has the same fields in the
// same order; struct_size catches a mismatch at run time, this at build time.
static_assert(sizeof(rnn_model_config) == 120, "rnn_model_config changed: update NativeModelConfig and the ABI version");

at::Tensor& buffer_of(Model& model, int32_t buffer) {
    if (buffer == RNN_BUFFER_PARAMS) return model.flat();
    if (buffer == RNN_BUFFER_GRADS) return model.flat_grad();
    fail(RNN_ERR_ARGUMENT, "unknown buffer " + std::to_string(buffer));
}

at::Tensor window_tensor(const Model& model, const int64_t* ids, int32_t steps, int32_t streams, const char* what) {
    require(ids != nullptr, std::string(what) + " is null");
    auto t = at::from_blob(const_cast<int64_t*>(ids), {steps, streams}, at::kLong);
    if (std::strcmp(what, "inputs") == 0) {
        // Out-of-range ids would read outside the embedding: refuse them with the offending value.
        auto mn = t.min().item<int64_t>(), mx = t.max().item<int64_t>();
        if (mn < 0 || mx >= model.config().vocab_size) {
            fail(RNN_ERR_ARGUMENT, "input token id out of range [0, " + std::to_string(model.config().vocab_size) +
                                       "): min " + std::to_string(mn) + ", max " + std::to_string(mx));
        }
    } else {
        auto mn = t.min().item<int64_t>(), mx = t.max().item<int64_t>();
        if (mn < -1 || mx >= model.config().vocab_size) {
            fail(RNN_ERR_ARGUMENT, "target id out of range [-1, " + std::to_string(model.config().vocab_size) +
                                       "): min " + std::to_string(mn) + ", max " + std::to_string(mx));
        }
    }
    return t.to(model.device());
}

}  // namespace

extern "C" {

RNN_EXPORT int32_t rnn_model_create(const rnn_model_config* config, rnn_model** out_model) {
    return guarded([&] {
        require(config != nullptr && out_model != nullptr, "config and out_model must not be null");
        *out_model = nullptr;
        *out_model = new rnn_model(*config);
    });
}

RNN_EXPORT void rnn_model_destroy(rnn_model* model) {
    // Destruction cannot report a status; swallow anything a destructor might throw.
    try {
        delete model;
    } catch (...) {
    }
}

RNN_EXPORT int32_t rnn_model_param_count(const rnn_model* model, int64_t* count) {
    return guarded([&] {
        require(count != nullptr, "count is null");
        *count = checked(model).param_count();
    });
}

RNN_EXPORT int32_t rnn_model_tensor_count(const rnn_model* model, int32_t* count) {
    return guarded([&] {
        require(count != nullptr, "count is null");
        *count = static_cast<int32_t>(checked(model).entries().size());
    });
}

RNN_EXPORT int32_t rnn_model_tensor_info(const rnn_model* model, int32_t index, char* name_buffer, int32_t name_capacity,
                                         int64_t* offset, int64_t* numel, int32_t* ndim, int64_t* shape4) {
    return guarded([&] {
        const auto& entries = checked(model).entries();
        require(index >= 0 && index < static_cast<int32_t>(entries.size()), "tensor index out of range");
        require(name_buffer != nullptr && offset != nullptr && numel != nullptr && ndim != nullptr && shape4 != nullptr,
                "output pointers must not be null");
        const auto& e = entries[static_cast<size_t>(index)];
        require(static_cast<int32_t>(e.name.size()) < name_capacity, "name buffer too small for " + e.name);
        std::memcpy(name_buffer, e.name.c_str(), e.name.size() + 1);
        *offset = e.offset;
        *numel = e.numel;
        *ndim = static_cast<int32_t>(e.shape.size());
        for (size_t i = 0; i < 4; ++i) shape4[i] = i < e.shape.size() ? e.shape[i] : 0;
    });
}

RNN_EXPORT int32_t rnn_model_state_size(const rnn_model* model, int64_t* floats_per_stream) {
    return guarded([&] {
        require(floats_per_stream != nullptr, "floats_per_stream is null");
        *floats_per_stream = checked(model).state_floats_per_stream();
    });
}

RNN_EXPORT int32_t rnn_model_forward_backward(rnn_model* model, const int64_t* inputs, const int64_t* targets,
                                              int32_t steps, int32_t streams, const void* state_in, void* state_out,
                                              int32_t train, int32_t backward, int32_t want_correct,
                                              rnn_window_result* result) {
    return guarded([&] {
        auto& m = checked(model);
        m.require_task(RNN_TASK_LANGUAGE_MODEL, "rnn_model_forward_backward");
        require(steps >= 1 && streams >= 1, "steps and streams must be >= 1");
        require(result != nullptr, "result is null");
        auto x = window_tensor(m, inputs, steps, streams, "inputs");
        auto y = window_tensor(m, targets, steps, streams, "targets").reshape({-1});
        auto state = m.state_from_host(state_in, streams);

        rnnb::with_autograd(backward != 0, [&] {
            auto out = m.forward(x, state, train != 0);
            auto loss = at::cross_entropy_loss(out.logits, y, {}, at::Reduction::Sum, -1);
            if (backward != 0) loss.backward();
            result->loss_sum = loss.item<double>();
            result->tokens = y.ne(-1).sum().item<int64_t>();
            result->correct = want_correct ? out.logits.argmax(1).eq(y).sum().item<int64_t>() : 0;
            if (state_out != nullptr) m.state_to_host(out.final_state, state_out);
        });
    });
}

RNN_EXPORT int32_t rnn_model_last_logits(rnn_model* model, const int64_t* inputs, int32_t steps, int32_t streams,
                                         const void* state_in, void* state_out, void* logits_out) {
    return guarded([&] {
        auto& m = checked(model);
        m.require_task(RNN_TASK_LANGUAGE_MODEL, "rnn_model_last_logits");
        require(steps >= 1 && streams >= 1, "steps and streams must be >= 1");
        require(logits_out != nullptr, "logits_out is null");
        c10::InferenceMode no_autograd;
        auto x = window_tensor(m, inputs, steps, streams, "inputs");
        auto out = m.forward(x, m.state_from_host(state_in, streams), false);
        copy_to_host(out.logits.narrow(0, static_cast<int64_t>(steps - 1) * streams, streams), logits_out);
        if (state_out != nullptr) m.state_to_host(out.final_state, state_out);
    });
}

RNN_EXPORT int32_t rnn_model_read(const rnn_model* model, int32_t buffer, void* destination, int64_t count) {
    return guarded([&] {
        auto& m = const_cast<Model&>(checked(model));
        require(destination != nullptr, "destination is null");
        auto& b = buffer_of(m, buffer);
        require(count == b.numel(), "buffer holds " + std::to_string(b.numel()) + " elements, caller passed " +
                                        std::to_string(count));
        auto host = b.to(at::kCPU);
        std::memcpy(destination, host.data_ptr(), static_cast<size_t>(count) * host.element_size());
    });
}

RNN_EXPORT int32_t rnn_model_write(rnn_model* model, int32_t buffer, const void* source, int64_t count) {
    return guarded([&] {
        auto& m = checked(model);
        require(source != nullptr, "source is null");
        auto& b = buffer_of(m, buffer);
        require(count == b.numel(), "buffer holds " + std::to_string(b.numel()) + " elements, caller passed " +
                                        std::to_string(count));
        at::NoGradGuard no_grad;
        b.copy_(at::from_blob(const_cast<void*>(source), {count}, at::TensorOptions().dtype(m.dtype())));
    });
}

RNN_EXPORT int32_t rnn_model_buffer_pointer(rnn_model* model, int32_t buffer, void** pointer) {
    return guarded([&] {
        auto& m = checked(model);
        require(pointer != nullptr, "pointer is null");
        if (!m.device().is_cpu()) fail(RNN_ERR_STATE, "direct buffer pointers exist only for cpu models");
        *pointer = buffer_of(m, buffer).data_ptr();
    });
}

RNN_EXPORT int32_t rnn_model_zero_grads(rnn_model* model) {
    return guarded([&] { checked(model).flat_grad().zero_(); });
}

RNN_EXPORT int32_t rnn_model_clip_grad_norm(rnn_model* model, double scale, double max_norm, double* total_norm) {
    return guarded([&] {
        auto& m = checked(model);
        require(total_norm != nullptr, "total_norm is null");
        require(scale > 0.0 && std::isfinite(scale), "scale must be a positive finite number");
        auto& g = m.flat_grad();
        const double norm = g.norm().item<double>() * scale;
        *total_norm = norm;
        // Same rule as torch.nn.utils.clip_grad_norm_ on the scaled gradient: multiply by
        // max/(norm+1e-6) only when that shrinks it. One pass applies scale and clip together.
        double factor = scale;
        if (max_norm > 0.0 && std::isfinite(norm)) {
            const double coef = max_norm / (norm + 1e-6);
            if (coef < 1.0) factor *= coef;
        }
        if (factor != 1.0) g.mul_(factor);
    });
}

RNN_EXPORT int32_t rnn_model_seed(rnn_model* model, uint64_t seed) {
    return guarded([&] { checked(model).generator().set_current_seed(seed); });
}

RNN_EXPORT int32_t rnn_model_rng_state_size(const rnn_model* model, int64_t* size) {
    return guarded([&] {
        require(size != nullptr, "size is null");
        *size = checked(model).generator().get_state().numel();
    });
}

RNN_EXPORT int32_t rnn_model_get_rng_state(const rnn_model* model, uint8_t* destination, int64_t capacity) {
    return guarded([&] {
        require(destination != nullptr, "destination is null");
        auto state = checked(model).generator().get_state().contiguous();
        require(capacity == state.numel(), "rng state has " + std::to_string(state.numel()) + " bytes, caller passed " +
                                               std::to_string(capacity));
        std::memcpy(destination, state.data_ptr(), static_cast<size_t>(capacity));
    });
}

RNN_EXPORT int32_t rnn_model_set_rng_state(rnn_model* model, const uint8_t* source, int64_t size) {
    return guarded([&] {
        auto& m = checked(model);
        require(source != nullptr, "source is null");
        const auto expected = m.generator().get_state().numel();
        require(size == expected, "rng state must have " + std::to_string(expected) + " bytes, got " + std::to_string(size));
        auto state = at::from_blob(const_cast<uint8_t*>(source), {size}, at::kByte).clone();
        m.generator().set_state(state);
    });
}

}  // extern "C"
