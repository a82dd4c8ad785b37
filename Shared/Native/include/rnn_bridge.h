/*
 * rnn_bridge: the narrow C ABI between RnnCluster (C#) and libtorch (C++).
 *
 * Granularity is a whole model: one call runs forward and backward over a TBPTT window, so the
 * managed side crosses the boundary a handful of times per step, never per tensor op.
 *
 * Rules every export follows:
 *  - returns an rnn_status; RNN_OK is 0; no C++ exception ever crosses this boundary;
 *  - on failure, rnn_last_error() returns a message owned by the calling thread, valid until the
 *    next bridge call on that thread (nothing to free, nothing leaks);
 *  - buffers are caller-owned; element types follow the model's dtype (float32 or float64).
 *
 * Parameter layout: all parameters live in one contiguous flat buffer (and gradients in another of
 * the same layout). Tensor i occupies [offset_i, offset_i + numel_i) in PyTorch state_dict order:
 *   encoder.weight [V,E]; per layer l: rnn.weight_ih_l{l} [G*H,In], rnn.weight_hh_l{l} [G*H,H],
 *   rnn.bias_ih_l{l} [G*H], rnn.bias_hh_l{l} [G*H]; decoder.weight [V,H] (absent when tied);
 *   decoder.bias [V]. G = 4 (lstm), 3 (gru), 1 (rnn_tanh, rnn_relu). rnn_model_tensor_info
 *   publishes it.
 *
 * Token windows are time-major int64 [T, B]; target -1 is ignored by loss and counts.
 * Recurrent state is stream-major [B, S] with S = K * layers * hidden (K = 2 for lstm: h then c;
 * K = 1 otherwise), so a contiguous range of streams is a contiguous range of memory.
 */
#ifndef RNN_BRIDGE_H
#define RNN_BRIDGE_H

#include <stdint.h>

#if defined(_WIN32)
#define RNN_EXPORT __declspec(dllexport)
#else
#define RNN_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rnn_status {
    RNN_OK = 0,
    RNN_ERR_ARGUMENT = 1,      /* a caller error: bad size, null pointer, out-of-range id */
    RNN_ERR_STATE = 2,         /* the object is not in a state that allows the call */
    RNN_ERR_DEVICE = 3,        /* the requested device is not available in this libtorch */
    RNN_ERR_TORCH = 4,         /* libtorch raised an error (c10::Error) */
    RNN_ERR_OUT_OF_MEMORY = 5, /* allocation failed (host or device) */
    RNN_ERR_UNKNOWN = 6        /* anything else, including non-std exceptions */
} rnn_status;

typedef enum rnn_cell { RNN_CELL_LSTM = 0, RNN_CELL_GRU = 1, RNN_CELL_RNN_TANH = 2, RNN_CELL_RNN_RELU = 3 } rnn_cell;
typedef enum rnn_dtype { RNN_DTYPE_F32 = 0, RNN_DTYPE_F64 = 1 } rnn_dtype;
typedef enum rnn_buffer { RNN_BUFFER_PARAMS = 0, RNN_BUFFER_GRADS = 1 } rnn_buffer;
typedef enum rnn_optimizer_kind { RNN_OPT_SGD = 0, RNN_OPT_ADAM = 1, RNN_OPT_ADAMW = 2 } rnn_optimizer_kind;

typedef struct rnn_model_config {
    int32_t cell;            /* rnn_cell */
    int32_t layers;
    int32_t vocab_size;
    int32_t embedding_size;
    int32_t hidden_size;
    int32_t tie_weights;     /* requires embedding_size == hidden_size */
    int32_t dtype;           /* rnn_dtype */
    int32_t device_type;     /* 0 = cpu, 1 = cuda */
    int32_t device_index;
    int32_t reserved;
    double dropout_embedding;
    double dropout_between_layers;
    double dropout_output;
    double forget_bias;      /* lstm only: initial forget-gate bias (bias_ih; bias_hh starts at 0) */
    double init_range;       /* uniform(-r, r) for encoder and decoder weights */
    uint64_t seed;           /* initialisation and dropout generator */
} rnn_model_config;

typedef struct rnn_window_result {
    double loss_sum;         /* sum of cross-entropy over counted targets (nats) */
    int64_t tokens;          /* targets != -1 */
    int64_t correct;         /* argmax == target, only when requested, else 0 */
} rnn_window_result;

typedef struct rnn_optimizer_config {
    int32_t kind;            /* rnn_optimizer_kind */
    int32_t nesterov;
    double momentum;         /* sgd */
    double weight_decay;     /* sgd/adam: L2 added to the gradient; adamw: decoupled */
    double beta1;
    double beta2;
    double epsilon;
} rnn_optimizer_config;

typedef struct rnn_model rnn_model;
typedef struct rnn_optimizer rnn_optimizer;

/* ---- errors and runtime ---- */
RNN_EXPORT const char* rnn_last_error(void);
RNN_EXPORT int32_t rnn_abi_version(void);
RNN_EXPORT int32_t rnn_build_info(char* buffer, int32_t capacity, int32_t* length);
/* Sets libtorch's intra-op threads and OpenBLAS's own threads (when OpenBLAS is present). Keep
 * threads x blas_threads <= cores: the two pools oversubscribe otherwise. */
RNN_EXPORT int32_t rnn_set_num_threads(int32_t threads, int32_t blas_threads);
RNN_EXPORT int32_t rnn_get_num_threads(int32_t* threads);
RNN_EXPORT int32_t rnn_cuda_device_count(int32_t* count);

/* ---- models ---- */
RNN_EXPORT int32_t rnn_model_create(const rnn_model_config* config, rnn_model** out_model);
RNN_EXPORT void rnn_model_destroy(rnn_model* model);
RNN_EXPORT int32_t rnn_model_param_count(const rnn_model* model, int64_t* count);
RNN_EXPORT int32_t rnn_model_tensor_count(const rnn_model* model, int32_t* count);
/* name is NUL-terminated into name_buffer; shape receives up to 4 dims. */
RNN_EXPORT int32_t rnn_model_tensor_info(const rnn_model* model, int32_t index, char* name_buffer, int32_t name_capacity,
                                         int64_t* offset, int64_t* numel, int32_t* ndim, int64_t* shape4);
RNN_EXPORT int32_t rnn_model_state_size(const rnn_model* model, int64_t* floats_per_stream);

/* One TBPTT window. state_in may be NULL (zeros); state_out may be NULL. Gradients of the loss SUM
 * are accumulated into the gradient buffer when backward != 0 (call rnn_model_zero_grads first).
 * train != 0 enables dropout. want_correct != 0 fills result->correct. */
RNN_EXPORT int32_t rnn_model_forward_backward(rnn_model* model, const int64_t* inputs, const int64_t* targets,
                                              int32_t steps, int32_t streams, const void* state_in, void* state_out,
                                              int32_t train, int32_t backward, int32_t want_correct,
                                              rnn_window_result* result);
/* Logits of the last time step only, [streams, vocab], for sampling and beam search (no dropout, no grad). */
RNN_EXPORT int32_t rnn_model_last_logits(rnn_model* model, const int64_t* inputs, int32_t steps, int32_t streams,
                                         const void* state_in, void* state_out, void* logits_out);

RNN_EXPORT int32_t rnn_model_read(const rnn_model* model, int32_t buffer, void* destination, int64_t count);
RNN_EXPORT int32_t rnn_model_write(rnn_model* model, int32_t buffer, const void* source, int64_t count);
/* Direct pointer to a CPU model's flat buffer (valid while the model lives); RNN_ERR_STATE on other devices. */
RNN_EXPORT int32_t rnn_model_buffer_pointer(rnn_model* model, int32_t buffer, void** pointer);
RNN_EXPORT int32_t rnn_model_zero_grads(rnn_model* model);
/* Scales the gradients by `scale` and clips their global L2 norm to max_norm (when > 0), in one pass
 * over the buffer; total_norm receives the norm after scaling, before clipping. (Scaling a sum of
 * gradients into a mean and clipping it are one multiplication.) */
RNN_EXPORT int32_t rnn_model_clip_grad_norm(rnn_model* model, double scale, double max_norm, double* total_norm);
/* Reseeds the model's generator (dropout masks from here on depend only on this seed). */
RNN_EXPORT int32_t rnn_model_seed(rnn_model* model, uint64_t seed);
RNN_EXPORT int32_t rnn_model_rng_state_size(const rnn_model* model, int64_t* size);
RNN_EXPORT int32_t rnn_model_get_rng_state(const rnn_model* model, uint8_t* destination, int64_t capacity);
RNN_EXPORT int32_t rnn_model_set_rng_state(rnn_model* model, const uint8_t* source, int64_t size);

/* ---- optimizers (over the flat buffers: one fused update, state as flat buffers) ---- */
RNN_EXPORT int32_t rnn_optimizer_create(const rnn_model* model, const rnn_optimizer_config* config, rnn_optimizer** out);
RNN_EXPORT void rnn_optimizer_destroy(rnn_optimizer* optimizer);
RNN_EXPORT int32_t rnn_optimizer_step(rnn_optimizer* optimizer, rnn_model* model, double learning_rate);
RNN_EXPORT int32_t rnn_optimizer_state_count(const rnn_optimizer* optimizer, int32_t* count);
RNN_EXPORT int32_t rnn_optimizer_state_name(const rnn_optimizer* optimizer, int32_t index, char* buffer, int32_t capacity);
RNN_EXPORT int32_t rnn_optimizer_read_state(const rnn_optimizer* optimizer, int32_t index, void* destination, int64_t count);
RNN_EXPORT int32_t rnn_optimizer_write_state(rnn_optimizer* optimizer, int32_t index, const void* source, int64_t count);
RNN_EXPORT int32_t rnn_optimizer_get_step(const rnn_optimizer* optimizer, int64_t* step);
RNN_EXPORT int32_t rnn_optimizer_set_step(rnn_optimizer* optimizer, int64_t step);

#ifdef __cplusplus
}
#endif

#endif
