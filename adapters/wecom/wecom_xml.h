// The XML of WeCom callbacks: one root element whose children are leaf elements holding text or
// a CDATA section, e.g. <xml><ToUserName><![CDATA[ww1]]></ToUserName><CreateTime>1</CreateTime></xml>.
// Nothing else is accepted (no nesting, DTDs, comments or processing instructions other than an
// <?xml ...?> declaration), so no parser attack surface comes with it. Thread-safe (pure).
#ifndef KEFU_ADAPTERS_WECOM_WECOM_XML_H_
#define KEFU_ADAPTERS_WECOM_WECOM_XML_H_

#include <map>
#include <string>
#include <string_view>

#include "base/status.h"

namespace kefu {

// The root's children, name -> text (CDATA verbatim; text with &lt; &gt; &amp; &quot; &apos; and
// numeric references decoded; the first of repeated names wins). InvalidArgument for anything
// else, or for input over `max_bytes`. With `skip_nested`, a child may hold elements (as some
// events of WeCom apps do: SendLocationInfo, SelectedItems), at most 4 levels deep under it, in
// the same restricted form; they are checked and left out (the child maps to its own text only).
Result<std::map<std::string, std::string>> ParseFlatXml(std::string_view xml, size_t max_bytes = 64 << 10,
                                                        bool skip_nested = false);

// "<![CDATA[text]]>", splitting any "]]>" inside `text` across two sections.
std::string XmlCdata(std::string_view text);

}  // namespace kefu

#endif  // KEFU_ADAPTERS_WECOM_WECOM_XML_H_
