#include "base/yaml_document.h"

#include <yaml.h>

namespace kefu {
namespace {

const yaml_node_t* NodeOf(const void* p) { return static_cast<const yaml_node_t*>(p); }

std::string Problem(const yaml_parser_t& parser, std::string_view file) {
  std::string msg = std::string(file) + ":" + std::to_string(parser.problem_mark.line + 1) + ":" +
                    std::to_string(parser.problem_mark.column + 1) + ": invalid YAML: " +
                    (parser.problem != nullptr ? parser.problem : "cannot be read");
  if (parser.context != nullptr) msg += std::string(" ") + parser.context;
  return msg;
}

// Reads the events of the first document, failing at the first node nested deeper than
// `max_depth` (or at a syntax error), before the loader's time grows with the depth's square.
Status CheckDepth(std::string_view text, std::string_view file, int max_depth) {
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) return Status::Internal("libyaml: cannot initialise a parser");
  yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  Status status;
  for (int depth = 0;;) {
    yaml_event_t event;
    if (!yaml_parser_parse(&parser, &event)) {
      status = Status::InvalidArgument(Problem(parser, file));
      break;
    }
    const yaml_event_type_t type = event.type;
    const yaml_mark_t mark = event.start_mark;
    yaml_event_delete(&event);
    if (type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) ++depth;
    if (type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT) --depth;
    if (depth > max_depth) {
      status = Status::InvalidArgument(std::string(file) + ":" + std::to_string(mark.line + 1) + ":" +
                                       std::to_string(mark.column + 1) + ": YAML nested deeper than " +
                                       std::to_string(max_depth) + " levels");
      break;
    }
    if (type == YAML_DOCUMENT_END_EVENT || type == YAML_STREAM_END_EVENT) break;
  }
  yaml_parser_delete(&parser);
  return status;
}

}  // namespace

const void* YamlNode::node() const {
  return doc_ == nullptr || index_ == 0 ? nullptr : yaml_document_get_node(doc_, index_);
}

YamlNode::Kind YamlNode::kind() const {
  const yaml_node_t* n = NodeOf(node());
  if (n == nullptr) return Kind::kNone;
  switch (n->type) {
    case YAML_SCALAR_NODE: return Kind::kScalar;
    case YAML_SEQUENCE_NODE: return Kind::kSequence;
    case YAML_MAPPING_NODE: return Kind::kMapping;
    default: return Kind::kNone;
  }
}

std::string_view YamlNode::scalar() const {
  if (!is_scalar()) return {};
  const yaml_node_t* n = NodeOf(node());
  return std::string_view(reinterpret_cast<const char*>(n->data.scalar.value), n->data.scalar.length);
}

bool YamlNode::is_literal_block() const {
  return is_scalar() && NodeOf(node())->data.scalar.style == YAML_LITERAL_SCALAR_STYLE;
}

size_t YamlNode::line() const {
  const yaml_node_t* n = NodeOf(node());
  return n == nullptr ? 0 : n->start_mark.line + 1;
}

size_t YamlNode::size() const {
  const yaml_node_t* n = NodeOf(node());
  if (n == nullptr) return 0;
  if (n->type == YAML_SEQUENCE_NODE) return static_cast<size_t>(n->data.sequence.items.top - n->data.sequence.items.start);
  if (n->type == YAML_MAPPING_NODE) return static_cast<size_t>(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
  return 0;
}

YamlNode YamlNode::item(size_t i) const {
  if (!is_sequence() || i >= size()) return YamlNode(doc_, 0);
  return YamlNode(doc_, NodeOf(node())->data.sequence.items.start[i]);
}

YamlNode YamlNode::key(size_t i) const {
  if (!is_mapping() || i >= size()) return YamlNode(doc_, 0);
  return YamlNode(doc_, NodeOf(node())->data.mapping.pairs.start[i].key);
}

YamlNode YamlNode::value(size_t i) const {
  if (!is_mapping() || i >= size()) return YamlNode(doc_, 0);
  return YamlNode(doc_, NodeOf(node())->data.mapping.pairs.start[i].value);
}

YamlNode YamlNode::Get(std::string_view name) const {
  for (size_t i = 0; i < size() && is_mapping(); ++i) {
    const YamlNode k = key(i);
    if (k.is_scalar() && k.scalar() == name) return value(i);
  }
  return YamlNode(doc_, 0);
}

YamlDocument::YamlDocument() : doc_(std::make_unique<yaml_document_t>()) {}

YamlDocument::~YamlDocument() { yaml_document_delete(doc_.get()); }

YamlNode YamlDocument::root() const { return YamlNode(doc_.get(), yaml_document_get_root_node(doc_.get()) ? 1 : 0); }

Result<std::unique_ptr<YamlDocument>> YamlDocument::Parse(std::string_view text, std::string_view file,
                                                          int max_depth) {
  KEFU_RETURN_IF_ERROR(CheckDepth(text, file, max_depth));
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) return Status::Internal("libyaml: cannot initialise a parser");
  yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  std::unique_ptr<YamlDocument> doc(new YamlDocument());
  const bool loaded = yaml_parser_load(&parser, doc->doc_.get()) != 0;
  Status status;
  if (!loaded) status = Status::InvalidArgument(Problem(parser, file));
  yaml_parser_delete(&parser);
  if (!status.ok()) return status;
  return doc;
}

}  // namespace kefu
