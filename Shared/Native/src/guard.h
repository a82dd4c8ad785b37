// Exception firewall for the C ABI: every export runs its body through guarded(), which turns any
// C++ exception into a status code and a thread-local message. Nothing escapes, nothing leaks.
#pragma once

#include "rnn_bridge.h"

#include <stdexcept>
#include <string>

namespace rnnb {

// Thrown inside the bridge for caller errors with a specific status.
class bridge_error : public std::runtime_error {
public:
    bridge_error(rnn_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
    rnn_status status() const noexcept { return status_; }

private:
    rnn_status status_;
};

[[noreturn]] inline void fail(rnn_status status, const std::string& message) { throw bridge_error(status, message); }

inline void require(bool condition, const std::string& message) {
    if (!condition) fail(RNN_ERR_ARGUMENT, message);
}

void set_last_error(const char* message) noexcept;
void clear_last_error() noexcept;
const char* last_error_message() noexcept;
int32_t translate_current_exception() noexcept;

template <class Body>
int32_t guarded(Body&& body) noexcept {
    try {
        clear_last_error();
        body();
        return RNN_OK;
    } catch (...) {
        return translate_current_exception();
    }
}

}  // namespace rnnb
