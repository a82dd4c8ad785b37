// Optimizers over a model's flat buffers: one fused update per step instead of one per tensor, and
// state kept as flat buffers in the parameter layout, so checkpoints store them as plain tensors.
// The update rules follow torch.optim.SGD, Adam and AdamW (PyTorch 1.13 semantics).
#include "guard.h"
#include "handles.h"

#include <cmath>
#include <cstring>

using rnnb::fail;
using rnnb::guarded;
using rnnb::require;

struct rnn_optimizer {
    rnn_optimizer_config config{};
    int64_t step = 0;
    std::vector<std::string> names;
    std::vector<at::Tensor> states;
};

namespace {

rnn_optimizer& checked(rnn_optimizer* o) {
    if (o == nullptr) fail(RNN_ERR_ARGUMENT, "optimizer handle is null");
    return *o;
}

const rnn_optimizer& checked(const rnn_optimizer* o) {
    if (o == nullptr) fail(RNN_ERR_ARGUMENT, "optimizer handle is null");
    return *o;
}

at::Tensor& state_at(rnn_optimizer& o, int32_t index) {
    require(index >= 0 && index < static_cast<int32_t>(o.states.size()), "optimizer state index out of range");
    return o.states[static_cast<size_t>(index)];
}

}  // namespace

extern "C" {

RNN_EXPORT int32_t rnn_optimizer_create(const rnn_model* model, const rnn_optimizer_config* config, rnn_optimizer** out) {
    return guarded([&] {
        require(model != nullptr && config != nullptr && out != nullptr, "arguments must not be null");
        *out = nullptr;
        const auto& c = *config;
        require(c.weight_decay >= 0.0, "weight_decay must be >= 0");
        auto opt = std::make_unique<rnn_optimizer>();
        opt->config = c;
        const auto& flat = model->impl.flat();
        switch (c.kind) {
            case RNN_OPT_SGD:
                require(c.momentum >= 0.0 && c.momentum < 1.0, "momentum must be in [0, 1)");
                require(!c.nesterov || c.momentum > 0.0, "nesterov needs momentum > 0");
                if (c.momentum > 0.0) {
                    opt->names.emplace_back("momentum_buffer");
                    opt->states.push_back(at::zeros_like(flat));
                }
                break;
            case RNN_OPT_ADAM:
            case RNN_OPT_ADAMW:
                require(c.beta1 >= 0.0 && c.beta1 < 1.0 && c.beta2 >= 0.0 && c.beta2 < 1.0, "betas must be in [0, 1)");
                require(c.epsilon > 0.0, "epsilon must be > 0");
                opt->names.emplace_back("exp_avg");
                opt->names.emplace_back("exp_avg_sq");
                opt->states.push_back(at::zeros_like(flat));
                opt->states.push_back(at::zeros_like(flat));
                break;
            default: fail(RNN_ERR_ARGUMENT, "unknown optimizer kind " + std::to_string(c.kind));
        }
        *out = opt.release();
    });
}

RNN_EXPORT void rnn_optimizer_destroy(rnn_optimizer* optimizer) {
    try {
        delete optimizer;
    } catch (...) {
    }
}

RNN_EXPORT int32_t rnn_optimizer_step(rnn_optimizer* optimizer, rnn_model* model, double lr) {
    return guarded([&] {
        auto& o = checked(optimizer);
        require(model != nullptr, "model handle is null");
        auto& p = model->impl.flat();
        auto& g = model->impl.flat_grad();
        require(!o.states.empty() ? o.states[0].numel() == p.numel() : true, "optimizer was created for another model");
        at::NoGradGuard no_grad;
        const auto& c = o.config;
        o.step += 1;
        if (c.kind == RNN_OPT_SGD) {
            at::Tensor d = c.weight_decay != 0.0 ? g.add(p, c.weight_decay) : g;
            if (c.momentum > 0.0) {
                auto& buf = o.states[0];
                // torch.optim.SGD starts the buffer at the first gradient (no dampening).
                if (o.step == 1) buf.copy_(d); else buf.mul_(c.momentum).add_(d);
                d = c.nesterov ? d.add(buf, c.momentum) : buf;
            }
            p.add_(d, -lr);
            return;
        }
        auto& m = o.states[0];
        auto& v = o.states[1];
        at::Tensor d = g;
        if (c.kind == RNN_OPT_ADAMW) {
            p.mul_(1.0 - lr * c.weight_decay);
        } else if (c.weight_decay != 0.0) {
            d = g.add(p, c.weight_decay);
        }
        m.mul_(c.beta1).add_(d, 1.0 - c.beta1);
        v.mul_(c.beta2).addcmul_(d, d, 1.0 - c.beta2);
        const double bias1 = 1.0 - std::pow(c.beta1, static_cast<double>(o.step));
        const double bias2 = 1.0 - std::pow(c.beta2, static_cast<double>(o.step));
        auto denom = (v.sqrt() / std::sqrt(bias2)).add_(c.epsilon);
        p.addcdiv_(m, denom, -lr / bias1);
    });
}

RNN_EXPORT int32_t rnn_optimizer_state_count(const rnn_optimizer* optimizer, int32_t* count) {
    return guarded([&] {
        require(count != nullptr, "count is null");
        *count = static_cast<int32_t>(checked(optimizer).states.size());
    });
}

RNN_EXPORT int32_t rnn_optimizer_state_name(const rnn_optimizer* optimizer, int32_t index, char* buffer, int32_t capacity) {
    return guarded([&] {
        const auto& o = checked(optimizer);
        require(index >= 0 && index < static_cast<int32_t>(o.names.size()), "optimizer state index out of range");
        require(buffer != nullptr, "buffer is null");
        const auto& name = o.names[static_cast<size_t>(index)];
        require(static_cast<int32_t>(name.size()) < capacity, "name buffer too small");
        std::memcpy(buffer, name.c_str(), name.size() + 1);
    });
}

RNN_EXPORT int32_t rnn_optimizer_read_state(const rnn_optimizer* optimizer, int32_t index, void* destination, int64_t count) {
    return guarded([&] {
        auto& s = state_at(const_cast<rnn_optimizer&>(checked(optimizer)), index);
        require(destination != nullptr, "destination is null");
        require(count == s.numel(), "state holds " + std::to_string(s.numel()) + " elements, caller passed " + std::to_string(count));
        auto host = s.to(at::kCPU);
        std::memcpy(destination, host.data_ptr(), static_cast<size_t>(count) * host.element_size());
    });
}

RNN_EXPORT int32_t rnn_optimizer_write_state(rnn_optimizer* optimizer, int32_t index, const void* source, int64_t count) {
    return guarded([&] {
        auto& s = state_at(checked(optimizer), index);
        require(source != nullptr, "source is null");
        require(count == s.numel(), "state holds " + std::to_string(s.numel()) + " elements, caller passed " + std::to_string(count));
        s.copy_(at::from_blob(const_cast<void*>(source), {count}, at::TensorOptions().dtype(s.scalar_type())));
    });
}

RNN_EXPORT int32_t rnn_optimizer_get_step(const rnn_optimizer* optimizer, int64_t* step) {
    return guarded([&] {
        require(step != nullptr, "step is null");
        *step = checked(optimizer).step;
    });
}

RNN_EXPORT int32_t rnn_optimizer_set_step(rnn_optimizer* optimizer, int64_t step) {
    return guarded([&] {
        require(step >= 0, "step must be >= 0");
        checked(optimizer).step = step;
    });
}

}  // extern "C"
