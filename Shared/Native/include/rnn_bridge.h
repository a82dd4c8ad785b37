/*
 * rnn_bridge: the narrow C ABI between RnnCluster (C#) and libtorch (C++).
 *
 * Granularity is a whole model: one call runs forward and backward over a TBPTT window or a padded
 * batch of sequences, so the managed side crosses the boundary a handful of times per step, never
 * per tensor op.
 *
 * Rules every export follows:
 *  - returns an rnn_status; RNN_OK is 0; no C++ exception ever crosses this boundary;
 *  - on failure, rnn_last_error() returns a message owned by the calling thread, valid until the
 *    next bridge call on that thread (nothing to free, nothing leaks);
 *  - buffers are caller-owned; element types follow the model's dtype (float32 or float64).
 *
 * Model kinds (rnn_model_config.task): a language model (RNN_TASK_LANGUAGE_MODEL, the default), an
 * acceptor (one label per sequence), a transducer (one tag per position) or an encoder-decoder
 * (RNN_TASK_SEQ2SEQ). Every kind keeps ALL its parameters in one contiguous flat buffer (and gradients
 * in another of the same layout), so read/write, zero-grads, clipping, the optimizers, seeding and
 * data-parallel gradient sums work the same for all of them. Tensor i occupies
 * [offset_i, offset_i + numel_i) in PyTorch state_dict order (rnn_model_tensor_info publishes it).
 * G = 4 (lstm), 3 (gru), 1 (rnn_tanh, rnn_relu); D = 2 when bidirectional, else 1; F = D * H.
 *
 * Language model:
 *   encoder.weight [V,E]; per layer l: rnn.weight_ih_l{l} [G*H,In], rnn.weight_hh_l{l} [G*H,H],
 *   rnn.bias_ih_l{l} [G*H], rnn.bias_hh_l{l} [G*H] (In = E for l = 0, else H);
 *   decoder.weight [V,H] (absent when tied); decoder.bias [V].
 *
 * Acceptor and transducer (nn.Embedding, nn.LSTM/GRU/RNN(bidirectional=D==2), nn.Sequential head):
 *   encoder.weight [V,E]; per layer l, forward then (when bidirectional) reverse direction:
 *   rnn.weight_ih_l{l}[_reverse] [G*H,In], rnn.weight_hh_l{l}[_reverse] [G*H,H],
 *   rnn.bias_ih_l{l}[_reverse] [G*H], rnn.bias_hh_l{l}[_reverse] [G*H] (In = E for l = 0, else F);
 *   attention.query [F] (acceptor with attention pooling only);
 *   head: with head_hidden_size K > 0: head.0.weight [K,F], head.0.bias [K], (activation),
 *   head.2.weight [C,K], head.2.bias [C]; with K = 0: head.0.weight [C,F], head.0.bias [C].
 *   C = classes (labels of an acceptor, tags of a transducer).
 *   Acceptor pooling over each sequence's valid positions only: last = the top layer's final state
 *   (forward direction at the sequence's last token, then reverse direction at its first); mean; max
 *   (per feature); attention = softmax over positions of (state . query), then the weighted sum.
 *
 * Encoder-decoder (RNN_TASK_SEQ2SEQ); decoder cell, layers and hidden size are the encoder's:
 *   encoder_embedding.weight [V,E]; encoder.weight_ih_l{l}[_reverse] ... as the acceptor's rnn.*;
 *   when bidirectional: bridge.weight [H,2H], bridge.bias [H], and for lstm also
 *   bridge_cell.weight [H,2H], bridge_cell.bias [H]; decoder_embedding.weight [Vt,Ed];
 *   decoder.weight_ih_l{l} [G*H,In] (In = Ed for l = 0, else H), decoder.weight_hh_l{l},
 *   decoder.bias_ih_l{l}, decoder.bias_hh_l{l}; output.weight [Vt,H], output.bias [Vt].
 *   The decoder starts from the encoder's final state of the same layer. A bidirectional encoder's
 *   two finals of layer l are joined [forward; reverse] and bridged: h0 = tanh(bridge(h)),
 *   c0 = bridge_cell(c) (no squashing: a cell state is unbounded).
 *
 * Initialisation, drawn in layout order from the model's generator: embeddings uniform(+-init_range);
 * recurrent weights and biases uniform(+-1/sqrt(H)) (nn.LSTM's default) with the lstm forget-gate
 * bias of forget_bias; attention.query uniform(+-1/sqrt(F)); head, bridge and output layers
 * uniform(+-1/sqrt(fan_in)) for weight and bias (nn.Linear's default bound); the language model's
 * decoder.weight uniform(+-init_range) and decoder.bias zero.
 *
 * Dropout (train != 0 only, masks from the model's generator): dropout_embedding on embeddings,
 * dropout_between_layers between stacked layers, dropout_output on what the output layer reads
 * (language model and decoder: the top layer's outputs; acceptor: the pooled vector; transducer: each
 * position's top-layer state).
 *
 * Padded batches (acceptor, transducer, encoder side of seq2seq): tokens time-major int64
 * [steps, batch], lengths int32 [batch] in [1, steps]. Sequences run packed (sorted by length inside
 * the bridge, results returned in the caller's order), so a reverse direction starts at each
 * sequence's true end, final states are the true final states, and positions t >= lengths[b] are
 * never read: they may hold anything (-1 is a good pad).
 *
 * Language-model windows are time-major int64 [T, B]; target -1 is ignored by loss and counts.
 * Their recurrent state is stream-major [B, S] with S = K * layers * hidden (K = 2 for lstm: h then c;
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
typedef enum rnn_task {
    RNN_TASK_LANGUAGE_MODEL = 0, /* next token at every position: rnn_model_forward_backward, rnn_model_last_logits */
    RNN_TASK_ACCEPTOR = 1,       /* one label per sequence: rnn_model_classify */
    RNN_TASK_TRANSDUCER = 2,     /* one tag per position: rnn_model_tag */
    RNN_TASK_SEQ2SEQ = 3         /* encoder-decoder: rnn_model_seq2seq, rnn_model_decode */
} rnn_task;
typedef enum rnn_pooling { RNN_POOL_LAST = 0, RNN_POOL_MEAN = 1, RNN_POOL_MAX = 2, RNN_POOL_ATTENTION = 3 } rnn_pooling;
typedef enum rnn_activation { RNN_ACT_TANH = 0, RNN_ACT_RELU = 1 } rnn_activation;

/* Fields a kind does not use are ignored, except that bidirectional needs a kind other than the
 * language model and tie_weights needs the language model. */
typedef struct rnn_model_config {
    uint32_t struct_size;    /* sizeof(rnn_model_config): a caller built against another layout is refused */
    int32_t task;            /* rnn_task */
    int32_t cell;            /* rnn_cell */
    int32_t layers;
    int32_t vocab_size;
    int32_t embedding_size;
    int32_t hidden_size;
    int32_t tie_weights;     /* requires embedding_size == hidden_size */
    int32_t dtype;           /* rnn_dtype */
    int32_t device_type;     /* 0 = cpu, 1 = cuda */
    int32_t device_index;
    int32_t bidirectional;   /* acceptor, transducer, seq2seq encoder */
    int32_t pooling;         /* rnn_pooling, acceptor */
    int32_t head_hidden_size;/* acceptor, transducer: 0 = a single linear layer */
    int32_t head_activation; /* rnn_activation between the head's two layers */
    int32_t classes;         /* acceptor labels, transducer tags: >= 2 */
    int32_t target_vocab_size;      /* seq2seq decoder vocabulary (holds <bos> and <eos>) */
    int32_t decoder_embedding_size; /* seq2seq */
    double dropout_embedding;
    double dropout_between_layers;
    double dropout_output;
    double forget_bias;      /* lstm only: initial forget-gate bias (bias_ih; bias_hh starts at 0) */
    double init_range;       /* uniform(-r, r) for embeddings and the language model's decoder weight */
    uint64_t seed;           /* initialisation and dropout generator */
} rnn_model_config;

typedef struct rnn_window_result {
    double loss_sum;         /* sum of cross-entropy over counted targets (nats) */
    int64_t tokens;          /* counted targets (!= -1): tokens, labels or tagged positions */
    int64_t correct;         /* argmax == target (language model: only when requested, else 0) */
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
/* Recurrent state carried between language-model windows; 0 for the other kinds (they carry none). */
RNN_EXPORT int32_t rnn_model_state_size(const rnn_model* model, int64_t* floats_per_stream);

/* Language model only (RNN_ERR_STATE for other kinds). One TBPTT window. state_in may be NULL
 * (zeros); state_out may be NULL. Gradients of the loss SUM are accumulated into the gradient buffer
 * when backward != 0 (call rnn_model_zero_grads first). train != 0 enables dropout. want_correct != 0
 * fills result->correct. */
RNN_EXPORT int32_t rnn_model_forward_backward(rnn_model* model, const int64_t* inputs, const int64_t* targets,
                                              int32_t steps, int32_t streams, const void* state_in, void* state_out,
                                              int32_t train, int32_t backward, int32_t want_correct,
                                              rnn_window_result* result);
/* Language model only. Logits of the last time step only, [streams, vocab], for sampling and beam
 * search (no dropout, no grad). */
RNN_EXPORT int32_t rnn_model_last_logits(rnn_model* model, const int64_t* inputs, int32_t steps, int32_t streams,
                                         const void* state_in, void* state_out, void* logits_out);

/* ---- task models (ABI 5); each refuses a model of another kind with RNN_ERR_STATE ----
 * Gradients of the loss SUM are accumulated into the gradient buffer when backward != 0 (call
 * rnn_model_zero_grads first); train != 0 enables dropout. Targets of -1 are not counted. A NULL
 * target buffer asks for predictions only (loss 0, count 0; backward must then be 0). Every output
 * pointer marked "or NULL" is optional. */

/* Acceptor. labels: int64 [batch] in [-1, classes). predictions: int64 [batch] (argmax), or NULL;
 * logits: model dtype [batch, classes], or NULL. result->tokens counts labels, ->correct right ones. */
RNN_EXPORT int32_t rnn_model_classify(rnn_model* model, const int64_t* tokens, const int32_t* lengths, int32_t steps,
                                      int32_t batch, const int64_t* labels, int32_t train, int32_t backward,
                                      int64_t* predictions, void* logits, rnn_window_result* result);

/* Transducer. tags: int64 [steps, batch] in [-1, classes); positions t >= lengths[b] are never read.
 * predictions: int64 [steps, batch] (argmax, -1 at padding), or NULL. result->tokens counts tagged
 * positions, ->correct right ones. */
RNN_EXPORT int32_t rnn_model_tag(rnn_model* model, const int64_t* tokens, const int32_t* lengths, int32_t steps,
                                 int32_t batch, const int64_t* tags, int32_t train, int32_t backward,
                                 int64_t* predictions, rnn_window_result* result);

/* Encoder-decoder with teacher forcing. source [source_steps, batch] with source_lengths as a padded
 * batch; decoder_inputs and decoder_targets time-major [target_steps, batch]: inputs start with <bos>
 * and are the targets shifted right (targets end with <eos>). A decoder input of -1 is padding: it and
 * every later position of that sequence must have target -1. logits: model dtype
 * [target_steps, batch, target_vocab], or NULL. result->tokens counts targets, ->correct right ones. */
RNN_EXPORT int32_t rnn_model_seq2seq(rnn_model* model, const int64_t* source, const int32_t* source_lengths,
                                     int32_t source_steps, int32_t batch, const int64_t* decoder_inputs,
                                     const int64_t* decoder_targets, int32_t target_steps, int32_t train,
                                     int32_t backward, void* logits, rnn_window_result* result);

/* Encoder-decoder inference (no dropout, no gradients). Beam search of width beam_width (1 = greedy)
 * from <bos>: a hypothesis ends at its first <eos> (emitted, and counted in its length) or after
 * max_length tokens; scores are total log-probabilities in nats (sum over the emitted tokens, <eos>
 * included), NOT length-normalised. For beam_width > 1 the greedy hypothesis also competes, so a
 * wider beam never returns a lower score than greedy (plain beam search can prune the greedy path).
 * output: int64 [batch, max_length], -1 after each sequence's end; output_lengths: int32 [batch];
 * scores: double [batch], or NULL. */
RNN_EXPORT int32_t rnn_model_decode(rnn_model* model, const int64_t* source, const int32_t* source_lengths,
                                    int32_t source_steps, int32_t batch, int64_t bos, int64_t eos, int32_t max_length,
                                    int32_t beam_width, int64_t* output, int32_t* output_lengths, double* scores);

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
