// Text as both WeCom channels (微信客服 and the self-built app) exchange it: WeCom's ids, byte
// limits cut on UTF-8 boundaries, and what a conversation shows for a message that is not text.
// Thread-safe (pure functions).
#ifndef KEFU_ADAPTERS_WECOM_WECOM_TEXT_H_
#define KEFU_ADAPTERS_WECOM_WECOM_TEXT_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace kefu {

// Whether `id` is a WeCom id kefu accepts (open_kfid, external_userid, UserID): 1..128 letters,
// digits, '_', '-', and with `allow_dot_at` also '.' and '@' (employees' UserIDs may be emails).
// Kept strict: ids become parts of store keys and of customer ids.
bool IsWeComId(std::string_view id, bool allow_dot_at = false);

// The longest prefix of `s` of at most `max_bytes` that ends on a UTF-8 character boundary.
std::string_view Utf8Prefix(std::string_view s, size_t max_bytes);

// `text` in parts of at most `max_bytes`, cut at line ends where possible, never inside a UTF-8
// character.
std::vector<std::string> SplitText(std::string_view text, size_t max_bytes);

// An incoming WeCom text made fit for the engine: invalid UTF-8 replaced, cut to `max_chars`
// characters. Empty when nothing but white space is left.
std::string CustomerText(std::string_view text, size_t max_chars);

// What the conversation shows for a customer's message of WeCom msgtype `msgtype` that is not
// text ("image", "voice", ...): a bracketed note in Chinese and English that it was sent in WeCom.
std::string MediaPlaceholder(std::string_view msgtype);

}  // namespace kefu

#endif  // KEFU_ADAPTERS_WECOM_WECOM_TEXT_H_
