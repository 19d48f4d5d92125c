// Messages as gRPC's ByteBuffer and as plain bytes: the gateway's calls are generic, never typed.
#pragma once

#include <grpcpp/support/byte_buffer.h>

#include <string>
#include <string_view>

namespace gateway {

// BytesOf returns a copy of the message in `buffer`. A buffer that holds no message, or that gRPC
// cannot read, gives the empty string, as an empty message does: callers read a buffer only after
// an OK read or call, which always leaves a message there. Thread-compatible.
std::string BytesOf(const grpc::ByteBuffer& buffer);

// BufferOf returns a buffer holding a copy of `bytes` as one message. Empty `bytes` still make a
// message (of zero bytes), which gRPC sends; a default ByteBuffer is no message, which it refuses.
grpc::ByteBuffer BufferOf(std::string_view bytes);

}  // namespace gateway
