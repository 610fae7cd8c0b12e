// One checked way into YAML (Rasa projects for `kefu kb import`): libyaml 0.2.5 (Debian's
// libyaml-0-2, the reference C parser) loads a document, and YamlNode reads it with the line of
// every node for messages that name file and line. The parser and the document loader keep their
// own stacks (no recursion on deep input); aliases refer to nodes, they are never copied.
//
// Hazard (measured on this project's VM): libyaml's time grows with the square of the nesting
// depth (20,000 nested "[" took 3.6 s, 40,000 took 14 s), so nesting is checked first, with
// libyaml's event parser, which stops at the first level beyond the limit.
#ifndef KEFU_BASE_YAML_DOCUMENT_H_
#define KEFU_BASE_YAML_DOCUMENT_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

struct yaml_document_s;

namespace kefu {

// A read-only view of one node. A missing node (Get of an absent key, item out of range) is a
// valid view whose kind() is kNone. Valid while its document lives.
class YamlNode {
 public:
  enum class Kind { kNone, kScalar, kSequence, kMapping };

  YamlNode() = default;  // a missing node

  Kind kind() const;
  bool is_scalar() const { return kind() == Kind::kScalar; }
  bool is_sequence() const { return kind() == Kind::kSequence; }
  bool is_mapping() const { return kind() == Kind::kMapping; }

  // A scalar's text ("" for other kinds); a quoted or plain empty value is "" too.
  std::string_view scalar() const;
  // True for a literal block scalar ("|"): its text's lines are the lines after line().
  bool is_literal_block() const;
  // 1-based line where the node starts (for a block scalar, the line of its "|"); 0 when missing.
  size_t line() const;

  // Items of a sequence, pairs of a mapping; 0 otherwise.
  size_t size() const;
  YamlNode item(size_t i) const;   // of a sequence
  YamlNode key(size_t i) const;    // of a mapping's i-th pair
  YamlNode value(size_t i) const;  // of a mapping's i-th pair
  // The value of the first pair of a mapping whose key is the scalar `name`.
  YamlNode Get(std::string_view name) const;

 private:
  friend class YamlDocument;
  YamlNode(yaml_document_s* doc, int index) : doc_(doc), index_(index) {}
  const void* node() const;

  yaml_document_s* doc_ = nullptr;
  int index_ = 0;  // libyaml's 1-based node index; 0 for a missing node
};

class YamlDocument {
 public:
  // Parses the first document of `text` (UTF-8; a BOM is fine). InvalidArgument
  // "FILE:LINE:COLUMN: invalid YAML: <problem> <context>" on a syntax error, or naming the first
  // node nested deeper than `max_depth` sequences and mappings.
  static Result<std::unique_ptr<YamlDocument>> Parse(std::string_view text, std::string_view file_name,
                                                     int max_depth = 64);
  ~YamlDocument();
  YamlDocument(const YamlDocument&) = delete;
  YamlDocument& operator=(const YamlDocument&) = delete;

  // The root node; kNone for an empty document.
  YamlNode root() const;

 private:
  YamlDocument();
  std::unique_ptr<yaml_document_s> doc_;
};

}  // namespace kefu

#endif  // KEFU_BASE_YAML_DOCUMENT_H_
