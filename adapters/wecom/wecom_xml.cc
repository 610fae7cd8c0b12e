#include "adapters/wecom/wecom_xml.h"

#include <charconv>

#include "base/utf8.h"

namespace kefu {
namespace {

bool IsNameStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9') || c == '-' || c == '.'; }

class FlatXmlReader {
 public:
  FlatXmlReader(std::string_view s, bool skip_nested) : s_(s), max_depth_(skip_nested ? 4 : 0) {}

  Result<std::map<std::string, std::string>> Read() {
    SkipSpace();
    if (Starts("<?xml")) {
      const size_t end = s_.find("?>", pos_);
      if (end == std::string_view::npos) return Fail("unterminated declaration");
      pos_ = end + 2;
      SkipSpace();
    }
    std::string root;
    bool empty_root = false;
    KEFU_RETURN_IF_ERROR(OpenTag(&root, &empty_root));
    std::map<std::string, std::string> out;
    while (!empty_root) {
      SkipSpace();
      if (Starts("</")) {
        KEFU_RETURN_IF_ERROR(CloseTag(root));
        break;
      }
      std::string name, text;
      bool self_closed = false;
      KEFU_RETURN_IF_ERROR(OpenTag(&name, &self_closed));
      if (!self_closed) {
        KEFU_RETURN_IF_ERROR(Content(&text, 0));
        KEFU_RETURN_IF_ERROR(CloseTag(name));
      }
      out.emplace(std::move(name), std::move(text));
    }
    SkipSpace();
    if (pos_ != s_.size()) return Fail("content after the root element");
    return out;
  }

 private:
  Status Fail(std::string_view what) const {
    return Status::InvalidArgument("xml: " + std::string(what) + " at byte " + std::to_string(pos_));
  }
  bool Starts(std::string_view p) const { return s_.substr(pos_, p.size()) == p; }
  void SkipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\r' || s_[pos_] == '\n')) ++pos_;
  }

  Status Name(std::string* name) {
    if (pos_ >= s_.size() || !IsNameStart(s_[pos_])) return Fail("expected an element name");
    const size_t start = pos_;
    while (pos_ < s_.size() && IsNameChar(s_[pos_])) ++pos_;
    if (pos_ - start > 64) return Fail("element name too long");
    *name = std::string(s_.substr(start, pos_ - start));
    return Status::OK();
  }

  // "<name>" or "<name/>".
  Status OpenTag(std::string* name, bool* self_closed) {
    if (!Starts("<")) return Fail("expected '<'");
    ++pos_;
    KEFU_RETURN_IF_ERROR(Name(name));
    SkipSpace();
    *self_closed = Starts("/>");
    if (*self_closed) {
      pos_ += 2;
      return Status::OK();
    }
    if (!Starts(">")) return Fail("attributes are not supported");
    ++pos_;
    return Status::OK();
  }

  Status CloseTag(const std::string& name) {
    if (!Starts("</")) return Fail("expected a closing tag");
    pos_ += 2;
    std::string closing;
    KEFU_RETURN_IF_ERROR(Name(&closing));
    SkipSpace();
    if (closing != name || !Starts(">")) return Fail("mismatched closing tag");
    ++pos_;
    return Status::OK();
  }

  // Text and CDATA sections up to the next closing tag; elements inside, `depth` levels below a
  // child of the root, only while max_depth_ allows (read and dropped).
  Status Content(std::string* out, int depth) {
    while (pos_ < s_.size() && !Starts("</")) {
      if (Starts("<![CDATA[")) {
        const size_t end = s_.find("]]>", pos_ + 9);
        if (end == std::string_view::npos) return Fail("unterminated CDATA");
        out->append(s_.substr(pos_ + 9, end - pos_ - 9));
        pos_ = end + 3;
      } else if (s_[pos_] == '<') {
        if (depth >= max_depth_) return Fail("nested elements are not supported");
        std::string name, dropped;
        bool self_closed = false;
        KEFU_RETURN_IF_ERROR(OpenTag(&name, &self_closed));
        if (self_closed) continue;
        KEFU_RETURN_IF_ERROR(Content(&dropped, depth + 1));
        KEFU_RETURN_IF_ERROR(CloseTag(name));
      } else if (s_[pos_] == '&') {
        KEFU_RETURN_IF_ERROR(Entity(out));
      } else {
        out->push_back(s_[pos_++]);
      }
    }
    if (pos_ >= s_.size()) return Fail("unterminated element");
    return Status::OK();
  }

  Status Entity(std::string* out) {
    const size_t end = s_.find(';', pos_);
    if (end == std::string_view::npos || end - pos_ > 12) return Fail("bad entity");
    const std::string_view e = s_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    if (e == "lt") return out->push_back('<'), Status::OK();
    if (e == "gt") return out->push_back('>'), Status::OK();
    if (e == "amp") return out->push_back('&'), Status::OK();
    if (e == "quot") return out->push_back('"'), Status::OK();
    if (e == "apos") return out->push_back('\''), Status::OK();
    if (e.size() >= 2 && e[0] == '#') {
      const bool hex = e[1] == 'x' || e[1] == 'X';
      const std::string_view digits = e.substr(hex ? 2 : 1);
      uint32_t cp = 0;
      auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
      if (ec == std::errc() && p == digits.data() + digits.size() && cp > 0 && cp <= 0x10FFFF &&
          !(cp >= 0xD800 && cp <= 0xDFFF)) {
        AppendUtf8(static_cast<char32_t>(cp), out);
        return Status::OK();
      }
    }
    return Fail("unknown entity");
  }

  std::string_view s_;
  size_t pos_ = 0;
  int max_depth_;
};

}  // namespace

Result<std::map<std::string, std::string>> ParseFlatXml(std::string_view xml, size_t max_bytes, bool skip_nested) {
  if (xml.size() > max_bytes) return Status::InvalidArgument("xml: the document is too large");
  return FlatXmlReader(xml, skip_nested).Read();
}

std::string XmlCdata(std::string_view text) {
  std::string out = "<![CDATA[";
  size_t pos = 0;
  while (true) {
    const size_t end = text.find("]]>", pos);
    if (end == std::string_view::npos) break;
    out.append(text.substr(pos, end - pos + 2));  // "...]]" then a new section starts with ">"
    out += "]]><![CDATA[";
    pos = end + 2;
  }
  out.append(text.substr(pos));
  return out + "]]>";
}

}  // namespace kefu
