// Secrets: random tokens, their hashes, constant-time comparison, and password hashing, all from
// libsodium. Tokens are stored only as hashes, so a copy of the data directory opens nothing.
#ifndef KEFU_ENGINE_AUTH_H_
#define KEFU_ENGINE_AUTH_H_

#include <string>
#include <string_view>

#include "base/status.h"

namespace kefu {

// Initialises libsodium once; Internal when it cannot. Thread-safe; the other functions call it.
Status InitCrypto();

// A fresh random token: `bytes` random bytes as URL-safe base64 without padding (32 bytes give
// 43 characters).
std::string RandomToken(size_t bytes = 32);

// Lower-case hex of `bytes` random bytes (for ids that appear in URLs).
std::string RandomHex(size_t bytes);

// Hex BLAKE2b-256 of `token`: what the store keeps instead of the token.
std::string HashToken(std::string_view token);

// Compares in time that depends only on the lengths.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Cost of password hashing (Argon2id). kInteractive is libsodium's interactive level (for
// production); kMinimal is for tests, where hundreds of accounts are created.
enum class PasswordCost { kInteractive, kMinimal };

// An encoded Argon2id hash of `password`; ResourceExhausted when memory is short.
Result<std::string> HashPassword(std::string_view password, PasswordCost cost = PasswordCost::kInteractive);

// True when `password` matches `hash` (from HashPassword).
bool VerifyPassword(std::string_view hash, std::string_view password);

// Hex HMAC-SHA256 of `message` under `key` (the app channel's signed user ids).
std::string HmacSha256Hex(std::string_view key, std::string_view message);

}  // namespace kefu

#endif  // KEFU_ENGINE_AUTH_H_
