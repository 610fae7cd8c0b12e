// Request bodies under a hard bound, whatever their framing (shared/hazards.md, cpp-httplib 0.11.4):
// cpp-httplib applies its payload limit only to a Content-Length body, reads a chunked body whole,
// inflates a gzip/deflate/br body whole, and reads a body with an unknown Transfer-Encoding until the
// connection closes, all before any handler runs. kefu therefore decides from the headers alone
// (PlanBody, in the pre-routing hook) and reads every body itself through a content reader
// (ReadBody), keeping at most the route's limit in memory:
//
//   Content-Encoding other than identity  415, never inflated (kefu's clients send plain JSON)
//   multipart/* bodies                    415, never parsed
//   Transfer-Encoding other than chunked  501 and the connection closes (its end cannot be found)
//   Content-Length and Transfer-Encoding  400 and the connection closes (request smuggling)
//   a malformed or repeated Content-Length 400 and the connection closes
//   Content-Length over the route's limit 413 (the body is discarded first when it is at most
//                                         ServerOptions::max_discard_bytes, else the connection closes)
//   chunked                               read up to the route's limit; beyond it discarded, then 413
//
// Discarding (reading and throwing away) lets the client read its error on a healthy connection;
// the discard is bounded too, so an endless body ends with the connection. Thread-compatible: pure
// functions of their arguments.
#ifndef KEFU_ADAPTERS_BODY_GUARD_H_
#define KEFU_ADAPTERS_BODY_GUARD_H_

#include <httplib.h>

#include <cstddef>
#include <string>

namespace kefu {

// What to do with a request's body, decided from its headers before any byte of it is read.
struct BodyPlan {
  enum class Action {
    kNone,       // no body (no Content-Length, no Transfer-Encoding, or Content-Length: 0)
    kRead,       // read it through ReadBody, keeping at most `keep` bytes
    kRefuseNow,  // answer `status` without reading it and close the connection
  };
  Action action = Action::kNone;
  size_t keep = 0;
  // When non-zero: the request is refused with this status (kRefuseNow at once; kRead once the
  // body has been discarded, in which case `keep` is 0).
  int status = 0;
  std::string code;
  std::string message;
};

// The plan for `req` (a method that carries a body) on a route that accepts at most `route_limit`
// bytes. `routed` is false when no route has the path and method (the body is discarded, then the
// router answers 404 or 405). `discard_limit`: the most bytes ever read of a refused body.
BodyPlan PlanBody(const httplib::Request& req, bool routed, size_t route_limit, size_t discard_limit);

// Makes cpp-httplib read a refused body as plain bytes: drops Content-Encoding (so that nothing is
// inflated) and a multipart Content-Type (so that nothing is parsed). Call only on a request whose
// plan refuses it: its body is discarded, never used.
void DisarmRefusedBody(httplib::Request& req);

struct BodyRead {
  bool complete = false;  // the body was read to its end (false: broken framing, a stalled client,
                          // or more than the discard limit; the connection must close)
  bool over = false;      // it had more than `keep` bytes: nothing was kept
};

// Reads the body through `reader`, appending to `*body` up to `keep` bytes. A body over `keep` is
// read on and thrown away, up to `discard_limit` bytes in all, and `*body` is left empty.
BodyRead ReadBody(const httplib::ContentReader& reader, size_t keep, size_t discard_limit, std::string* body);

}  // namespace kefu

#endif  // KEFU_ADAPTERS_BODY_GUARD_H_
