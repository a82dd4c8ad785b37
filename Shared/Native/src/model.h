// A recurrent model whose parameters and gradients each live in ONE flat buffer, whatever its kind
// (language model, acceptor, transducer, encoder-decoder). Each named parameter is a leaf tensor
// aliasing its slice of the flat buffer, and its .grad is the matching slice of the flat gradient
// buffer, so autograd accumulates in place and the managed side moves parameters or gradients with a
// single copy (or none, through a pointer).
#pragma once

#include "packing.h"
#include "rnn_bridge.h"

#include <ATen/ATen.h>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace rnnb {

// How a parameter starts: uniform(-bound, bound) from the model's generator (bound 0 = zeros), then,
// for an lstm bias, the forget-gate slice set to the configured bias (input-hidden) or to 0 (hidden-hidden).
struct InitRule {
    enum class Forget { none, input_bias, hidden_bias };
    double bound = 0.0;
    Forget forget = Forget::none;
};

struct ParamEntry {
    std::string name;
    int64_t offset;
    int64_t numel;
    std::vector<int64_t> shape;
    InitRule init;
    at::Tensor tensor;  // leaf alias into the flat buffer, requires_grad
};

// One stacked, optionally bidirectional recurrent network, in PyTorch's flat-weights order: per layer,
// per direction, w_ih, w_hh, b_ih, b_hh.
struct RecurrentStack {
    int32_t cell = RNN_CELL_LSTM;
    int64_t layers = 0;
    int64_t directions = 1;
    std::vector<std::vector<at::Tensor>> weights;  // [layer] -> 4 * directions tensors
};

struct StackOutput {
    at::Tensor output;  // top layer, after its dropout: [T, B, D*H] padded or [N, D*H] packed
    at::Tensor h;       // final states [L*D, B, H], kernels' batch order (packing order when packed)
    at::Tensor c;       // lstm only
};

struct Linear {
    at::Tensor weight, bias;
};

struct ForwardOutput {
    at::Tensor logits;      // [T*B, V]
    at::Tensor final_state; // [K, L, B, H]
};

struct DecoderStart {
    at::Tensor h, c;  // [L, B, H] in the caller's order; c only for lstm
};

struct Decoded {
    at::Tensor tokens;   // int64 [B, max_length], -1 after each sequence's end
    at::Tensor lengths;  // int64 [B]
    at::Tensor scores;   // double [B], total log-probability
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
    int64_t state_floats_per_stream() const {
        return config_.task == RNN_TASK_LANGUAGE_MODEL ? state_components() * config_.layers * config_.hidden_size : 0;
    }
    // Refuses a call made for another kind of model, naming both.
    void require_task(int32_t task, const char* call) const;

    at::Tensor& flat() { return flat_; }
    at::Tensor& flat_grad() { return flat_grad_; }
    const at::Tensor& flat() const { return flat_; }
    const at::Tensor& flat_grad() const { return flat_grad_; }
    at::Generator& generator() { return generator_; }
    const at::Generator& generator() const { return generator_; }

    // Language model. state: [K, L, B, H] on the model's device.
    ForwardOutput forward(const at::Tensor& inputs, const at::Tensor& state, bool train);
    at::Tensor state_from_host(const void* state, int64_t streams) const;
    void state_to_host(const at::Tensor& state, void* destination) const;

    // Acceptor: logits [B, C] in the caller's order. packed_tokens = packing.pack(tokens).
    at::Tensor classify(const Packing& packing, const at::Tensor& packed_tokens, bool train);
    // Transducer: logits [N, C] in packing order.
    at::Tensor tag(const Packing& packing, const at::Tensor& packed_tokens, bool train);
    // Encoder-decoder with teacher forcing: logits [T*B, Vt] of decoder_inputs [T, B] (valid ids).
    at::Tensor seq2seq(const Packing& packing, const at::Tensor& packed_source, const at::Tensor& decoder_inputs,
                       bool train);
    // Encoder-decoder inference (tasks.cpp documents the search).
    Decoded decode(const Packing& packing, const at::Tensor& packed_source, int64_t bos, int64_t eos,
                   int64_t max_length, int64_t beam_width);

private:
    void add_entry(const std::string& name, std::vector<int64_t> shape, InitRule init, int64_t& offset);
    void add_stack(const std::string& prefix, int64_t input_size, int64_t directions, int64_t& offset);
    void add_linear(const std::string& prefix, int64_t in, int64_t out, int64_t& offset);
    at::Tensor& param(const std::string& name);
    RecurrentStack bind_stack(const std::string& prefix, int64_t directions);
    Linear bind_linear(const std::string& prefix);
    void initialise();
    at::Tensor dropout(const at::Tensor& x, double p, bool train);
    // Runs every layer of `stack`, one kernel call per layer so dropout between layers uses our
    // generator. batch_sizes defined = x is packed data; h0/c0: [L*D, B, H] in the kernels' batch order.
    StackOutput run_stack(const RecurrentStack& stack, at::Tensor x, const at::Tensor& batch_sizes,
                          const at::Tensor& h0, const at::Tensor& c0, bool train, double last_dropout);
    StackOutput encode(const Packing& packing, const at::Tensor& packed_tokens, bool train);
    at::Tensor pool(const StackOutput& encoded, const Packing& packing);
    at::Tensor head(const at::Tensor& features) const;
    DecoderStart decoder_start(const Packing& packing, const at::Tensor& packed_source, bool train);
    at::Tensor decoder_logits(const at::Tensor& inputs, const at::Tensor& h0, const at::Tensor& c0, bool train,
                              StackOutput* state);
    Decoded beam_search(const DecoderStart& start, int64_t bos, int64_t eos, int64_t max_length, int64_t beam_width);

    rnn_model_config config_;
    at::Device device_;
    at::ScalarType dtype_;
    at::Tensor flat_;
    at::Tensor flat_grad_;
    std::vector<ParamEntry> entries_;
    at::Tensor embedding_;       // encoder.weight, or encoder_embedding.weight (seq2seq)
    RecurrentStack rnn_;         // rnn.* (language model, acceptor, transducer) or encoder.* (seq2seq)
    at::Tensor decoder_weight_;  // language model
    at::Tensor decoder_bias_;
    at::Tensor query_;           // attention pooling
    std::vector<Linear> head_;   // acceptor, transducer: 1 or 2 layers
    Linear bridge_, bridge_cell_;
    at::Tensor decoder_embedding_;
    RecurrentStack decoder_;
    Linear output_;
    at::Generator generator_;
};

}  // namespace rnnb
