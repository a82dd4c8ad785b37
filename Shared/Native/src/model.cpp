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

void validate(const rnn_model_config& c) {
    require(c.layers >= 1, "layers must be >= 1, got " + std::to_string(c.layers));
    require(c.vocab_size >= 1, "vocab_size must be >= 1, got " + std::to_string(c.vocab_size));
    require(c.embedding_size >= 1, "embedding_size must be >= 1, got " + std::to_string(c.embedding_size));
    require(c.hidden_size >= 1, "hidden_size must be >= 1, got " + std::to_string(c.hidden_size));
    require(!c.tie_weights || c.embedding_size == c.hidden_size,
            "tied weights need embedding_size == hidden_size, got " + std::to_string(c.embedding_size) + " and " +
                std::to_string(c.hidden_size));
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

}  // namespace

Model::Model(const rnn_model_config& config)
    : config_(config),
      device_((validate(config), resolve_device(config))),
      dtype_(config.dtype == RNN_DTYPE_F64 ? at::kDouble : at::kFloat),
      generator_(make_generator(device_, config.seed)) {
    const int64_t V = config.vocab_size, E = config.embedding_size, H = config.hidden_size;
    const int64_t G = gate_count(config.cell);
    int64_t offset = 0;
    add_entry("encoder.weight", {V, E}, offset);
    for (int32_t l = 0; l < config.layers; ++l) {
        const int64_t in = l == 0 ? E : H;
        const std::string s = std::to_string(l);
        add_entry("rnn.weight_ih_l" + s, {G * H, in}, offset);
        add_entry("rnn.weight_hh_l" + s, {G * H, H}, offset);
        add_entry("rnn.bias_ih_l" + s, {G * H}, offset);
        add_entry("rnn.bias_hh_l" + s, {G * H}, offset);
    }
    if (!config.tie_weights) add_entry("decoder.weight", {V, H}, offset);
    add_entry("decoder.bias", {V}, offset);

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
    encoder_ = param("encoder.weight");
    for (int32_t l = 0; l < config.layers; ++l) {
        const std::string s = std::to_string(l);
        layers_.push_back({param("rnn.weight_ih_l" + s), param("rnn.weight_hh_l" + s), param("rnn.bias_ih_l" + s),
                           param("rnn.bias_hh_l" + s)});
    }
    decoder_weight_ = config.tie_weights ? encoder_ : param("decoder.weight");
    decoder_bias_ = param("decoder.bias");
    initialise();
}

void Model::add_entry(const std::string& name, std::vector<int64_t> shape, int64_t& offset) {
    int64_t numel = 1;
    for (auto d : shape) numel *= d;
    entries_.push_back({name, offset, numel, std::move(shape), at::Tensor()});
    offset += numel;
}

at::Tensor& Model::param(const std::string& name) {
    for (auto& e : entries_) {
        if (e.name == name) return e.tensor;
    }
    fail(RNN_ERR_STATE, "no parameter named " + name);
}

void Model::initialise() {
    at::NoGradGuard no_grad;
    // Order matters for reproducibility: every draw comes from the model's generator in layout order.
    const double r = config_.init_range;
    const double k = 1.0 / std::sqrt(static_cast<double>(config_.hidden_size));
    encoder_.uniform_(-r, r, generator_);
    for (auto& layer : layers_) {
        // PyTorch's nn.RNN family default: uniform(-1/sqrt(H), 1/sqrt(H)) for every weight and bias.
        for (auto* t : {&layer.w_ih, &layer.w_hh, &layer.b_ih, &layer.b_hh}) t->uniform_(-k, k, generator_);
        if (config_.cell == RNN_CELL_LSTM) {
            // Gate order i, f, g, o: a forget bias near 1 lets gradients flow early in training.
            const int64_t H = config_.hidden_size;
            layer.b_ih.narrow(0, H, H).fill_(config_.forget_bias);
            layer.b_hh.narrow(0, H, H).zero_();
        }
    }
    if (!config_.tie_weights) decoder_weight_.uniform_(-r, r, generator_);
    decoder_bias_.zero_();
}

at::Tensor Model::dropout(const at::Tensor& x, double p, bool train) {
    if (!train || p <= 0.0) return x;
    // Our own mask drawn from the model's generator (at::dropout uses the global one), so replicas in
    // one process stay independent and a checkpoint can restore the exact stream of masks.
    auto mask = at::empty_like(x).bernoulli_(1.0 - p, generator_).div_(1.0 - p);
    return x * mask;
}

ForwardOutput Model::forward(const at::Tensor& inputs, const at::Tensor& state, bool train) {
    const int64_t T = inputs.size(0), B = inputs.size(1), H = config_.hidden_size;
    auto x = dropout(at::embedding(encoder_, inputs), config_.dropout_embedding, train);
    std::vector<at::Tensor> finals_h, finals_c;
    // One call per layer (the CPU kernels loop layers anyway) so dropout between layers uses our generator.
    for (int32_t l = 0; l < config_.layers; ++l) {
        auto& p = layers_[l];
        std::vector<at::Tensor> params{p.w_ih, p.w_hh, p.b_ih, p.b_hh};
        auto h0 = state[0][l].unsqueeze(0);
        switch (config_.cell) {
            case RNN_CELL_LSTM: {
                auto c0 = state[1][l].unsqueeze(0);
                auto out = at::lstm(x, {h0, c0}, params, true, 1, 0.0, train, false, false);
                x = std::get<0>(out);
                finals_h.push_back(std::get<1>(out));
                finals_c.push_back(std::get<2>(out));
                break;
            }
            case RNN_CELL_GRU: {
                auto out = at::gru(x, h0, params, true, 1, 0.0, train, false, false);
                x = std::get<0>(out);
                finals_h.push_back(std::get<1>(out));
                break;
            }
            case RNN_CELL_RNN_TANH: {
                auto out = at::rnn_tanh(x, h0, params, true, 1, 0.0, train, false, false);
                x = std::get<0>(out);
                finals_h.push_back(std::get<1>(out));
                break;
            }
            default: {
                auto out = at::rnn_relu(x, h0, params, true, 1, 0.0, train, false, false);
                x = std::get<0>(out);
                finals_h.push_back(std::get<1>(out));
                break;
            }
        }
        const double p_drop = l + 1 < config_.layers ? config_.dropout_between_layers : config_.dropout_output;
        x = dropout(x, p_drop, train);
    }
    auto logits = at::linear(x.reshape({T * B, H}), decoder_weight_, decoder_bias_);
    std::vector<at::Tensor> parts{at::cat(finals_h, 0)};
    if (!finals_c.empty()) parts.push_back(at::cat(finals_c, 0));
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
