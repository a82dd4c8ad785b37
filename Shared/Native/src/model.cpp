#include "model.h"

#include "guard.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/version.h>

#include <cmath>
#include <cstring>

namespace rnnb {
namespace {

int64_t gate_count(int32_t cell) {
    switch (cell) {
        case RNN_CELL_LSTM: return 4;
        case RNN_CELL_GRU: return 3;
        case RNN_CELL_RNN_TANH:
        case RNN_CELL_RNN_RELU: return 1;
        default: fail(RNN_ERR_ARGUMENT, "unknown cell kind " + std::to_string(cell));
    }
}

at::Device resolve_device(const rnn_model_config& c) {
    if (c.device_type == 0) return at::Device(at::kCPU);
    if (c.device_type != 1) fail(RNN_ERR_ARGUMENT, "unknown device type " + std::to_string(c.device_type));
    if (!at::hasCUDA()) {
        fail(RNN_ERR_DEVICE, "device 'cuda:" + std::to_string(c.device_index) +
                                 "' requested, but this bridge was built against a libtorch without CUDA (libtorch " +
                                 std::string(TORCH_VERSION) + " from " + std::string(RNN_TORCH_ORIGIN) +
                                 "); rebuild the bridge with -DRNN_TORCH_DIR pointing at a CUDA build of libtorch");
    }
    return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(c.device_index));
}

const char* task_name(int32_t task) {
    switch (task) {
        case RNN_TASK_LANGUAGE_MODEL: return "language model";
        case RNN_TASK_ACCEPTOR: return "acceptor";
        case RNN_TASK_TRANSDUCER: return "transducer";
        case RNN_TASK_SEQ2SEQ: return "encoder-decoder";
        default: return "unknown kind";
    }
}

void validate(const rnn_model_config& c) {
    require(c.struct_size == sizeof(rnn_model_config),
            "rnn_model_config.struct_size is " + std::to_string(c.struct_size) + " but this bridge's struct has " +
                std::to_string(sizeof(rnn_model_config)) + " bytes: the caller was built against another bridge");
    require(c.task >= RNN_TASK_LANGUAGE_MODEL && c.task <= RNN_TASK_SEQ2SEQ, "unknown task kind " + std::to_string(c.task));
    require(c.layers >= 1, "layers must be >= 1, got " + std::to_string(c.layers));
    require(c.vocab_size >= 1, "vocab_size must be >= 1, got " + std::to_string(c.vocab_size));
    require(c.embedding_size >= 1, "embedding_size must be >= 1, got " + std::to_string(c.embedding_size));
    require(c.hidden_size >= 1, "hidden_size must be >= 1, got " + std::to_string(c.hidden_size));
    require(!c.tie_weights || c.task == RNN_TASK_LANGUAGE_MODEL,
            std::string("tied weights exist only for language models, not for kind '") + task_name(c.task) + "'");
    require(!c.tie_weights || c.embedding_size == c.hidden_size,
            "tied weights need embedding_size == hidden_size, got " + std::to_string(c.embedding_size) + " and " +
                std::to_string(c.hidden_size));
    require(!c.bidirectional || c.task != RNN_TASK_LANGUAGE_MODEL,
            "a language model cannot be bidirectional: its reverse direction would read the tokens it predicts");
    if (c.task == RNN_TASK_ACCEPTOR || c.task == RNN_TASK_TRANSDUCER) {
        require(c.classes >= 2, "classes must be >= 2, got " + std::to_string(c.classes));
        require(c.head_hidden_size >= 0, "head_hidden_size must be >= 0, got " + std::to_string(c.head_hidden_size));
        require(c.head_activation == RNN_ACT_TANH || c.head_activation == RNN_ACT_RELU,
                "unknown head activation " + std::to_string(c.head_activation));
    }
    if (c.task == RNN_TASK_ACCEPTOR) {
        require(c.pooling >= RNN_POOL_LAST && c.pooling <= RNN_POOL_ATTENTION, "unknown pooling " + std::to_string(c.pooling));
    }
    if (c.task == RNN_TASK_SEQ2SEQ) {
        require(c.target_vocab_size >= 1, "target_vocab_size must be >= 1, got " + std::to_string(c.target_vocab_size));
        require(c.decoder_embedding_size >= 1,
                "decoder_embedding_size must be >= 1, got " + std::to_string(c.decoder_embedding_size));
    }
    require(c.dtype == RNN_DTYPE_F32 || c.dtype == RNN_DTYPE_F64, "dtype must be f32 or f64");
    for (double p : {c.dropout_embedding, c.dropout_between_layers, c.dropout_output}) {
        require(p >= 0.0 && p < 1.0, "dropout must be in [0, 1), got " + std::to_string(p));
    }
    require(c.init_range > 0.0, "init_range must be > 0");
}

at::Generator make_generator(const at::Device& device, uint64_t seed) {
    if (device.is_cpu()) return at::make_generator<at::CPUGeneratorImpl>(seed);
    // CUDA: a private clone of the device's default generator, reseeded, so models do not share one.
    auto gen = at::globalContext().defaultGenerator(device).clone();
    gen.set_current_seed(seed);
    return gen;
}

struct LayerOutput {
    at::Tensor output, h, c;
};

// One layer, both directions when bidirectional; batch_sizes defined = x is packed data.
LayerOutput run_layer(int32_t cell, const at::Tensor& x, const at::Tensor& batch_sizes, const at::Tensor& h0,
                      const at::Tensor& c0, at::TensorList params, bool bidirectional, bool train) {
    const bool packed = batch_sizes.defined();
    switch (cell) {
        case RNN_CELL_LSTM: {
            auto out = packed ? at::lstm(x, batch_sizes, {h0, c0}, params, true, 1, 0.0, train, bidirectional)
                              : at::lstm(x, {h0, c0}, params, true, 1, 0.0, train, bidirectional, false);
            return {std::get<0>(out), std::get<1>(out), std::get<2>(out)};
        }
        case RNN_CELL_GRU: {
            auto out = packed ? at::gru(x, batch_sizes, h0, params, true, 1, 0.0, train, bidirectional)
                              : at::gru(x, h0, params, true, 1, 0.0, train, bidirectional, false);
            return {std::get<0>(out), std::get<1>(out), at::Tensor()};
        }
        case RNN_CELL_RNN_TANH: {
            auto out = packed ? at::rnn_tanh(x, batch_sizes, h0, params, true, 1, 0.0, train, bidirectional)
                              : at::rnn_tanh(x, h0, params, true, 1, 0.0, train, bidirectional, false);
            return {std::get<0>(out), std::get<1>(out), at::Tensor()};
        }
        default: {
            auto out = packed ? at::rnn_relu(x, batch_sizes, h0, params, true, 1, 0.0, train, bidirectional)
                              : at::rnn_relu(x, h0, params, true, 1, 0.0, train, bidirectional, false);
            return {std::get<0>(out), std::get<1>(out), at::Tensor()};
        }
    }
}

}  // namespace

Model::Model(const rnn_model_config& config)
    : config_(config),
      device_((validate(config), resolve_device(config))),
      dtype_(config.dtype == RNN_DTYPE_F64 ? at::kDouble : at::kFloat),
      generator_(make_generator(device_, config.seed)) {
    const int64_t E = config.embedding_size, H = config.hidden_size;
    const int64_t D = config.bidirectional ? 2 : 1, F = D * H;
    const double r = config.init_range;
    int64_t offset = 0;
    // Registration order is the layout, the state_dict order and the order of initial draws.
    switch (config.task) {
        case RNN_TASK_LANGUAGE_MODEL: {
            const int64_t V = config.vocab_size;
            add_entry("encoder.weight", {V, E}, {r}, offset);
            add_stack("rnn.", E, 1, offset);
            if (!config.tie_weights) add_entry("decoder.weight", {V, H}, {r}, offset);
            add_entry("decoder.bias", {V}, {0.0}, offset);
            break;
        }
        case RNN_TASK_ACCEPTOR:
        case RNN_TASK_TRANSDUCER: {
            add_entry("encoder.weight", {config.vocab_size, E}, {r}, offset);
            add_stack("rnn.", E, D, offset);
            if (config.task == RNN_TASK_ACCEPTOR && config.pooling == RNN_POOL_ATTENTION) {
                add_entry("attention.query", {F}, {1.0 / std::sqrt(static_cast<double>(F))}, offset);
            }
            // nn.Sequential(Linear, activation, Linear) numbers its children 0, 1, 2; the activation has no weights.
            const int64_t K = config.head_hidden_size, C = config.classes;
            if (K > 0) {
                add_linear("head.0.", F, K, offset);
                add_linear("head.2.", K, C, offset);
            } else {
                add_linear("head.0.", F, C, offset);
            }
            break;
        }
        default: {
            add_entry("encoder_embedding.weight", {config.vocab_size, E}, {r}, offset);
            add_stack("encoder.", E, D, offset);
            if (D == 2) {
                add_linear("bridge.", 2 * H, H, offset);
                if (config.cell == RNN_CELL_LSTM) add_linear("bridge_cell.", 2 * H, H, offset);
            }
            const int64_t Vt = config.target_vocab_size, Ed = config.decoder_embedding_size;
            add_entry("decoder_embedding.weight", {Vt, Ed}, {r}, offset);
            add_stack("decoder.", Ed, 1, offset);
            add_linear("output.", H, Vt, offset);
            break;
        }
    }

    auto options = at::TensorOptions().dtype(dtype_).device(device_);
    flat_ = at::zeros({offset}, options);
    flat_grad_ = at::zeros({offset}, options);
    for (auto& e : entries_) {
        // detach(): a leaf sharing the flat storage; its grad is the matching slice of flat_grad_,
        // so AccumulateGrad adds in place into the flat gradient buffer.
        e.tensor = flat_.narrow(0, e.offset, e.numel).view(e.shape).detach();
        e.tensor.requires_grad_(true);
        e.tensor.mutable_grad() = flat_grad_.narrow(0, e.offset, e.numel).view(e.shape);
    }
    switch (config.task) {
        case RNN_TASK_LANGUAGE_MODEL:
            embedding_ = param("encoder.weight");
            rnn_ = bind_stack("rnn.", 1);
            decoder_weight_ = config.tie_weights ? embedding_ : param("decoder.weight");
            decoder_bias_ = param("decoder.bias");
            break;
        case RNN_TASK_ACCEPTOR:
        case RNN_TASK_TRANSDUCER:
            embedding_ = param("encoder.weight");
            rnn_ = bind_stack("rnn.", D);
            if (config.task == RNN_TASK_ACCEPTOR && config.pooling == RNN_POOL_ATTENTION) query_ = param("attention.query");
            head_.push_back(bind_linear("head.0."));
            if (config.head_hidden_size > 0) head_.push_back(bind_linear("head.2."));
            break;
        default:
            embedding_ = param("encoder_embedding.weight");
            rnn_ = bind_stack("encoder.", D);
            if (D == 2) {
                bridge_ = bind_linear("bridge.");
                if (config.cell == RNN_CELL_LSTM) bridge_cell_ = bind_linear("bridge_cell.");
            }
            decoder_embedding_ = param("decoder_embedding.weight");
            decoder_ = bind_stack("decoder.", 1);
            output_ = bind_linear("output.");
            break;
    }
    initialise();
}

void Model::add_entry(const std::string& name, std::vector<int64_t> shape, InitRule init, int64_t& offset) {
    int64_t numel = 1;
    for (auto d : shape) numel *= d;
    entries_.push_back({name, offset, numel, std::move(shape), init, at::Tensor()});
    offset += numel;
}

void Model::add_stack(const std::string& prefix, int64_t input_size, int64_t directions, int64_t& offset) {
    const int64_t H = config_.hidden_size, G = gate_count(config_.cell);
    // PyTorch's nn.RNN family default: uniform(-1/sqrt(H), 1/sqrt(H)) for every weight and bias.
    const double k = 1.0 / std::sqrt(static_cast<double>(H));
    const bool lstm = config_.cell == RNN_CELL_LSTM;
    const InitRule weight{k}, bias_ih{k, lstm ? InitRule::Forget::input_bias : InitRule::Forget::none},
        bias_hh{k, lstm ? InitRule::Forget::hidden_bias : InitRule::Forget::none};
    for (int32_t l = 0; l < config_.layers; ++l) {
        const int64_t in = l == 0 ? input_size : directions * H;
        for (int64_t d = 0; d < directions; ++d) {
            const std::string s = std::to_string(l) + (d == 1 ? "_reverse" : "");
            add_entry(prefix + "weight_ih_l" + s, {G * H, in}, weight, offset);
            add_entry(prefix + "weight_hh_l" + s, {G * H, H}, weight, offset);
            add_entry(prefix + "bias_ih_l" + s, {G * H}, bias_ih, offset);
            add_entry(prefix + "bias_hh_l" + s, {G * H}, bias_hh, offset);
        }
    }
}

void Model::add_linear(const std::string& prefix, int64_t in, int64_t out, int64_t& offset) {
    // nn.Linear's default bound, for weight and bias alike.
    const InitRule rule{1.0 / std::sqrt(static_cast<double>(in))};
    add_entry(prefix + "weight", {out, in}, rule, offset);
    add_entry(prefix + "bias", {out}, rule, offset);
}

at::Tensor& Model::param(const std::string& name) {
    for (auto& e : entries_) {
        if (e.name == name) return e.tensor;
    }
    fail(RNN_ERR_STATE, "no parameter named " + name);
}

RecurrentStack Model::bind_stack(const std::string& prefix, int64_t directions) {
    RecurrentStack stack;
    stack.cell = config_.cell;
    stack.layers = config_.layers;
    stack.directions = directions;
    for (int32_t l = 0; l < config_.layers; ++l) {
        std::vector<at::Tensor> weights;
        for (int64_t d = 0; d < directions; ++d) {
            const std::string s = std::to_string(l) + (d == 1 ? "_reverse" : "");
            for (const char* kind : {"weight_ih_l", "weight_hh_l", "bias_ih_l", "bias_hh_l"}) {
                weights.push_back(param(prefix + kind + s));
            }
        }
        stack.weights.push_back(std::move(weights));
    }
    return stack;
}

Linear Model::bind_linear(const std::string& prefix) { return {param(prefix + "weight"), param(prefix + "bias")}; }

void Model::require_task(int32_t task, const char* call) const {
    if (config_.task != task) {
        fail(RNN_ERR_STATE, std::string(call) + " needs a model of kind '" + task_name(task) + "', this one is '" +
                                task_name(config_.task) + "'");
    }
}

void Model::initialise() {
    at::NoGradGuard no_grad;
    // Every draw comes from the model's generator in layout order, so a seed fixes every parameter.
    const int64_t H = config_.hidden_size;
    for (auto& e : entries_) {
        if (e.init.bound > 0.0) {
            e.tensor.uniform_(-e.init.bound, e.init.bound, generator_);
        } else {
            e.tensor.zero_();
        }
        // Gate order i, f, g, o: a forget bias near 1 lets gradients flow early in training.
        if (e.init.forget == InitRule::Forget::input_bias) e.tensor.narrow(0, H, H).fill_(config_.forget_bias);
        if (e.init.forget == InitRule::Forget::hidden_bias) e.tensor.narrow(0, H, H).zero_();
    }
}

at::Tensor Model::dropout(const at::Tensor& x, double p, bool train) {
    if (!train || p <= 0.0) return x;
    // Our own mask drawn from the model's generator (at::dropout uses the global one), so replicas in
    // one process stay independent and a checkpoint can restore the exact stream of masks.
    auto mask = at::empty_like(x).bernoulli_(1.0 - p, generator_).div_(1.0 - p);
    return x * mask;
}

StackOutput Model::run_stack(const RecurrentStack& stack, at::Tensor x, const at::Tensor& batch_sizes,
                             const at::Tensor& h0, const at::Tensor& c0, bool train, double last_dropout) {
    const int64_t D = stack.directions;
    const bool lstm = stack.cell == RNN_CELL_LSTM;
    // The kernels' own dropout is always 0; their train flag only makes cuDNN keep what backward needs,
    // which an evaluation-mode gradient (a gradient check) needs too.
    const bool kernel_train = train || at::GradMode::is_enabled();
    std::vector<at::Tensor> finals_h, finals_c;
    for (int64_t l = 0; l < stack.layers; ++l) {
        auto out = run_layer(stack.cell, x, batch_sizes, h0.narrow(0, l * D, D), lstm ? c0.narrow(0, l * D, D) : at::Tensor(),
                             stack.weights[static_cast<size_t>(l)], D == 2, kernel_train);
        finals_h.push_back(out.h);
        if (lstm) finals_c.push_back(out.c);
        const double p = l + 1 < stack.layers ? config_.dropout_between_layers : last_dropout;
        x = dropout(out.output, p, train);
    }
    return {x, at::cat(finals_h, 0), lstm ? at::cat(finals_c, 0) : at::Tensor()};
}

ForwardOutput Model::forward(const at::Tensor& inputs, const at::Tensor& state, bool train) {
    const int64_t T = inputs.size(0), B = inputs.size(1), H = config_.hidden_size;
    const bool lstm = config_.cell == RNN_CELL_LSTM;
    auto x = dropout(at::embedding(embedding_, inputs), config_.dropout_embedding, train);
    auto out = run_stack(rnn_, x, at::Tensor(), state[0], lstm ? state[1] : at::Tensor(), train, config_.dropout_output);
    auto logits = at::linear(out.output.reshape({T * B, H}), decoder_weight_, decoder_bias_);
    std::vector<at::Tensor> parts{out.h};
    if (lstm) parts.push_back(out.c);
    return {logits, at::stack(parts, 0).detach()};
}

at::Tensor Model::state_from_host(const void* state, int64_t streams) const {
    const int64_t K = state_components(), L = config_.layers, H = config_.hidden_size;
    if (state == nullptr) return at::zeros({K, L, streams, H}, at::TensorOptions().dtype(dtype_).device(device_));
    // Host layout is stream-major [B, K, L, H]; the kernels want [K, L, B, H].
    auto host = at::from_blob(const_cast<void*>(state), {streams, K, L, H}, at::TensorOptions().dtype(dtype_));
    return host.permute({1, 2, 0, 3}).contiguous().to(device_);
}

void Model::state_to_host(const at::Tensor& state, void* destination) const {
    auto host = state.permute({2, 0, 1, 3}).contiguous().to(at::kCPU);
    std::memcpy(destination, host.data_ptr(), static_cast<size_t>(host.numel()) * host.element_size());
}

}  // namespace rnnb
