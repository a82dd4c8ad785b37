#include "packing.h"

namespace rnnb {

Packing::Packing(const at::Tensor& lengths, int64_t steps, at::Device device) : lengths_(lengths), steps_(steps) {
    // A stable sort keeps equal lengths in the caller's order, so packing is deterministic.
    auto sorted = at::sort(lengths, /*stable=*/true, /*dim=*/0, /*descending=*/true);
    sorted_lengths_ = std::get<0>(sorted);
    auto order = std::get<1>(sorted);
    auto inverse = at::empty_like(order).scatter_(0, order, at::arange(order.size(0), order.options()));
    sorted_indices_ = order.to(device);
    unsorted_indices_ = inverse.to(device);
    device_lengths_ = lengths.to(device);
    // batch_sizes[t] = sequences longer than t; the longest sets how many steps run.
    const int64_t longest = sorted_lengths_[0].item<int64_t>();
    batch_sizes_ = at::arange(longest, lengths.options()).unsqueeze(1).lt(sorted_lengths_.unsqueeze(0)).sum(1);
}

at::Tensor Packing::pack(const at::Tensor& padded) const {
    auto sorted = padded.index_select(1, sorted_indices_);
    return std::get<0>(at::_pack_padded_sequence(sorted, sorted_lengths_, /*batch_first=*/false));
}

at::Tensor Packing::unpack(const at::Tensor& packed, const at::Scalar& padding) const {
    auto padded = std::get<0>(at::_pad_packed_sequence(packed, batch_sizes_, /*batch_first=*/false, padding, steps_));
    return padded.index_select(1, unsorted_indices_);
}

at::Tensor Packing::to_caller_order(const at::Tensor& sorted, int64_t dim) const {
    return sorted.index_select(dim, unsorted_indices_);
}

at::Tensor Packing::valid_mask() const {
    return at::arange(steps_, device_lengths_.options()).unsqueeze(1).lt(device_lengths_.unsqueeze(0));
}

}  // namespace rnnb
