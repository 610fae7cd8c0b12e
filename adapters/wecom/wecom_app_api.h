// The WeCom platform's HTTP API as the self-built app (企业微信自建应用) channel uses it:
// message/send (a text to one employee, from the app's agentid), user/get (an employee's name and
// departments) and department/get (a department's name). Built on WeComClient, which owns the
// access token (gettoken with the app's Secret; cached, refreshed once on 40014/42001) and retries
// transient failures (-1, 45009, 45033, HTTP 5xx) with backoff.
//
// Thread-safe, like WeComClient.
#ifndef KEFU_ADAPTERS_WECOM_WECOM_APP_API_H_
#define KEFU_ADAPTERS_WECOM_WECOM_APP_API_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapters/wecom/wecom_api.h"
#include "base/status.h"
#include "engine/clock.h"

namespace kefu {

// An employee as user/get describes them (the fields the channel reads).
struct WeComEmployee {
  std::string userid;
  std::string name;
  std::vector<int64_t> departments;  // department ids, the main one first when WeCom names it
};

class WeComAppClient {
 public:
  WeComAppClient(std::string base_url, std::string corp_id, std::string secret, int64_t agent_id, const Clock* clock,
                 WeComClientOptions options = {})
      : client_(std::move(base_url), std::move(corp_id), std::move(secret), clock, options), agent_id_(agent_id) {}

  // message/send of a text (at most 2,048 bytes: WeCom's limit) to the employee `userid`. OK when
  // WeCom accepted it. Unavailable when a transient failure (a rate limit included) outlived the
  // retries: keep the message and try again later; Unauthenticated when no token could be had;
  // InvalidArgument naming the errcode when WeCom refused this message.
  Status SendText(std::string_view userid, std::string_view text);
  // message/send of a button card (template_card, card_type button_interaction): `title` as its
  // main title, `text` below it, one button per (key, text) of `buttons` (at most 6), `task_id`
  // unique for the app ([A-Za-z0-9_@-], at most 128 bytes). A click comes back as a
  // template_card_event callback with the button's key and the task id. Errors as SendText.
  Status SendButtons(std::string_view userid, std::string_view task_id, std::string_view title, std::string_view text,
                     const std::vector<std::pair<std::string, std::string>>& buttons);
  // user/get. NotFound-like refusals come back as InvalidArgument naming the errcode; transient
  // failures as SendText.
  Result<WeComEmployee> GetUser(std::string_view userid);
  // department/get's name of department `id`. Errors as GetUser.
  Result<std::string> DepartmentName(int64_t id);

  uint64_t token_fetches() const { return client_.token_fetches(); }

 private:
  WeComClient client_;
  int64_t agent_id_;
};

}  // namespace kefu

#endif  // KEFU_ADAPTERS_WECOM_WECOM_APP_API_H_
