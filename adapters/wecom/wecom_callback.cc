#include "adapters/wecom/wecom_callback.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include "adapters/http_internal.h"
#include "adapters/wecom/wecom_xml.h"

namespace kefu {

Result<std::string> OpenUrlVerification(const WeComCrypto& crypto, CallbackGuard* guard, const CallbackParams& p,
                                        std::string_view echostr, int64_t now_seconds) {
  KEFU_RETURN_IF_ERROR(guard->Check(p.timestamp, p.nonce, p.msg_signature, now_seconds));
  auto plain = crypto.VerifyAndDecrypt(p.msg_signature, p.timestamp, p.nonce, echostr);
  if (plain.ok()) guard->Remember(p.timestamp, p.nonce, p.msg_signature, now_seconds);
  return plain;
}

Result<std::map<std::string, std::string>> OpenCallback(const WeComCrypto& crypto, CallbackGuard* guard,
                                                        const CallbackParams& p, std::string_view body,
                                                        size_t max_bytes, int64_t now_seconds,
                                                        bool skip_nested) {
  KEFU_RETURN_IF_ERROR(guard->Check(p.timestamp, p.nonce, p.msg_signature, now_seconds));
  auto outer = ParseFlatXml(body, max_bytes);
  if (!outer.ok()) return outer.status();
  auto encrypted = outer->find("Encrypt");
  if (encrypted == outer->end()) return Status::InvalidArgument("wecom: the callback has no Encrypt");
  auto plain = crypto.VerifyAndDecrypt(p.msg_signature, p.timestamp, p.nonce, encrypted->second);
  if (!plain.ok()) return plain.status();
  return ParseFlatXml(*plain, max_bytes, skip_nested);
}

Status ForgetSeen(SideStore* store, std::string_view prefix, int64_t before_micros) {
  StoreBatch expired;
  Status s = store->ScanPrefix(prefix, [&](std::string_view key, std::string_view value) {
    int64_t at = 0;
    if (std::from_chars(value.data(), value.data() + value.size(), at).ec == std::errc() && at < before_micros) {
      expired.Delete(key);
    }
    return expired.size() < 100000;
  });
  KEFU_RETURN_IF_ERROR(s);
  return expired.empty() ? Status::OK() : store->Write(expired);
}

namespace {

CallbackParams ParamsOf(const httplib::Request& req) {
  return {req.get_param_value("msg_signature"), req.get_param_value("timestamp"), req.get_param_value("nonce")};
}

}  // namespace

void AddWeComCallbackRoutes(HttpApi* api, const char* route, size_t max_bytes, UrlVerificationFn verify,
                            CallbackFn handle) {
  api->AddRoute("GET", route, RouteAuth::kPublic, 0, [verify = std::move(verify)](HttpCall& c) {
    // Query values are URL-decoded with '+' read as a space; base64 has no spaces, so a '+' that
    // WeCom did not escape is restored here.
    std::string echostr = c.request.get_param_value("echostr");
    std::replace(echostr.begin(), echostr.end(), ' ', '+');
    auto plain = verify(c.Param("desk"), ParamsOf(c.request), echostr);
    if (!plain.ok()) return SendError(c.response, plain.status());
    c.response.status = 200;
    c.response.set_content(*plain, "text/plain; charset=utf-8");
  });
  api->AddRoute("POST", route, RouteAuth::kPublic, max_bytes, [handle = std::move(handle)](HttpCall& c) {
    Status s = handle(c.Param("desk"), ParamsOf(c.request), c.request.body);
    if (!s.ok()) return SendError(c.response, s);
    c.response.status = 200;
    c.response.set_content("", "text/plain; charset=utf-8");
  });
}

}  // namespace kefu
