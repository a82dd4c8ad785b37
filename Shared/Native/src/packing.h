// Padded batches of sequences of different lengths, run as PyTorch "packed sequences": the kernels see
// only valid positions, so a reverse direction starts at each sequence's true end and the final states
// are the true final states. The packed kernels want sequences sorted by length, longest first; a
// Packing holds that order and the way back to the caller's (torch.nn.utils.rnn's enforce_sorted=False).
#pragma once

#include <ATen/ATen.h>

namespace rnnb {

class Packing {
public:
    // lengths: CPU int64 [B], every one in [1, steps] (the caller validates).
    Packing(const at::Tensor& lengths, int64_t steps, at::Device device);

    int64_t batch() const { return lengths_.size(0); }
    int64_t steps() const { return steps_; }
    // Sequences still running at each step, in packing order: the kernels' batch_sizes (CPU int64 [T']).
    const at::Tensor& batch_sizes() const { return batch_sizes_; }
    // The caller's lengths on the model's device, as int64 [B].
    const at::Tensor& lengths() const { return device_lengths_; }

    // [steps, B, ...] in the caller's order -> [N, ...] packed (N = sum of lengths); differentiable.
    at::Tensor pack(const at::Tensor& padded) const;
    // [N, ...] packed -> [steps, B, ...] in the caller's order, `padding` where t >= lengths[b].
    at::Tensor unpack(const at::Tensor& packed, const at::Scalar& padding) const;
    // Per-sequence results along `dim` from packing order to the caller's order.
    at::Tensor to_caller_order(const at::Tensor& sorted, int64_t dim) const;
    // [steps, B] bool: true at valid positions, caller's order.
    at::Tensor valid_mask() const;

private:
    at::Tensor lengths_;          // CPU int64 [B], caller's order
    at::Tensor sorted_lengths_;   // CPU int64 [B], descending
    at::Tensor sorted_indices_;   // device: packing position -> caller index
    at::Tensor unsorted_indices_; // device: caller index -> packing position
    at::Tensor batch_sizes_;
    at::Tensor device_lengths_;
    int64_t steps_;
};

}  // namespace rnnb
