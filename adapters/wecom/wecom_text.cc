#include "adapters/wecom/wecom_text.h"

#include <algorithm>
#include <utility>

#include "base/utf8.h"

namespace kefu {

bool IsWeComId(std::string_view id, bool allow_dot_at) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [allow_dot_at](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           (allow_dot_at && (c == '.' || c == '@'));
  });
}

std::string_view Utf8Prefix(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return s.substr(0, end);
}

std::vector<std::string> SplitText(std::string_view text, size_t max_bytes) {
  std::vector<std::string> parts;
  while (!text.empty()) {
    std::string_view part = Utf8Prefix(text, max_bytes);
    if (part.size() < text.size()) {
      const size_t nl = part.rfind('\n');
      if (nl != std::string_view::npos && nl > part.size() / 2) part = part.substr(0, nl + 1);
    }
    if (part.empty()) break;  // max_bytes smaller than one character
    parts.emplace_back(part);
    text.remove_prefix(part.size());
  }
  return parts;
}

std::string CustomerText(std::string_view in, size_t max_chars) {
  std::string text(in);
  if (!IsValidUtf8(text)) text = SanitizeUtf8(text);
  size_t pos = 0, chars = 0;
  while (pos < text.size() && chars < max_chars) {
    DecodeUtf8(text, &pos);
    ++chars;
  }
  text.resize(pos);  // WeCom allows longer texts than the desk: the rest is cut off
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) text.clear();
  return text;
}

std::string MediaPlaceholder(std::string_view msgtype) {
  static const std::pair<const char*, const char*> kNames[] = {
      {"image", "图片 image"}, {"voice", "语音 voice message"}, {"video", "视频 video"}, {"file", "文件 file"},
      {"location", "位置 location"}, {"link", "链接 link"}, {"business_card", "名片 contact card"},
      {"miniprogram", "小程序 mini program"}, {"channels", "视频号 channels post"}};
  std::string name = "消息 message (" + std::string(msgtype.substr(0, 32)) + ")";
  for (const auto& [type, label] : kNames) {
    if (msgtype == type) name = label;
  }
  return "[" + name + " — sent in WeCom, open it in the WeCom client]";
}

}  // namespace kefu
