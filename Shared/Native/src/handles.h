// The opaque handle types behind the C ABI, defined once for every translation unit.
#pragma once

#include "model.h"

struct rnn_model {
    explicit rnn_model(const rnn_model_config& config) : impl(config) {}
    rnnb::Model impl;
};
