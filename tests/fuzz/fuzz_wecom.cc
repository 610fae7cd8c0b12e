// The WeCom callback path, outside in: the flat XML parser, base64, the signature check and AES
// decryption with its padding, length and receiver checks, and WeComChannel::HandleCallback on
// correctly signed and encrypted envelopes whose inner XML is the fuzzer's.
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "adapters/wecom/wecom_crypto.h"
#include "adapters/wecom/wecom_xml.h"
#include "tests/fuzz/fuzz_util.h"

#ifdef KEFU_FUZZ_WECOM_CHANNEL
#include "adapters/wecom/wecom_channel.h"
#include "engine/engine.h"
#endif

namespace {

using kefu::fuzz::Expect;

constexpr std::string_view kToken = "fuzztoken";
constexpr std::string_view kAesKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";  // 43 characters
constexpr std::string_view kCorpId = "wwfuzzcorp";

const kefu::WeComCrypto& Crypto() {
  static const kefu::WeComCrypto crypto = [] {
    auto c = kefu::WeComCrypto::Create(kToken, kAesKey, kCorpId);
    Expect(c.ok());
    return *c;
  }();
  return crypto;
}

// AES-256-CBC without padding of `plain` (a multiple of 16 bytes) under the callback key.
std::string RawEncrypt(const std::string& plain) {
  auto key = kefu::Base64Decode(std::string(kAesKey) + "=");
  Expect(key.ok() && key->size() == 32);
  std::string out(plain.size() + 32, '\0');
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  const auto* k = reinterpret_cast<const unsigned char*>(key->data());
  int n = 0, m = 0;
  Expect(EVP_EncryptInit_ex(ctx, EVP_aes_256_cbc(), nullptr, k, k) == 1);
  EVP_CIPHER_CTX_set_padding(ctx, 0);
  Expect(EVP_EncryptUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()), &n,
                           reinterpret_cast<const unsigned char*>(plain.data()), static_cast<int>(plain.size())) == 1);
  Expect(EVP_EncryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(out.data()) + n, &m) == 1);
  EVP_CIPHER_CTX_free(ctx);
  out.resize(static_cast<size_t>(n + m));
  return kefu::Base64Encode(out);
}

#ifdef KEFU_FUZZ_WECOM_CHANNEL
struct Channel {
  kefu::ManualClock clock;
  std::unique_ptr<kefu::Engine> engine;
  std::unique_ptr<kefu::WeComChannel> channel;
};

Channel& SharedChannel() {
  static Channel* c = [] {
    auto* out = new Channel();
    kefu::DeskConfig d;
    d.id = "shop";
    d.name = "Shop";
    d.ticket_prefix = "SHOP";
    d.knowledge_bases = {std::string(KEFU_SOURCE_DIR) + "/kb/samples/shop-en.json"};
    d.default_team = "general";
    d.wecom.corp_id = std::string(kCorpId);
    d.wecom.secret = "fuzz-secret";
    d.wecom.token = std::string(kToken);
    d.wecom.encoding_aes_key = std::string(kAesKey);
    d.wecom.base_url = "http://127.0.0.1:9";  // never called: the channel is not started
    kefu::KefuConfig config;
    config.desks = {d};
    auto store = kefu::OpenMemoryStore();
    Expect(store.ok());
    kefu::EngineOptions eo;
    eo.password_cost = kefu::PasswordCost::kMinimal;
    auto engine = kefu::Engine::Open(config, std::move(*store), &out->clock, eo);
    Expect(engine.ok());
    out->engine = std::move(*engine);
    kefu::WeComOptions wo;
    wo.log = false;
    out->channel = std::make_unique<kefu::WeComChannel>(out->engine.get(), &out->clock, wo);
    return out;
  }();
  return *c;
}
#endif  // KEFU_FUZZ_WECOM_CHANNEL

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kefu::fuzz::FuzzInput in(data, size);
  const uint8_t mode = in.Byte();
  switch (mode % 5) {
    case 0: {
      auto fields = kefu::ParseFlatXml(in.Rest());
      if (fields.ok()) {
        for (const auto& [name, text] : *fields) Expect(!name.empty());
      }
      break;
    }
    case 1: {
      auto bytes = kefu::Base64Decode(in.Rest());
      if (bytes.ok()) {
        auto again = kefu::Base64Decode(kefu::Base64Encode(*bytes));
        Expect(again.ok() && *again == *bytes);
      }
      break;
    }
    case 2: {  // any ciphertext text, correctly signed
      const std::string ciphertext(in.Rest());
      const kefu::WeComCrypto& crypto = Crypto();
      (void)crypto.VerifyAndDecrypt(crypto.Signature("1", "n", ciphertext), "1", "n", ciphertext);
      (void)crypto.VerifyAndDecrypt(ciphertext.substr(0, 40), "1", "n", ciphertext);
      break;
    }
    case 3: {  // any plaintext blocks: random prefix, length field, message, receiver, padding
      std::string plain(in.Rest());
      plain.resize((plain.size() + 15) / 16 * 16 + (plain.empty() ? 16 : 0), '\0');
      const std::string ciphertext = RawEncrypt(plain);
      const kefu::WeComCrypto& crypto = Crypto();
      auto message = crypto.VerifyAndDecrypt(crypto.Signature("1", "n", ciphertext), "1", "n", ciphertext);
      (void)message;
      break;
    }
    case 4: {  // a genuine callback envelope around the fuzzer's inner XML
      const std::string inner(in.Rest());
      const kefu::WeComCrypto& crypto = Crypto();
      const std::string encrypted = crypto.Encrypt(inner, "0123456789abcdef");
      const std::string body = "<xml><ToUserName><![CDATA[" + std::string(kCorpId) + "]]></ToUserName><Encrypt><![CDATA[" +
                               encrypted + "]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>";
#ifdef KEFU_FUZZ_WECOM_CHANNEL
      Channel& c = SharedChannel();
      // Stamped now, with a fresh nonce: the replay guard (issue 15) lets it through to the XML.
      static uint64_t calls = 0;
      const std::string ts = std::to_string(c.clock.NowMicros() / kefu::kMicrosPerSecond);
      const std::string nonce = std::to_string(++calls);
      (void)c.channel->HandleCallback("shop", crypto.Signature(ts, nonce, encrypted), ts, nonce, body);
#else
      (void)body;  // the envelope is still built: Encrypt runs on the fuzzer's bytes
#endif
      break;
    }
  }
  return 0;
}
