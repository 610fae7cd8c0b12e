// The server's configuration (kefu.json): its desks, each with knowledge bases, teams, business
// hours, settings and optional seed agents. Validated as a whole like a KB: errors name the file
// and the field.
#ifndef KEFU_ENGINE_DESK_CONFIG_H_
#define KEFU_ENGINE_DESK_CONFIG_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace kefu {

struct BusinessHours {
  bool always_open = true;
  int utc_offset_minutes = 0;  // the desk's time zone, e.g. 480 for UTC+8
  uint8_t days = 0x1F;         // bit 0 Monday ... bit 6 Sunday
  int open_minute = 9 * 60;    // minutes after local midnight
  int close_minute = 18 * 60;

  // Whether the desk is open at `micros` (since the epoch).
  bool IsOpen(int64_t micros) const;
};

struct DeskSettings {
  int max_queue = 500;                         // waiting conversations per desk
  int64_t idle_timeout_micros = 30LL * 60 * 1000000;        // bot conversations resolve after this
  int64_t heartbeat_timeout_micros = 90LL * 1000000;        // an agent silent this long goes offline
  int64_t first_response_sla_micros = 5LL * 60 * 1000000;   // escalation to first human reply
  int64_t reopen_window_micros = 24LL * 3600 * 1000000;     // reopen to the last agent within this
  int clarify_limit = 2;                       // clarifications in a row before a person takes over
  int default_capacity = 3;                    // conversations an agent serves at once
  int max_message_chars = 2000;
  // A waiting customer with no open stream or poll and no message for this long is gone: their
  // conversation leaves the line for a ticket answered later, instead of taking a live seat.
  int64_t customer_gone_micros = 10LL * 60 * 1000000;
};

struct AgentSeed {
  std::string username;
  std::string password;
  std::string display_name;
  std::vector<std::string> teams;
  int capacity = 0;  // 0: the desk's default
};

// The app channel's optional webhook: kefu POSTs each agent reply (and system message) of a
// verified app user's conversation to the app's backend, so that it can push a notification.
// Each request is signed (docs/channels.md): X-Kefu-Timestamp and X-Kefu-Signature =
// "sha256=" + hex HMAC-SHA256 of "<timestamp>.<body>" under `secret`.
struct AppWebhookConfig {
  std::string url;     // http(s)://...; "" turns the webhook off
  std::string secret;  // HMAC key; required with `url` (never the desk's app_secret by default)
};

// The WeCom customer-service (微信客服) channel of a desk: the values from the WeCom admin console.
struct WeComConfig {
  std::string corp_id;           // 企业ID; also the receiver id inside every encrypted callback
  std::string secret;            // the customer-service Secret, for gettoken
  std::string token;             // the callback Token (signs callbacks)
  std::string encoding_aes_key;  // the callback EncodingAESKey: 43 base64 characters
  std::string base_url = "https://qyapi.weixin.qq.com";  // the platform; tests point it elsewhere

  bool enabled() const { return !corp_id.empty(); }
};

// A WeCom self-built app (企业微信自建应用) that employees talk to inside WeCom (docs/channels.md).
struct WeComAppConfig {
  std::string corp_id;           // 企业ID; also the receiver id inside every encrypted callback
  int64_t agent_id = 0;          // the app's AgentId, sent with every message/send
  std::string secret;            // the app's Secret, for gettoken
  std::string token;             // the app's callback Token (接收消息)
  std::string encoding_aes_key;  // the app's callback EncodingAESKey: 43 base64 characters
  std::string base_url = "https://qyapi.weixin.qq.com";  // the platform; tests point it elsewhere
  // Who an employee is to kefu. "wecom" (default): a customer of their own,
  // "wecom:app/<corp_id>/<userid>". "app": "app:<userid>", the same person (and conversation) as
  // the widget or app user whose signed id (JWT sub) is their WeCom UserID.
  std::string identity = "wecom";
  // Clarify choices as a button card (template_card button_interaction) whose clicks come back
  // as events; off: numbered text, answered with the number (for apps without card support).
  bool cards = false;

  bool enabled() const { return !corp_id.empty(); }
};

struct DeskConfig {
  std::string id;             // [a-z0-9-]{1,32}, used in URLs
  std::string name;
  std::string ticket_prefix;  // "HR" gives tickets HR-1001, HR-1002, ...
  std::vector<std::string> knowledge_bases;  // paths; one per language (chosen by the question's script)
  std::string default_team;
  std::string welcome_en = "Hi! Ask me anything, or ask for a person at any time.";
  std::string welcome_zh = "您好！请直接输入您的问题，也可以随时转人工。";
  BusinessHours hours;
  DeskSettings settings;
  std::vector<std::string> allowed_origins;  // CORS for the widget; "*" allows any
  std::string app_secret;                    // HS256 key of the app channel's signed identities (JWTs)
  bool legacy_hmac = false;                  // also accept the bare HMAC of a user id (legacy: never expires)
  AppWebhookConfig app_webhook;              // optional push webhook of the app channel
  WeComConfig wecom;                         // optional WeCom channel (enabled() when configured)
  WeComAppConfig wecom_app;                  // optional WeCom self-built app channel (likewise)
  std::vector<AgentSeed> agents;             // created at start when missing (demo desks)
};

struct KefuConfig {
  std::vector<DeskConfig> desks;
  // Reverse proxies whose X-Forwarded-For names the client (CIDRs; the adapters parse them).
  std::vector<std::string> trusted_proxies;
  // Where the data lives: "" LevelDB under --data; a postgresql:// URI for a shared store.
  std::string store;
};

// Parses a config; relative KB paths resolve against `base_dir`. InvalidArgument naming
// `file_name`, the line, the desk and the field on the first problem:
// "kefu.json:14: desk #2: field 'settings': field 'max_queue': must be ...".
Result<KefuConfig> ParseConfig(std::string_view json, std::string_view file_name, std::string_view base_dir);

// Reads and parses `path`.
Result<KefuConfig> LoadConfig(const std::string& path);

// Where a desk is defined: kefu.json, or the admin API (stored in the store, docs/api.md).
enum class DeskSource { kConfigFile, kAdminApi };

// Parses one desk object as the admin API takes it (POST /v1/admin/desks): the fields of a desk
// in kefu.json except `knowledge_bases`, which is refused (an API desk's KBs are uploaded).
// InvalidArgument naming the field.
Result<DeskConfig> ParseDeskObject(std::string_view json);

// The desk as the admin API shows it: every setting with its value, never a secret (app_secret,
// the webhook's and WeCom's secrets and keys) or a seed agent.
std::string DeskConfigJson(const DeskConfig& d);

// Every key the parser accepts, as a path with "[]" for the items of an array, in document order:
// "desks", "desks[].id", ..., "desks[].settings.max_queue", .... Any other key is refused.
// docs/config.md documents exactly these (tests/config_reference_test.cc).
const std::vector<std::string>& ConfigKeys();

}  // namespace kefu

#endif  // KEFU_ENGINE_DESK_CONFIG_H_
