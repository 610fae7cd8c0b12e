// WeCom's callback encryption (the scheme of the WeCom documentation's "WXBizMsgCrypt" samples),
// used by the WeCom customer-service (微信客服) channel:
//
//   key        = base64-decode(EncodingAESKey + "=")            32 bytes; IV = key[0..16)
//   plaintext  = 16 random bytes | 4-byte big-endian length | message | receiver id (the corp id)
//   ciphertext = base64(AES-256-CBC(key, IV, plaintext padded PKCS#7-style to a multiple of 32))
//   signature  = hex SHA1 of the byte-wise sorted concatenation of token, timestamp, nonce, ciphertext
//
// OpenSSL does the AES-256-CBC and the SHA1: libsodium, used elsewhere in kefu, has neither AES-CBC
// nor SHA1. Thread-safe: a WeComCrypto is immutable once created.
#ifndef KEFU_ADAPTERS_WECOM_WECOM_CRYPTO_H_
#define KEFU_ADAPTERS_WECOM_WECOM_CRYPTO_H_

#include <string>
#include <string_view>

#include "base/status.h"

namespace kefu {

class WeComCrypto {
 public:
  // InvalidArgument when `encoding_aes_key` is not 43 base64 characters, or `token` or
  // `receiver_id` is empty.
  static Result<WeComCrypto> Create(std::string_view token, std::string_view encoding_aes_key,
                                    std::string_view receiver_id);

  // Lower-case hex SHA1 over the sorted token, timestamp, nonce and ciphertext.
  std::string Signature(std::string_view timestamp, std::string_view nonce, std::string_view ciphertext) const;

  // Checks `msg_signature` (in constant time) and only then decrypts `ciphertext` (base64) and
  // checks its padding, length field and receiver id. Returns the message. Unauthenticated for a
  // wrong signature or another receiver id; InvalidArgument for anything malformed.
  Result<std::string> VerifyAndDecrypt(std::string_view msg_signature, std::string_view timestamp,
                                       std::string_view nonce, std::string_view ciphertext) const;

  // The base64 ciphertext of `message` for this receiver. `random16` (exactly 16 bytes) replaces
  // the random prefix, for reproducible tests; empty draws 16 random bytes.
  std::string Encrypt(std::string_view message, std::string_view random16 = {}) const;

  const std::string& receiver_id() const { return receiver_id_; }

 private:
  WeComCrypto() = default;
  Result<std::string> Decrypt(std::string_view ciphertext) const;

  std::string token_;
  std::string key_;  // 32 bytes
  std::string receiver_id_;
};

// Standard base64 (with padding) of `bytes`.
std::string Base64Encode(std::string_view bytes);
// Decodes standard base64 with padding; InvalidArgument for other input. Like the WeCom
// samples, the unused low bits of the last character are ignored (the EncodingAESKey needs it).
Result<std::string> Base64Decode(std::string_view text);
// Lower-case hex SHA1 of `data`.
std::string Sha1Hex(std::string_view data);

}  // namespace kefu

#endif  // KEFU_ADAPTERS_WECOM_WECOM_CRYPTO_H_
