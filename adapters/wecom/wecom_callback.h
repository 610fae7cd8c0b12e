// What every WeCom callback goes through before a channel reads it, shared by the customer-service
// (微信客服) and the self-built app channels: the replay guard (timestamp window, no triple twice),
// the signature, the AES envelope and its receiver id (the corp id), the flat XML inside; and the
// HTTP routes that carry them (GET verifies the URL, POST delivers a message or event).
// Thread-safe (the functions keep no state but the guard's, which is thread-safe).
#ifndef KEFU_ADAPTERS_WECOM_WECOM_CALLBACK_H_
#define KEFU_ADAPTERS_WECOM_WECOM_CALLBACK_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "adapters/http_api.h"
#include "adapters/wecom/callback_guard.h"
#include "adapters/wecom/wecom_crypto.h"
#include "base/status.h"
#include "engine/engine.h"

namespace kefu {

// The query of a callback (or URL verification) as WeCom sends it.
struct CallbackParams {
  std::string msg_signature;
  std::string timestamp;
  std::string nonce;
};

// The plain text of a URL verification's `echostr`, once the guard and the signature accept it;
// the triple is then remembered. Unauthenticated for a wrong signature or corp id, a timestamp
// outside the window or a replay; InvalidArgument when malformed.
Result<std::string> OpenUrlVerification(const WeComCrypto& crypto, CallbackGuard* guard, const CallbackParams& p,
                                        std::string_view echostr, int64_t now_seconds);

// The decrypted callback's fields (name -> text) of a POST `body` (<xml> with an <Encrypt>), once
// the guard, the signature and the receiver id accept it. Errors as OpenUrlVerification. The
// triple is NOT remembered: the caller calls guard->Remember once it has recorded the callback,
// so that a callback whose recording failed may come again. `skip_nested`: as ParseFlatXml's, for
// the decrypted message.
Result<std::map<std::string, std::string>> OpenCallback(const WeComCrypto& crypto, CallbackGuard* guard,
                                                        const CallbackParams& p, std::string_view body,
                                                        size_t max_bytes, int64_t now_seconds,
                                                        bool skip_nested = false);

// Deletes the records under `prefix` of `store` whose value (decimal clock micros, when the
// callback or message was first seen) is before `before_micros`; at most 100,000 per call (the
// rest next time). The store's error when it cannot be read or written.
Status ForgetSeen(SideStore* store, std::string_view prefix, int64_t before_micros);

using UrlVerificationFn =
    std::function<Result<std::string>(std::string_view desk, const CallbackParams& p, std::string_view echostr)>;
using CallbackFn = std::function<Status(std::string_view desk, const CallbackParams& p, std::string_view body)>;

// Adds GET and POST `route` (with a {desk} parameter) to `api`: GET answers `verify`'s plain text,
// POST runs `handle` on bodies up to `max_bytes` and answers 200 with an empty body (WeCom expects
// no passive reply). Errors are the API's JSON errors (404, 401, 400, ...).
void AddWeComCallbackRoutes(HttpApi* api, const char* route, size_t max_bytes, UrlVerificationFn verify,
                            CallbackFn handle);

}  // namespace kefu

#endif  // KEFU_ADAPTERS_WECOM_WECOM_CALLBACK_H_
