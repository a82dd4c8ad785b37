// C exports of the task models (ABI 5): acceptor, transducer, encoder-decoder. Each validates its
// arguments, refuses a model of another kind, then runs inside guarded().
#include "api_support.h"

#include <cstring>
#include <string>
#include <vector>

using rnnb::checked;
using rnnb::copy_to_host;
using rnnb::fail;
using rnnb::guarded;
using rnnb::Model;
using rnnb::Packing;
using rnnb::require;

namespace {

// Caller lengths as the CPU int64 tensor packing wants, each in [1, steps]; names the first bad one.
at::Tensor lengths_tensor(const int32_t* lengths, int32_t steps, int32_t batch, const char* what) {
    require(lengths != nullptr, std::string(what) + " is null");
    auto t = at::empty({batch}, at::kLong);
    auto* p = t.data_ptr<int64_t>();
    for (int32_t b = 0; b < batch; ++b) {
        if (lengths[b] < 1 || lengths[b] > steps) {
            fail(RNN_ERR_ARGUMENT, std::string(what) + "[" + std::to_string(b) + "] = " + std::to_string(lengths[b]) +
                                       " is outside [1, " + std::to_string(steps) + "]");
        }
        p[b] = lengths[b];
    }
    return t;
}

at::Tensor ids_tensor(const Model& m, const int64_t* ids, std::vector<int64_t> shape, const char* what) {
    require(ids != nullptr, std::string(what) + " is null");
    return at::from_blob(const_cast<int64_t*>(ids), shape, at::kLong).to(m.device());
}

// Out-of-range ids would read outside an embedding or a class list: refuse them with the extremes.
void require_range(const at::Tensor& ids, int64_t low, int64_t high, const char* what) {
    if (ids.numel() == 0) return;
    const auto mn = ids.min().item<int64_t>(), mx = ids.max().item<int64_t>();
    if (mn < low || mx >= high) {
        fail(RNN_ERR_ARGUMENT, std::string(what) + " out of range [" + std::to_string(low) + ", " + std::to_string(high) +
                                   "): min " + std::to_string(mn) + ", max " + std::to_string(mx));
    }
}

struct PaddedBatch {
    Packing packing;
    at::Tensor packed_tokens;  // only valid positions: padding is never read, so never checked
};

PaddedBatch padded_batch(const Model& m, const int64_t* tokens, const int32_t* lengths, int32_t steps, int32_t batch,
                         const char* what) {
    require(steps >= 1 && batch >= 1, "steps and batch must be >= 1, got " + std::to_string(steps) + " and " +
                                          std::to_string(batch));
    Packing packing(lengths_tensor(lengths, steps, batch, "lengths"), steps, m.device());
    auto packed = packing.pack(ids_tensor(m, tokens, {steps, batch}, what));
    require_range(packed, 0, m.config().vocab_size, what);
    return {std::move(packing), packed};
}

// Summed cross-entropy, count and right argmax over targets != -1; backward from the sum when asked.
// No targets (prediction only): all zero.
void score(const at::Tensor& logits, const at::Tensor& targets, bool backward, rnn_window_result* result) {
    *result = rnn_window_result{0.0, 0, 0};
    if (!targets.defined()) return;
    auto loss = at::cross_entropy_loss(logits, targets, {}, at::Reduction::Sum, -1);
    if (backward) loss.backward();
    result->loss_sum = loss.item<double>();
    result->tokens = targets.ne(-1).sum().item<int64_t>();
    result->correct = logits.argmax(1).eq(targets).sum().item<int64_t>();
}

void require_targets_for_backward(const void* targets, int32_t backward, const char* what) {
    require(targets != nullptr || backward == 0, std::string("backward needs ") + what + " (got null)");
}

}  // namespace

extern "C" {

RNN_EXPORT int32_t rnn_model_classify(rnn_model* model, const int64_t* tokens, const int32_t* lengths, int32_t steps,
                                      int32_t batch, const int64_t* labels, int32_t train, int32_t backward,
                                      int64_t* predictions, void* logits, rnn_window_result* result) {
    return guarded([&] {
        auto& m = checked(model);
        m.require_task(RNN_TASK_ACCEPTOR, "rnn_model_classify");
        require(result != nullptr, "result is null");
        require_targets_for_backward(labels, backward, "labels");
        auto input = padded_batch(m, tokens, lengths, steps, batch, "token id");
        at::Tensor y;
        if (labels != nullptr) {
            y = ids_tensor(m, labels, {batch}, "labels");
            require_range(y, -1, m.config().classes, "label");
        }
        rnnb::with_autograd(backward != 0, [&] {
            auto out = m.classify(input.packing, input.packed_tokens, train != 0);
            score(out, y, backward != 0, result);
            if (predictions != nullptr) copy_to_host(out.argmax(1), predictions);
            if (logits != nullptr) copy_to_host(out, logits);
        });
    });
}

RNN_EXPORT int32_t rnn_model_tag(rnn_model* model, const int64_t* tokens, const int32_t* lengths, int32_t steps,
                                 int32_t batch, const int64_t* tags, int32_t train, int32_t backward,
                                 int64_t* predictions, rnn_window_result* result) {
    return guarded([&] {
        auto& m = checked(model);
        m.require_task(RNN_TASK_TRANSDUCER, "rnn_model_tag");
        require(result != nullptr, "result is null");
        require_targets_for_backward(tags, backward, "tags");
        auto input = padded_batch(m, tokens, lengths, steps, batch, "token id");
        at::Tensor y;
        if (tags != nullptr) {
            // Packed like the tokens: tags at padding are never read, whatever they hold.
            y = input.packing.pack(ids_tensor(m, tags, {steps, batch}, "tags"));
            require_range(y, -1, m.config().classes, "tag");
        }
        rnnb::with_autograd(backward != 0, [&] {
            auto out = m.tag(input.packing, input.packed_tokens, train != 0);
            score(out, y, backward != 0, result);
            if (predictions != nullptr) copy_to_host(input.packing.unpack(out.argmax(1), -1), predictions);
        });
    });
}

RNN_EXPORT int32_t rnn_model_seq2seq(rnn_model* model, const int64_t* source, const int32_t* source_lengths,
                                     int32_t source_steps, int32_t batch, const int64_t* decoder_inputs,
                                     const int64_t* decoder_targets, int32_t target_steps, int32_t train,
                                     int32_t backward, void* logits, rnn_window_result* result) {
    return guarded([&] {
        auto& m = checked(model);
        m.require_task(RNN_TASK_SEQ2SEQ, "rnn_model_seq2seq");
        require(result != nullptr, "result is null");
        require(target_steps >= 1, "target_steps must be >= 1, got " + std::to_string(target_steps));
        require_targets_for_backward(decoder_targets, backward, "decoder_targets");
        auto input = padded_batch(m, source, source_lengths, source_steps, batch, "source token id");
        const int64_t Vt = m.config().target_vocab_size;
        auto inputs = ids_tensor(m, decoder_inputs, {target_steps, batch}, "decoder_inputs");
        require_range(inputs, -1, Vt, "decoder input id");
        at::Tensor y;
        if (decoder_targets != nullptr) {
            y = ids_tensor(m, decoder_targets, {target_steps, batch}, "decoder_targets");
            require_range(y, -1, Vt, "decoder target id");
            // A padding input feeds every later position of its sequence, so none of them may count.
            auto padded_from = inputs.eq(-1).to(at::kLong).cumsum(0).gt(0);
            require(!padded_from.logical_and(y.ne(-1)).any().item<bool>(),
                    "a decoder target is counted at or after a padding (-1) decoder input of the same sequence");
            y = y.reshape({-1});
        }
        rnnb::with_autograd(backward != 0, [&] {
            auto out = m.seq2seq(input.packing, input.packed_tokens, inputs.clamp_min(0), train != 0);
            score(out, y, backward != 0, result);
            if (logits != nullptr) copy_to_host(out, logits);
        });
    });
}

RNN_EXPORT int32_t rnn_model_decode(rnn_model* model, const int64_t* source, const int32_t* source_lengths,
                                    int32_t source_steps, int32_t batch, int64_t bos, int64_t eos, int32_t max_length,
                                    int32_t beam_width, int64_t* output, int32_t* output_lengths, double* scores) {
    return guarded([&] {
        auto& m = checked(model);
        m.require_task(RNN_TASK_SEQ2SEQ, "rnn_model_decode");
        require(output != nullptr && output_lengths != nullptr, "output and output_lengths must not be null");
        require(max_length >= 1, "max_length must be >= 1, got " + std::to_string(max_length));
        require(beam_width >= 1, "beam_width must be >= 1, got " + std::to_string(beam_width));
        const int64_t Vt = m.config().target_vocab_size;
        require(bos >= 0 && bos < Vt && eos >= 0 && eos < Vt,
                "bos " + std::to_string(bos) + " and eos " + std::to_string(eos) + " must be in [0, " +
                    std::to_string(Vt) + ")");
        auto input = padded_batch(m, source, source_lengths, source_steps, batch, "source token id");
        c10::InferenceMode no_autograd;
        auto decoded = m.decode(input.packing, input.packed_tokens, bos, eos, max_length, beam_width);
        copy_to_host(decoded.tokens, output);
        copy_to_host(decoded.lengths.to(at::kInt), output_lengths);
        if (scores != nullptr) copy_to_host(decoded.scores, scores);
    });
}

}  // extern "C"
