// Substrate file-keystore reader: key file names, JSON-string SURIs decoded into guarded memory.
#include "keymgr/keys_keystore.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <utility>

#include "base/hex.h"
#include "base/substrate_types.h"

namespace keymgr {
namespace {

using base::Result;
using base::SecretBytes;
using base::Status;

// A SURI is a phrase and a short path; Substrate's key files are far smaller than this.
constexpr size_t kMaxKeyFileSize = 4096;
constexpr size_t kKeyTypeHexSize = 2 * base::kKeyTypeIdSize;

bool IsJsonSpace(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::optional<uint8_t> HexDigit(uint8_t c) {
  if (c >= '0' && c <= '9') return static_cast<uint8_t>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<uint8_t>(c - 'a' + 10);
  if (c >= 'A' && c <= 'F') return static_cast<uint8_t>(c - 'A' + 10);
  return std::nullopt;
}

}  // namespace

Result<keymgr::KeyId> ParseKeystoreFileName(const std::string& name) {
  const size_t public_hex = name.size() - std::min(name.size(), kKeyTypeHexSize);
  if (name.size() <= kKeyTypeHexSize || (public_hex != 64 && public_hex != 66)) {
    return Status::InvalidArgument("not a keystore key file name");
  }
  // The name is bare hex: HexDecode would accept and strip a 0x/0X prefix, which shifts every
  // byte of the key type and the key.
  auto bytes = base::HexDecode(name);
  if (!bytes.ok() || name.starts_with("0x") || name.starts_with("0X")) {
    return Status::InvalidArgument("not a keystore key file name");
  }
  keymgr::KeyId id;
  std::copy(bytes->begin(), bytes->begin() + base::kKeyTypeIdSize, id.key_type.begin());
  id.public_key.assign(bytes->begin() + base::kKeyTypeIdSize, bytes->end());
  return id;
}

Result<SecretBytes> DecodeKeystoreSuri(std::span<const uint8_t> content) {
  const auto invalid = [] {
    return Status::InvalidArgument("key file content is not one JSON string");
  };
  size_t begin = 0;
  size_t end = content.size();
  while (begin < end && IsJsonSpace(content[begin])) ++begin;
  while (end > begin && IsJsonSpace(content[end - 1])) --end;
  if (end - begin < 2 || content[begin] != '"' || content[end - 1] != '"') return invalid();
  // The decoded text is never longer than the quoted one, so one guarded buffer of that size holds
  // it and no unguarded copy is ever made.
  SecretBytes buffer(end - begin - 2);
  size_t size = 0;
  for (size_t i = begin + 1; i < end - 1; ++i) {
    uint8_t c = content[i];
    if (c == '"' || c < 0x20) return invalid();
    if (c == '\\') {
      if (++i >= end - 1) return invalid();
      switch (content[i]) {
        case '"':
        case '\\':
        case '/':
          c = content[i];
          break;
        case 'b':
          c = '\b';
          break;
        case 'f':
          c = '\f';
          break;
        case 'n':
          c = '\n';
          break;
        case 'r':
          c = '\r';
          break;
        case 't':
          c = '\t';
          break;
        case 'u': {
          if (end - 1 - (i + 1) < 4) return invalid();
          uint32_t code = 0;
          for (size_t k = 1; k <= 4; ++k) {
            std::optional<uint8_t> digit = HexDigit(content[i + k]);
            if (!digit) return invalid();
            code = (code << 4) | *digit;
          }
          // SURIs are ASCII; anything else would need UTF-8 re-encoding nobody needs.
          if (code >= 0x80) return invalid();
          c = static_cast<uint8_t>(code);
          i += 4;
          break;
        }
        default:
          return invalid();
      }
    }
    buffer.data()[size++] = c;
  }
  if (size == 0) return invalid();
  return SecretBytes::CopyFrom(buffer.span().first(size));
}

Result<KeystoreDir> ReadKeystoreDir(const std::string& dir) {
  std::unique_ptr<DIR, int (*)(DIR*)> listing(::opendir(dir.c_str()), &::closedir);
  if (listing == nullptr) {
    return Status::InvalidArgument(std::string("cannot list the keystore directory: ") +
                                   std::strerror(errno));
  }
  KeystoreDir out;
  while (const dirent* entry = ::readdir(listing.get())) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    auto id = ParseKeystoreFileName(name);
    if (!id.ok()) {
      out.skipped.push_back(name);
      continue;
    }
    // Any 4 bytes decode from the name, but the token can only hold a key type its labels can be
    // read back with; a key stored under another would be lost to every listing.
    if (!base::MakeKeyTypeId(base::KeyTypeName(id->key_type)).ok()) {
      return Status::InvalidArgument("keystore file " + name +
                                     ": its key type is not 4 printable ASCII characters other "
                                     "than ':', so the signer cannot hold it");
    }
    const std::string path = dir + "/" + name;
    const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat info {};
    if (fd < 0 || ::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
      if (fd >= 0) ::close(fd);
      out.skipped.push_back(name);
      continue;
    }
    SecretBytes content(kMaxKeyFileSize + 1);
    size_t size = 0;
    bool failed = false;
    while (size < content.size()) {
      const ssize_t got = ::read(fd, content.data() + size, content.size() - size);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) failed = true;
      if (got <= 0) break;
      size += static_cast<size_t>(got);
    }
    ::close(fd);
    if (failed || size > kMaxKeyFileSize) {
      return Status::InvalidArgument("keystore file " + name + " cannot be read or is too large");
    }
    auto suri = DecodeKeystoreSuri(content.span().first(size));
    if (!suri.ok())
      return Status::InvalidArgument("keystore file " + name + ": " + suri.status().message());
    out.keys.push_back(
        KeystoreFile{name, id->key_type, std::move(id->public_key), std::move(*suri)});
  }
  // Directory order is arbitrary; a stable order makes the output reproducible.
  std::sort(out.keys.begin(), out.keys.end(),
            [](const KeystoreFile& a, const KeystoreFile& b) { return a.file_name < b.file_name; });
  std::sort(out.skipped.begin(), out.skipped.end());
  return out;
}

}  // namespace keymgr
