// In-order delivery of a conversation's messages to one WeCom user, shared by both WeCom channels
// (微信客服's send_msg and the self-built app's message/send): what was sent is a cursor (the last
// message done, and the parts of the next one already sent), saved after every part, so that a
// restart or a retry sends nothing twice and skips nothing. Thread-compatible: one delivery per
// user at a time (each channel runs them under its own serialisation).
#ifndef KEFU_ADAPTERS_WECOM_WECOM_DELIVERY_H_
#define KEFU_ADAPTERS_WECOM_WECOM_DELIVERY_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/engine.h"

namespace kefu {

struct DeliveryCursor {
  uint64_t delivered = 0;  // the last message seq that needs nothing more
  int parts_sent = 0;      // parts of the message after it already sent (long texts)
};

enum class PartOutcome {
  kSent,     // accepted: on to the next part
  kRefused,  // will never be accepted: the rest of this message is skipped (it must not block the others)
  kWait,     // not now (a rate limit, a closed window): stop here and try again later
};

enum class DeliveryResult {
  kDone,    // everything is sent
  kWait,    // a part answered kWait
  kFailed,  // the history or the cursor could not be read or saved: try again later
};

// Sends, in order, the kefu messages of `conversation` after `*cursor` that went out on the WeCom
// channel (never the customer's own, never notes): `render` cuts a message into parts, `send`
// sends one, `save` stores the cursor (after every part sent, and after each page).
template <typename Part>
DeliveryResult DeliverInOrder(Engine* engine, const std::string& conversation, DeliveryCursor* cursor,
                              const std::function<std::vector<Part>(const Message&)>& render,
                              const std::function<PartOutcome(const Message&, const Part&)>& send,
                              const std::function<Status()>& save) {
  auto view = engine->GetConversation(conversation);
  if (!view.ok() || view->last_seq <= cursor->delivered) return DeliveryResult::kDone;
  while (true) {
    auto page = engine->History(conversation, cursor->delivered, 200, false);
    if (!page.ok()) return DeliveryResult::kFailed;
    if (page->empty()) return DeliveryResult::kDone;
    for (const Message& m : *page) {
      if (m.kind != MessageKind::kCustomer && m.channel == Channel::kWeCom) {
        const std::vector<Part> parts = render(m);
        for (size_t i = static_cast<size_t>(cursor->parts_sent); i < parts.size(); ++i) {
          const PartOutcome outcome = send(m, parts[i]);
          if (outcome == PartOutcome::kWait) {
            (void)save();
            return DeliveryResult::kWait;
          }
          if (outcome == PartOutcome::kRefused) break;
          cursor->parts_sent = static_cast<int>(i + 1);
          if (!save().ok()) return DeliveryResult::kFailed;
        }
      }
      cursor->delivered = m.seq;
      cursor->parts_sent = 0;
    }
    if (!save().ok()) return DeliveryResult::kFailed;
  }
}

}  // namespace kefu

#endif  // KEFU_ADAPTERS_WECOM_WECOM_DELIVERY_H_
