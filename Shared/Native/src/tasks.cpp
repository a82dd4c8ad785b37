// Forward passes of the task models: acceptor (pooling + head), transducer (head at every position)
// and encoder-decoder (teacher forcing, beam search). Padded batches run packed (packing.h).
#include "model.h"

#include <limits>

namespace rnnb {

StackOutput Model::encode(const Packing& packing, const at::Tensor& packed_tokens, bool train) {
    // Embedding the packed ids, not the padded window: padding is never looked up, so it may hold anything.
    auto x = dropout(at::embedding(embedding_, packed_tokens), config_.dropout_embedding, train);
    const int64_t LD = rnn_.layers * rnn_.directions, B = packing.batch(), H = config_.hidden_size;
    auto zeros = at::zeros({LD, B, H}, x.options());
    return run_stack(rnn_, x, packing.batch_sizes(), zeros, zeros, train, 0.0);
}

at::Tensor Model::pool(const StackOutput& encoded, const Packing& packing) {
    const int64_t B = packing.batch(), H = config_.hidden_size, D = rnn_.directions;
    if (config_.pooling == RNN_POOL_LAST) {
        // The kernels' final states of the top layer: forward at each sequence's last token, reverse at
        // its first, joined as [forward; reverse] like the outputs.
        auto top = encoded.h.narrow(0, (rnn_.layers - 1) * D, D);
        return packing.to_caller_order(top.permute({1, 0, 2}).reshape({B, D * H}), 0);
    }
    auto states = packing.unpack(encoded.output, 0.0);  // [T, B, F], zeros at padding
    auto valid = packing.valid_mask().unsqueeze(2);     // [T, B, 1]
    switch (config_.pooling) {
        case RNN_POOL_MEAN:
            return states.sum(0) / packing.lengths().unsqueeze(1).to(states.scalar_type());
        case RNN_POOL_MAX:
            return states.masked_fill(valid.logical_not(), -std::numeric_limits<double>::infinity()).amax(0);
        default: {
            auto scores = at::matmul(states, query_).masked_fill(valid.squeeze(2).logical_not(),
                                                                  -std::numeric_limits<double>::infinity());
            auto weights = at::softmax(scores, 0);  // [T, B]
            return (weights.unsqueeze(2) * states).sum(0);
        }
    }
}

at::Tensor Model::head(const at::Tensor& features) const {
    auto x = at::linear(features, head_[0].weight, head_[0].bias);
    if (head_.size() == 1) return x;
    x = config_.head_activation == RNN_ACT_RELU ? at::relu(x) : at::tanh(x);
    return at::linear(x, head_[1].weight, head_[1].bias);
}

at::Tensor Model::classify(const Packing& packing, const at::Tensor& packed_tokens, bool train) {
    auto pooled = pool(encode(packing, packed_tokens, train), packing);
    return head(dropout(pooled, config_.dropout_output, train));
}

at::Tensor Model::tag(const Packing& packing, const at::Tensor& packed_tokens, bool train) {
    auto encoded = encode(packing, packed_tokens, train);
    return head(dropout(encoded.output, config_.dropout_output, train));
}

DecoderStart Model::decoder_start(const Packing& packing, const at::Tensor& packed_source, bool train) {
    auto encoded = encode(packing, packed_source, train);
    const bool lstm = config_.cell == RNN_CELL_LSTM;
    auto h = packing.to_caller_order(encoded.h, 1);
    auto c = lstm ? packing.to_caller_order(encoded.c, 1) : at::Tensor();
    if (rnn_.directions == 1) return {h, c};
    // [L*2, B, H] (layer-major, forward then reverse) -> [L, B, 2H]: each layer's two finals side by side.
    const int64_t L = rnn_.layers, B = packing.batch(), H = config_.hidden_size;
    auto join = [&](const at::Tensor& t) { return t.view({L, 2, B, H}).permute({0, 2, 1, 3}).reshape({L, B, 2 * H}); };
    auto h0 = at::tanh(at::linear(join(h), bridge_.weight, bridge_.bias));
    auto c0 = lstm ? at::linear(join(c), bridge_cell_.weight, bridge_cell_.bias) : at::Tensor();
    return {h0, c0};
}

at::Tensor Model::decoder_logits(const at::Tensor& inputs, const at::Tensor& h0, const at::Tensor& c0, bool train,
                                 StackOutput* state) {
    const int64_t T = inputs.size(0), B = inputs.size(1), H = config_.hidden_size;
    auto x = dropout(at::embedding(decoder_embedding_, inputs), config_.dropout_embedding, train);
    auto out = run_stack(decoder_, x, at::Tensor(), h0, c0, train, config_.dropout_output);
    auto logits = at::linear(out.output.reshape({T * B, H}), output_.weight, output_.bias);
    if (state != nullptr) *state = std::move(out);
    return logits;
}

at::Tensor Model::seq2seq(const Packing& packing, const at::Tensor& packed_source, const at::Tensor& decoder_inputs,
                          bool train) {
    auto start = decoder_start(packing, packed_source, train);
    return decoder_logits(decoder_inputs, start.h, start.c, train, nullptr);
}

Decoded Model::decode(const Packing& packing, const at::Tensor& packed_source, int64_t bos, int64_t eos,
                      int64_t max_length, int64_t beam_width) {
    auto start = decoder_start(packing, packed_source, false);
    auto best = beam_search(start, bos, eos, max_length, beam_width);
    if (beam_width == 1) return best;
    // Beam search can prune the greedy path and end below it; letting the greedy hypothesis compete
    // costs one more narrow search and makes "a wider beam never scores lower than greedy" a guarantee.
    auto greedy = beam_search(start, bos, eos, max_length, 1);
    auto take_greedy = greedy.scores.gt(best.scores);
    best.tokens = at::where(take_greedy.unsqueeze(1), greedy.tokens, best.tokens);
    best.lengths = at::where(take_greedy, greedy.lengths, best.lengths);
    best.scores = at::where(take_greedy, greedy.scores, best.scores);
    return best;
}

// Beam search over all B sources at once, K hypotheses each, one decoder step per emitted token for all
// B*K rows. A finished hypothesis (it emitted <eos>) stays in its slot with its score: its only
// continuation is a free "<eos>" that appends nothing. Scores are summed log-probabilities in double.
Decoded Model::beam_search(const DecoderStart& start, int64_t bos, int64_t eos, int64_t max_length, int64_t K) {
    const int64_t B = start.h.size(1), N = B * K, V = config_.target_vocab_size;
    const bool lstm = config_.cell == RNN_CELL_LSTM;
    const double inf = std::numeric_limits<double>::infinity();
    auto longs = at::TensorOptions().dtype(at::kLong).device(device_);
    at::Tensor h = start.h.repeat_interleave(K, 1), c = lstm ? start.c.repeat_interleave(K, 1) : at::Tensor();
    auto tokens = at::full({N}, bos, longs);
    // Only slot 0 is live at first, so the first step fills the beam with K different tokens, not K copies.
    auto scores = at::full({B, K}, -inf, at::TensorOptions().dtype(at::kDouble).device(device_));
    scores.select(1, 0).zero_();
    auto finished = at::zeros({N}, longs.dtype(at::kBool));
    auto history = at::empty({N, 0}, longs);
    auto row_base = (at::arange(B, longs) * K).unsqueeze(1);
    for (int64_t step = 0; step < max_length; ++step) {
        StackOutput state;
        auto logits = decoder_logits(tokens.unsqueeze(0), h, c, false, &state);
        auto logp = at::log_softmax(logits, 1).to(at::kDouble);  // [N, V]
        logp.masked_fill_(finished.unsqueeze(1), -inf);
        logp.select(1, eos).masked_fill_(finished, 0.0);
        auto candidates = (scores.unsqueeze(2) + logp.view({B, K, V})).view({B, K * V});
        auto top = candidates.topk(K, 1);
        scores = std::get<0>(top);
        auto index = std::get<1>(top);
        auto rows = (row_base + index.div(V, "floor")).view({N});
        tokens = index.remainder(V).view({N});
        auto was_finished = finished.index_select(0, rows);
        auto emitted = tokens.masked_fill(was_finished, -1);
        history = at::cat({history.index_select(0, rows), emitted.unsqueeze(1)}, 1);
        finished = was_finished.logical_or(tokens.eq(eos));
        h = state.h.index_select(1, rows);
        if (lstm) c = state.c.index_select(1, rows);
        if (finished.all().item<bool>()) break;
    }
    auto best = scores.argmax(1);  // [B]
    auto chosen = history.index_select(0, row_base.squeeze(1) + best);
    auto out = at::full({B, max_length}, -1, longs);
    out.narrow(1, 0, chosen.size(1)).copy_(chosen);
    return {out, chosen.ne(-1).sum(1), scores.gather(1, best.unsqueeze(1)).squeeze(1)};
}

}  // namespace rnnb
