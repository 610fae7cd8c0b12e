// The signed-identity path (adapters/customer_identity.h): libjwt's splitting, base64url, JSON
// (jansson) and HMAC check, then kefu's reading of the claims. The first byte picks the mode:
// even, the rest is a token as sent; odd, the rest is a header and claims (separated by '\n')
// that are correctly signed with the desk's secret, so that the fuzzer reaches the claims.
// Properties: nothing crashes or leaks; an identity that verifies has a user id and is inside
// the time rules.
#include <cstddef>
#include <cstdint>
#include <string>

#include "adapters/customer_identity.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/http/jwt_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using kefu::fuzz::Expect;
  constexpr char kSecret[] = "fuzz-app-secret";
  constexpr int64_t kNow = 1'700'000'000;
  kefu::fuzz::FuzzInput in(data, size);
  const bool signed_by_us = (in.Byte() & 1) != 0;
  std::string token;
  if (signed_by_us) {
    const std::string header(in.Until('\n'));
    token = kefu::testing::SignJwt(header, in.Rest(), kSecret);
  } else {
    token = std::string(in.Rest());
  }
  const kefu::IdentityRules rules;
  auto who = kefu::VerifyIdentityJwt(token, kSecret, kNow, rules);
  if (!who.ok()) {
    Expect(who.status().code() == kefu::Status::Code::kUnauthenticated);
    return 0;
  }
  Expect(!who->user_id.empty());
  Expect(who->expires_at + rules.clock_skew_seconds > kNow);
  Expect(who->expires_at - kNow <= rules.max_lifetime_seconds);
  Expect(!who->legacy);
  return 0;
}
