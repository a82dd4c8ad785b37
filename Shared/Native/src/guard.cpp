#include "guard.h"

#include <c10/util/Exception.h>

#include <new>

namespace rnnb {
namespace {
thread_local std::string last_error;
}

void set_last_error(const char* message) noexcept {
    try {
        last_error.assign(message == nullptr ? "" : message);
    } catch (...) {
        // Assigning can only fail for lack of memory; an empty message is better than a crash.
        last_error.clear();
    }
}

void clear_last_error() noexcept { last_error.clear(); }

const char* last_error_message() noexcept { return last_error.c_str(); }

int32_t translate_current_exception() noexcept {
    try {
        throw;
    } catch (const bridge_error& e) {
        set_last_error(e.what());
        return e.status();
    } catch (const c10::Error& e) {
        // what_without_backtrace: the C++ backtrace means nothing to a C# user.
        const char* what = e.what_without_backtrace();
        set_last_error(what);
        const std::string text = what == nullptr ? std::string() : std::string(what);
        if (text.find("out of memory") != std::string::npos) return RNN_ERR_OUT_OF_MEMORY;
        return RNN_ERR_TORCH;
    } catch (const std::bad_alloc&) {
        set_last_error("out of memory (std::bad_alloc)");
        return RNN_ERR_OUT_OF_MEMORY;
    } catch (const std::exception& e) {
        set_last_error(e.what());
        return RNN_ERR_UNKNOWN;
    } catch (...) {
        set_last_error("unknown non-standard C++ exception");
        return RNN_ERR_UNKNOWN;
    }
}

}  // namespace rnnb

// Returns the calling thread's message: valid until the next bridge call on this thread, owned by
// the bridge, nothing for the caller to free.
extern "C" RNN_EXPORT const char* rnn_last_error(void) { return rnnb::last_error_message(); }
