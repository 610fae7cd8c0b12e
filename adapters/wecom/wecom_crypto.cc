#include "adapters/wecom/wecom_crypto.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <memory>

#include "engine/auth.h"

namespace kefu {
namespace {

constexpr size_t kKeyBytes = 32;
constexpr size_t kIvBytes = 16;
constexpr size_t kRandomBytes = 16;
constexpr size_t kBlock = 32;  // WeCom pads to 32 bytes, not to AES's 16

bool IsBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};

// AES-256-CBC without OpenSSL's own padding (WeCom's padding is done by hand). `in` must be a
// multiple of 16 bytes. False on any OpenSSL failure.
bool AesCbc(bool encrypt, const std::string& key, std::string_view in, std::string* out) {
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return false;
  const auto* k = reinterpret_cast<const unsigned char*>(key.data());
  if (EVP_CipherInit_ex(ctx.get(), EVP_aes_256_cbc(), nullptr, k, k, encrypt ? 1 : 0) != 1) return false;
  EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
  out->assign(in.size() + 16, '\0');
  int written = 0, final_written = 0;
  auto* o = reinterpret_cast<unsigned char*>(out->data());
  if (EVP_CipherUpdate(ctx.get(), o, &written, reinterpret_cast<const unsigned char*>(in.data()),
                       static_cast<int>(in.size())) != 1 ||
      EVP_CipherFinal_ex(ctx.get(), o + written, &final_written) != 1) {
    return false;
  }
  out->resize(static_cast<size_t>(written + final_written));
  return true;
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(std::max(n, 0)));
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return Status::InvalidArgument("base64: length is not a multiple of 4");
  size_t padding = 0;
  while (padding < 2 && text[text.size() - 1 - padding] == '=') ++padding;
  for (size_t i = 0; i < text.size() - padding; ++i) {
    if (!IsBase64Char(text[i])) return Status::InvalidArgument("base64: invalid character");
  }
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0 || static_cast<size_t>(n) < padding) return Status::InvalidArgument("base64: cannot decode");
  out.resize(static_cast<size_t>(n) - padding);  // EVP_DecodeBlock counts the padding as zero bytes
  return out;
}

std::string Sha1Hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &n, EVP_sha1(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (unsigned int i = 0; i < n; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xF];
  }
  return out;
}

Result<WeComCrypto> WeComCrypto::Create(std::string_view token, std::string_view encoding_aes_key,
                                        std::string_view receiver_id) {
  if (token.empty()) return Status::InvalidArgument("wecom: the token is empty");
  if (receiver_id.empty()) return Status::InvalidArgument("wecom: the corp id is empty");
  if (encoding_aes_key.size() != 43) return Status::InvalidArgument("wecom: the EncodingAESKey must have 43 characters");
  auto key = Base64Decode(std::string(encoding_aes_key) + "=");
  if (!key.ok() || key->size() != kKeyBytes) return Status::InvalidArgument("wecom: the EncodingAESKey is not base64");
  WeComCrypto c;
  c.token_ = std::string(token);
  c.key_ = std::move(*key);
  c.receiver_id_ = std::string(receiver_id);
  return c;
}

std::string WeComCrypto::Signature(std::string_view timestamp, std::string_view nonce,
                                   std::string_view ciphertext) const {
  std::array<std::string_view, 4> parts = {token_, timestamp, nonce, ciphertext};
  std::sort(parts.begin(), parts.end());
  std::string joined;
  for (std::string_view p : parts) joined += p;
  return Sha1Hex(joined);
}

Result<std::string> WeComCrypto::VerifyAndDecrypt(std::string_view msg_signature, std::string_view timestamp,
                                                  std::string_view nonce, std::string_view ciphertext) const {
  if (msg_signature.empty() || timestamp.empty() || nonce.empty() || ciphertext.empty()) {
    return Status::InvalidArgument("wecom: msg_signature, timestamp, nonce and the ciphertext are required");
  }
  std::string expected = Signature(timestamp, nonce, ciphertext);
  std::string given(msg_signature);
  std::transform(given.begin(), given.end(), given.begin(), [](unsigned char ch) { return std::tolower(ch); });
  if (!ConstantTimeEquals(expected, given)) return Status::Unauthenticated("wecom: the msg_signature does not match");
  return Decrypt(ciphertext);
}

Result<std::string> WeComCrypto::Decrypt(std::string_view ciphertext) const {
  auto raw = Base64Decode(ciphertext);
  if (!raw.ok()) return Status::InvalidArgument("wecom: the ciphertext is not base64");
  if (raw->size() < kBlock || raw->size() % kIvBytes != 0) {
    return Status::InvalidArgument("wecom: the ciphertext is not whole AES blocks");
  }
  std::string plain;
  if (!AesCbc(false, key_, *raw, &plain)) return Status::InvalidArgument("wecom: cannot decrypt");
  const size_t pad = static_cast<unsigned char>(plain.back());
  if (pad < 1 || pad > kBlock || pad > plain.size()) return Status::InvalidArgument("wecom: bad padding");
  for (size_t i = plain.size() - pad; i < plain.size(); ++i) {
    if (static_cast<unsigned char>(plain[i]) != pad) return Status::InvalidArgument("wecom: bad padding");
  }
  plain.resize(plain.size() - pad);
  if (plain.size() < kRandomBytes + 4) return Status::InvalidArgument("wecom: the plaintext is too short");
  const auto* len_bytes = reinterpret_cast<const unsigned char*>(plain.data() + kRandomBytes);
  const size_t length = (size_t{len_bytes[0]} << 24) | (size_t{len_bytes[1]} << 16) | (size_t{len_bytes[2]} << 8) |
                        size_t{len_bytes[3]};
  const size_t body = kRandomBytes + 4;
  if (length > plain.size() - body) return Status::InvalidArgument("wecom: the length field is too large");
  const std::string_view receiver = std::string_view(plain).substr(body + length);
  if (!ConstantTimeEquals(receiver, receiver_id_)) {
    return Status::Unauthenticated("wecom: the message is for another receiver (corp id)");
  }
  return plain.substr(body, length);
}

std::string WeComCrypto::Encrypt(std::string_view message, std::string_view random16) const {
  std::string plain(kRandomBytes, '\0');
  if (random16.size() == kRandomBytes) {
    plain.assign(random16);
  } else {
    RAND_bytes(reinterpret_cast<unsigned char*>(plain.data()), static_cast<int>(kRandomBytes));
  }
  const uint32_t n = static_cast<uint32_t>(message.size());
  plain += static_cast<char>((n >> 24) & 0xFF);
  plain += static_cast<char>((n >> 16) & 0xFF);
  plain += static_cast<char>((n >> 8) & 0xFF);
  plain += static_cast<char>(n & 0xFF);
  plain += message;
  plain += receiver_id_;
  const size_t pad = kBlock - plain.size() % kBlock;  // 1..32: a whole block when already aligned
  plain.append(pad, static_cast<char>(pad));
  std::string encrypted;
  if (!AesCbc(true, key_, plain, &encrypted)) return "";
  return Base64Encode(encrypted);
}

}  // namespace kefu
