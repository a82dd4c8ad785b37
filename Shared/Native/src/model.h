// A recurrent language model whose parameters and gradients each live in ONE flat buffer.
// Each named parameter is a leaf tensor aliasing its slice of the flat buffer, and its .grad is
// the matching slice of the flat gradient buffer, so autograd accumulates in place and the managed
// side moves parameters or gradients with a single copy (or none, through a pointer).
#pragma once

#include "rnn_bridge.h"

#include <ATen/ATen.h>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace rnnb {

struct ParamEntry {
    std::string name;
    int64_t offset;
    int64_t numel;
    std::vector<int64_t> shape;
    at::Tensor tensor;  // leaf alias into the flat buffer, requires_grad
};

struct LayerParams {
    at::Tensor w_ih, w_hh, b_ih, b_hh;
};

struct ForwardOutput {
    at::Tensor logits;      // [T*B, V]
    at::Tensor final_state; // [K, L, B, H]
};

class Model {
public:
    explicit Model(const rnn_model_config& config);

    const rnn_model_config& config() const { return config_; }
    at::Device device() const { return device_; }
    at::ScalarType dtype() const { return dtype_; }
    int64_t param_count() const { return flat_.numel(); }
    const std::vector<ParamEntry>& entries() const { return entries_; }
    int64_t state_components() const { return config_.cell == RNN_CELL_LSTM ? 2 : 1; }
    int64_t state_floats_per_stream() const { return state_components() * config_.layers * config_.hidden_size; }

    at::Tensor& flat() { return flat_; }
    at::Tensor& flat_grad() { return flat_grad_; }
    const at::Tensor& flat() const { return flat_; }
    const at::Tensor& flat_grad() const { return flat_grad_; }
    at::Generator& generator() { return generator_; }
    const at::Generator& generator() const { return generator_; }

    // state: [K, L, B, H] on the model's device.
    ForwardOutput forward(const at::Tensor& inputs, const at::Tensor& state, bool train);
    at::Tensor state_from_host(const void* state, int64_t streams) const;
    void state_to_host(const at::Tensor& state, void* destination) const;

private:
    void add_entry(const std::string& name, std::vector<int64_t> shape, int64_t& offset);
    at::Tensor& param(const std::string& name);
    void initialise();
    at::Tensor dropout(const at::Tensor& x, double p, bool train);

    rnn_model_config config_;
    at::Device device_;
    at::ScalarType dtype_;
    at::Tensor flat_;
    at::Tensor flat_grad_;
    std::vector<ParamEntry> entries_;
    at::Tensor encoder_;
    std::vector<LayerParams> layers_;
    at::Tensor decoder_weight_;
    at::Tensor decoder_bias_;
    at::Generator generator_;
};

}  // namespace rnnb
