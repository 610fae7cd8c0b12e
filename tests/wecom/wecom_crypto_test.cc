// WeCom's callback crypto against the official sample vectors of the WeCom documentation (the
// WXBizMsgCrypt samples: token QDG6eK, corp id wx5823bf96d3bd56c7), and the flat XML reader.
#include <doctest/doctest.h>

#include <string>

#include "adapters/wecom/wecom_crypto.h"
#include "adapters/wecom/wecom_xml.h"

namespace kefu {
namespace {

constexpr char kToken[] = "QDG6eK";
constexpr char kCorpId[] = "wx5823bf96d3bd56c7";
constexpr char kAesKey[] = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

// The URL-verification sample: GET ?msg_signature=...&timestamp=...&nonce=...&echostr=...
constexpr char kUrlSignature[] = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3";
constexpr char kUrlTimestamp[] = "1409659589";
constexpr char kUrlNonce[] = "263014780";
constexpr char kUrlEchostr[] =
    "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";

// The callback sample: a POST whose <Encrypt> carries a text message.
constexpr char kPostSignature[] = "477715d11cdb4164915debcba66cb864d751f3e6";
constexpr char kPostTimestamp[] = "1409659813";
constexpr char kPostNonce[] = "1372623149";
constexpr char kPostEncrypt[] =
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/"
    "sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+"
    "LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4"
    "EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2Yoyy"
    "H2uyPIGHBZZIs2pDBS8R07+qN+E7Q==";

WeComCrypto Sample(const char* receiver = kCorpId) {
  auto c = WeComCrypto::Create(kToken, kAesKey, receiver);
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  return *c;
}

TEST_CASE("the official URL-verification sample decrypts to its echo string") {
  WeComCrypto c = Sample();
  CHECK(c.Signature(kUrlTimestamp, kUrlNonce, kUrlEchostr) == kUrlSignature);
  auto plain = c.VerifyAndDecrypt(kUrlSignature, kUrlTimestamp, kUrlNonce, kUrlEchostr);
  REQUIRE_MESSAGE(plain.ok(), plain.status().ToString());
  CHECK(*plain == "1616140317555161061");
  // Upper-case hex is the same signature.
  CHECK(c.VerifyAndDecrypt("5C45FF5E21C57E6AD56BAC8758B79B1D9AC89FD3", kUrlTimestamp, kUrlNonce, kUrlEchostr).ok());
}

TEST_CASE("the official callback sample decrypts to a message for the sample corp") {
  WeComCrypto c = Sample();
  auto plain = c.VerifyAndDecrypt(kPostSignature, kPostTimestamp, kPostNonce, kPostEncrypt);
  REQUIRE_MESSAGE(plain.ok(), plain.status().ToString());
  auto xml = ParseFlatXml(*plain);
  REQUIRE_MESSAGE(xml.ok(), xml.status().ToString());
  CHECK(xml->at("ToUserName") == kCorpId);
  CHECK(xml->at("MsgType") == "text");
  CHECK(xml->count("Content") == 1);
}

TEST_CASE("a wrong signature, timestamp, nonce or token is refused before decrypting") {
  WeComCrypto c = Sample();
  std::string bad = kUrlSignature;
  bad[0] = bad[0] == '5' ? '6' : '5';
  CHECK(c.VerifyAndDecrypt(bad, kUrlTimestamp, kUrlNonce, kUrlEchostr).status().code() ==
        Status::Code::kUnauthenticated);
  CHECK(c.VerifyAndDecrypt(kUrlSignature, "1409659590", kUrlNonce, kUrlEchostr).status().code() ==
        Status::Code::kUnauthenticated);
  CHECK(c.VerifyAndDecrypt(kUrlSignature, kUrlTimestamp, "263014781", kUrlEchostr).status().code() ==
        Status::Code::kUnauthenticated);
  auto other_token = WeComCrypto::Create("QDG6eL", kAesKey, kCorpId);
  REQUIRE(other_token.ok());
  CHECK(other_token->VerifyAndDecrypt(kUrlSignature, kUrlTimestamp, kUrlNonce, kUrlEchostr).status().code() ==
        Status::Code::kUnauthenticated);
  CHECK(c.VerifyAndDecrypt("", kUrlTimestamp, kUrlNonce, kUrlEchostr).status().code() ==
        Status::Code::kInvalidArgument);
}

TEST_CASE("a message for another corp id is refused") {
  WeComCrypto other = Sample("wx0000000000000000");
  auto plain = other.VerifyAndDecrypt(kUrlSignature, kUrlTimestamp, kUrlNonce, kUrlEchostr);
  CHECK(plain.status().code() == Status::Code::kUnauthenticated);
  // And the other way round: what another corp's key material produced for it.
  const std::string foreign = other.Encrypt("<xml></xml>");
  WeComCrypto c = Sample();
  CHECK(c.VerifyAndDecrypt(c.Signature("1", "2", foreign), "1", "2", foreign).status().code() ==
        Status::Code::kUnauthenticated);
}

TEST_CASE("encrypting round-trips, pads to 32 bytes, and tampering is caught") {
  WeComCrypto c = Sample();
  for (size_t n : {0, 1, 11, 12, 13, 31, 32, 33, 100, 5000}) {
    const std::string message(n, 'x');
    const std::string encrypted = c.Encrypt(message);
    auto raw = Base64Decode(encrypted);
    REQUIRE(raw.ok());
    CHECK(raw->size() % 32 == 0);
    auto back = c.VerifyAndDecrypt(c.Signature("1", "2", encrypted), "1", "2", encrypted);
    REQUIRE_MESSAGE(back.ok(), back.status().ToString());
    CHECK(*back == message);
  }
  // A fixed random prefix gives a fixed ciphertext.
  CHECK(c.Encrypt("hello", "0123456789abcdef") == c.Encrypt("hello", "0123456789abcdef"));
  CHECK(c.Encrypt("hello") != c.Encrypt("hello"));
  // Flipping a ciphertext byte (signature recomputed, as an attacker could) breaks the padding or
  // the receiver id, never yields another message silently.
  std::string encrypted = c.Encrypt("<xml><a>1</a></xml>", "0123456789abcdef");
  auto raw = Base64Decode(encrypted);
  REQUIRE(raw.ok());
  (*raw)[raw->size() - 20] ^= 0x01;
  const std::string tampered = Base64Encode(*raw);
  CHECK_FALSE(c.VerifyAndDecrypt(c.Signature("1", "2", tampered), "1", "2", tampered).ok());
  // Not base64, not whole blocks.
  CHECK(c.VerifyAndDecrypt(c.Signature("1", "2", "@@@@"), "1", "2", "@@@@").status().code() ==
        Status::Code::kInvalidArgument);
  CHECK(c.VerifyAndDecrypt(c.Signature("1", "2", "AAAA"), "1", "2", "AAAA").status().code() ==
        Status::Code::kInvalidArgument);
}

TEST_CASE("an EncodingAESKey that is not 43 base64 characters is refused") {
  CHECK_FALSE(WeComCrypto::Create(kToken, "short", kCorpId).ok());
  CHECK_FALSE(WeComCrypto::Create(kToken, std::string(kAesKey) + "A", kCorpId).ok());
  CHECK_FALSE(WeComCrypto::Create(kToken, "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2!", kCorpId).ok());
  CHECK_FALSE(WeComCrypto::Create("", kAesKey, kCorpId).ok());
  CHECK_FALSE(WeComCrypto::Create(kToken, kAesKey, "").ok());
}

TEST_CASE("base64 and SHA1 helpers") {
  CHECK(Base64Encode("") == "");
  CHECK(Base64Encode("f") == "Zg==");
  CHECK(Base64Encode("foob") == "Zm9vYg==");
  CHECK(*Base64Decode("Zm9vYmFy") == "foobar");
  CHECK(*Base64Decode("Zm9vYg==") == "foob");
  CHECK_FALSE(Base64Decode("Zm9vYg=").ok());
  CHECK_FALSE(Base64Decode("Zm9v Yg==").ok());
  CHECK(Sha1Hex("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d");
}

TEST_CASE("the flat XML of callbacks: CDATA, text, entities; nothing else") {
  auto x = ParseFlatXml(
      "<?xml version=\"1.0\"?>\n<xml>\n <ToUserName><![CDATA[ww1]]></ToUserName>\n <CreateTime>1348831860</CreateTime>"
      "<Content>a &lt;b&gt; &amp; &#20320;&#x597D;</Content><Empty/><Split><![CDATA[x]]]]><![CDATA[>y]]></Split></xml>");
  REQUIRE_MESSAGE(x.ok(), x.status().ToString());
  CHECK(x->at("ToUserName") == "ww1");
  CHECK(x->at("CreateTime") == "1348831860");
  CHECK(x->at("Content") == "a <b> & 你好");
  CHECK(x->at("Empty").empty());
  CHECK(x->at("Split") == "x]]>y");
  CHECK(XmlCdata("x]]>y") == "<![CDATA[x]]]]><![CDATA[>y]]>");
  auto round = ParseFlatXml("<xml><A>" + XmlCdata("p]]>q<r>") + "</A></xml>");
  REQUIRE(round.ok());
  CHECK(round->at("A") == "p]]>q<r>");
  for (const char* bad : {"", "<xml>", "<xml><a>1</b></xml>", "<xml><a><b>1</b></a></xml>",
                          "<!DOCTYPE x [<!ENTITY e \"boom\">]><xml/>", "<xml><a x=\"1\">1</a></xml>",
                          "<xml><a>&e;</a></xml>", "<xml><a>1</a></xml>trailing", "<xml><![CDATA[x</xml>",
                          "<xml><!-- c --></xml>"}) {
    CHECK_MESSAGE(!ParseFlatXml(bad).ok(), bad);
  }
  CHECK_FALSE(ParseFlatXml(std::string(70000, ' ') + "<xml/>").ok());
}

TEST_CASE("nested elements, when skipped: checked, left out, at most 4 levels under a child") {
  auto x = ParseFlatXml(
      "<xml><Event><![CDATA[location_select]]></Event><SendLocationInfo><Location_X>23.1</Location_X>"
      "<Poiname><![CDATA[x]]></Poiname><Deep><A><B><C/></B></A></Deep></SendLocationInfo><AgentID>1</AgentID></xml>",
      64 << 10, true);
  REQUIRE_MESSAGE(x.ok(), x.status().ToString());
  CHECK(x->at("Event") == "location_select");
  CHECK(x->at("SendLocationInfo").empty());
  CHECK(x->count("Location_X") == 0);
  CHECK(x->at("AgentID") == "1");
  for (const char* bad : {"<xml><a><b>1</c></a></xml>", "<xml><a><b><c><d><e><f>1</f></e></d></c></b></a></xml>",
                          "<xml><a><b x=\"1\">1</b></a></xml>", "<xml><a><!-- c --></a></xml>"}) {
    CHECK_MESSAGE(!ParseFlatXml(bad, 64 << 10, true).ok(), bad);
  }
}

}  // namespace
}  // namespace kefu
