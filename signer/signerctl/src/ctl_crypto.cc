// signerctl's crypto commands: inspect, sign, verify, vrf-sign and vrf-verify, subkey-like.
#include <charconv>
#include <memory>
#include <optional>
#include <string>

#include "base/hash.h"
#include "base/hex.h"
#include "base/json_depth.h"
#include "ctl_command.h"
#include "keymgr/keypair.h"
#include "keymgr/sr25519.h"
#include "keymgr/ss58.h"

namespace signerctl {
namespace {

// A transcript is a handful of short items; a bigger file is a mistake, not a transcript.
constexpr size_t kMaxTranscriptFileSize = 1 << 20;
// nlohmann-json recurses over nesting; a valid transcript nests three levels, so deep input is
// refused before parsing rather than trusted not to exhaust the stack.
constexpr int kMaxJsonDepth = 16;
constexpr uint32_t kMaxSs58Prefix = 16383;

const char* const kSchemeHelp = "signature scheme: sr25519, ed25519 or ecdsa";

base::Result<base::Scheme> SchemeArgument(const std::string& name) {
  auto scheme = base::ParseScheme(name);
  if (!scheme.ok()) {
    // The value is not echoed: a mistyped command line may have put a secret in its place.
    return base::Status::InvalidArgument("--scheme: expected sr25519, ed25519 or ecdsa");
  }
  return scheme;
}

size_t SignatureSize(base::Scheme scheme) {
  switch (scheme) {
    case base::Scheme::kSr25519:
      return keymgr::kSr25519SignatureSize;
    case base::Scheme::kEd25519:
      return keymgr::kEd25519SignatureSize;
    case base::Scheme::kEcdsa:
      return keymgr::kEcdsaSignatureSize;
  }
  return 0;
}

base::Result<uint16_t> NetworkArgument(const std::string& text) {
  uint32_t prefix = 0;
  const char* end = text.data() + text.size();
  auto [stop, error] = std::from_chars(text.data(), end, prefix);
  if (text.empty() || error != std::errc() || stop != end || prefix > kMaxSs58Prefix) {
    return base::Status::InvalidArgument("--network: expected an SS58 prefix 0..16383");
  }
  return static_cast<uint16_t>(prefix);
}

// PublicKeyArgument takes a public key as hex or as an SS58 address of the raw key, and checks its
// length for the scheme.
base::Result<std::vector<uint8_t>> PublicKeyArgument(const std::string& text, size_t expected) {
  auto bytes = base::HexDecode(text);
  if (!bytes.ok()) {
    auto address = keymgr::Ss58Decode(text);
    if (!address.ok()) {
      return base::Status::InvalidArgument("--public: neither hex nor a valid SS58 address");
    }
    bytes = std::move(address->public_key);
  }
  if (bytes->size() != expected) {
    return base::Status::InvalidArgument("--public: expected " + std::to_string(expected) +
                                         " bytes, got " + std::to_string(bytes->size()));
  }
  return bytes;
}

// KeypairArgument resolves the SURI and builds the keypair; the SURI leaves this function only
// inside the keypair.
base::Result<keymgr::Keypair> KeypairArgument(base::Scheme scheme, SuriOptions& options) {
  SIGNER_ASSIGN_OR_RETURN(auto suri, ResolveSuri(options));
  auto keypair = keymgr::KeypairFromSuri(scheme, SuriView(suri));
  if (!keypair.ok()) {
    return base::Status::InvalidArgument(SafeSuriError(keypair.status(), SuriView(suri)));
  }
  return keypair;
}

// TranscriptFromJson reads {"label": str, "items": [[str, hex], ...]} (plus "extra" where
// `top_level`), refusing unknown keys so a misspelt field cannot silently change what is signed.
base::Result<keymgr::VrfTranscriptData> TranscriptFromJson(const nlohmann::json& json,
                                                           const std::string& where,
                                                           bool top_level) {
  if (!json.is_object()) {
    return base::Status::InvalidArgument(where + ": expected an object");
  }
  for (const auto& [key, value] : json.items()) {
    if (key != "label" && key != "items" && !(top_level && key == "extra")) {
      return base::Status::InvalidArgument(where + ": unknown field '" + key + "'");
    }
  }
  auto label = json.find("label");
  if (label == json.end() || !label->is_string()) {
    return base::Status::InvalidArgument(where + ": \"label\" must be a string");
  }
  auto items = json.find("items");
  if (items == json.end() || !items->is_array()) {
    return base::Status::InvalidArgument(where + ": \"items\" must be an array");
  }
  keymgr::VrfTranscriptData transcript;
  transcript.label = label->get_ref<const std::string&>();
  for (size_t i = 0; i < items->size(); ++i) {
    const nlohmann::json& item = (*items)[i];
    const std::string item_where = where + ": items[" + std::to_string(i) + "]";
    if (!item.is_array() || item.size() != 2 || !item[0].is_string() || !item[1].is_string()) {
      return base::Status::InvalidArgument(item_where + ": expected [label, \"0x...\"]");
    }
    auto value = base::HexDecode(item[1].get_ref<const std::string&>());
    if (!value.ok()) {
      return base::Status::InvalidArgument(item_where + ": value is not valid hex");
    }
    transcript.items.emplace_back(item[0].get_ref<const std::string&>(), std::move(*value));
  }
  return transcript;
}

struct VrfTranscripts {
  keymgr::VrfTranscriptData input;
  std::optional<keymgr::VrfTranscriptData> extra;

  std::optional<keymgr::MerlinTranscript> BuildExtra() const {
    if (!extra.has_value()) {
      return std::nullopt;
    }
    return extra->Build();
  }
};

base::Result<VrfTranscripts> TranscriptFileArgument(const std::string& path) {
  auto text = ReadTextFile(path, kMaxTranscriptFileSize);
  if (!text.ok()) {
    return base::Status::InvalidArgument("--transcript: " + text.status().message());
  }
  if (!base::JsonNestingWithin(*text, kMaxJsonDepth)) {
    return base::Status::InvalidArgument("--transcript: JSON nested too deeply");
  }
  nlohmann::json json = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    return base::Status::InvalidArgument("--transcript: not valid JSON");
  }
  SIGNER_ASSIGN_OR_RETURN(auto input, TranscriptFromJson(json, "--transcript", /*top_level=*/true));
  VrfTranscripts transcripts{std::move(input), std::nullopt};
  auto extra = json.find("extra");
  if (extra != json.end() && !extra->is_null()) {
    SIGNER_ASSIGN_OR_RETURN(auto parsed,
                            TranscriptFromJson(*extra, "--transcript: extra", /*top_level=*/false));
    transcripts.extra = std::move(parsed);
  }
  return transcripts;
}

Outcome VerdictOutcome(bool valid) {
  return Outcome::Json({{"valid", valid}}, valid ? kExitOk : kExitInvalid);
}

void RegisterInspect(CLI::App& app, CommandTable& table) {
  struct Options {
    std::string scheme;
    std::string network = "42";
    SuriOptions suri;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand(
      "inspect",
      "print the public key and SS58 address of a SURI (for ecdsa the address is that of the "
      "account, blake2_256 of the public key, as subkey and polkadot-js show it)");
  command->add_option("--scheme", options->scheme, kSchemeHelp)->required();
  command
      ->add_option("--network", options->network, "SS58 prefix: 42 generic, 0 Polkadot, 2 Kusama")
      ->capture_default_str();
  AddSuriOptions(command, options->suri, /*positional=*/true);

  table.Add(command, [options]() -> Outcome {
    auto scheme = SchemeArgument(options->scheme);
    if (!scheme.ok()) {
      return Outcome::Usage(scheme.status().message());
    }
    auto network = NetworkArgument(options->network);
    if (!network.ok()) {
      return Outcome::Usage(network.status().message());
    }
    auto keypair = KeypairArgument(*scheme, options->suri);
    if (!keypair.ok()) {
      return Outcome::Usage(keypair.status().message());
    }
    const std::vector<uint8_t> public_key = keypair->public_key();
    // Substrate's account id of an ecdsa key is the hash of its 33-byte public key.
    std::vector<uint8_t> account = public_key;
    if (*scheme == base::Scheme::kEcdsa) {
      const base::Hash256 hashed = base::Blake2b256(public_key);
      account.assign(hashed.begin(), hashed.end());
    }
    auto address = keymgr::Ss58Encode(account, *network);
    if (!address.ok()) {
      return Outcome::Usage("--network: " + address.status().message());
    }
    return Outcome::Json({{"scheme", std::string(base::SchemeName(*scheme))},
                          {"public_key", HexWithPrefix(public_key)},
                          {"ss58", *address}});
  });
}

void RegisterSign(CLI::App& app, CommandTable& table) {
  struct Options {
    std::string scheme;
    std::string message_hex;
    bool prehashed = false;
    SuriOptions suri;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand("sign", "sign a message as Substrate's Pair::sign does");
  command->add_option("--scheme", options->scheme, kSchemeHelp)->required();
  AddSuriOptions(command, options->suri, /*positional=*/false);
  command->add_option("--message-hex", options->message_hex, "message bytes as hex")->required();
  command->add_flag("--prehashed", options->prehashed,
                    "ecdsa only: the message is a 32-byte digest, signed as given");

  table.Add(command, [options]() -> Outcome {
    auto scheme = SchemeArgument(options->scheme);
    if (!scheme.ok()) {
      return Outcome::Usage(scheme.status().message());
    }
    if (options->prehashed && *scheme != base::Scheme::kEcdsa) {
      return Outcome::Usage("--prehashed: only the ecdsa scheme signs digests");
    }
    auto message = DecodeHexArgument(
        "--message-hex", options->message_hex,
        options->prehashed ? std::optional<size_t>(keymgr::kEcdsaPrehashSize) : std::nullopt);
    if (!message.ok()) {
      return Outcome::Usage(message.status().message());
    }
    auto keypair = KeypairArgument(*scheme, options->suri);
    if (!keypair.ok()) {
      return Outcome::Usage(keypair.status().message());
    }
    std::vector<uint8_t> signature;
    if (options->prehashed) {
      auto signed_digest = keypair->SignPrehashed(*message);
      if (!signed_digest.ok()) {
        return Outcome::Usage(signed_digest.status().message());
      }
      signature = std::move(*signed_digest);
    } else {
      signature = keypair->Sign(*message);
    }
    return Outcome::Json({{"signature", HexWithPrefix(signature)}});
  });
}

void RegisterVerify(CLI::App& app, CommandTable& table) {
  struct Options {
    std::string scheme;
    std::string public_key;
    std::string message_hex;
    std::string signature;
    bool prehashed = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command =
      app.add_subcommand("verify", "verify a signature; exit 0 if valid, 1 if not, 2 on bad input");
  command->add_option("--scheme", options->scheme, kSchemeHelp)->required();
  command->add_option("--public", options->public_key, "public key as hex or SS58 address")
      ->required();
  command->add_option("--message-hex", options->message_hex, "message bytes as hex")->required();
  command->add_option("--signature", options->signature, "signature as hex")->required();
  command->add_flag("--prehashed", options->prehashed,
                    "ecdsa only: the message is the 32-byte digest that was signed");

  table.Add(command, [options]() -> Outcome {
    auto scheme = SchemeArgument(options->scheme);
    if (!scheme.ok()) {
      return Outcome::Usage(scheme.status().message());
    }
    if (options->prehashed && *scheme != base::Scheme::kEcdsa) {
      return Outcome::Usage("--prehashed: only the ecdsa scheme signs digests");
    }
    auto public_key = PublicKeyArgument(options->public_key, base::PublicKeySize(*scheme));
    if (!public_key.ok()) {
      return Outcome::Usage(public_key.status().message());
    }
    auto message = DecodeHexArgument(
        "--message-hex", options->message_hex,
        options->prehashed ? std::optional<size_t>(keymgr::kEcdsaPrehashSize) : std::nullopt);
    if (!message.ok()) {
      return Outcome::Usage(message.status().message());
    }
    auto signature = DecodeHexArgument("--signature", options->signature, SignatureSize(*scheme));
    if (!signature.ok()) {
      return Outcome::Usage(signature.status().message());
    }
    return VerdictOutcome(
        keymgr::VerifySignature(*scheme, *public_key, *message, *signature, options->prehashed));
  });
}

void RegisterVrfSign(CLI::App& app, CommandTable& table) {
  struct Options {
    std::string transcript_file;
    SuriOptions suri;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand(
      "vrf-sign", "sr25519 VRF-sign a transcript given as JSON: {\"label\", \"items\", \"extra\"}");
  AddSuriOptions(command, options->suri, /*positional=*/false);
  command->add_option("--transcript", options->transcript_file, "JSON transcript file")->required();

  table.Add(command, [options]() -> Outcome {
    auto transcripts = TranscriptFileArgument(options->transcript_file);
    if (!transcripts.ok()) {
      return Outcome::Usage(transcripts.status().message());
    }
    auto keypair = KeypairArgument(base::Scheme::kSr25519, options->suri);
    if (!keypair.ok()) {
      return Outcome::Usage(keypair.status().message());
    }
    const keymgr::Sr25519VrfSignature signature =
        keypair->sr25519()->VrfSign(transcripts->input.Build(), transcripts->BuildExtra());
    return Outcome::Json({{"pre_output", HexWithPrefix(signature.pre_output)},
                          {"proof", HexWithPrefix(signature.proof)},
                          {"signature", HexWithPrefix(signature.Serialize())}});
  });
}

void RegisterVrfVerify(CLI::App& app, CommandTable& table) {
  struct Options {
    std::string public_key;
    std::string transcript_file;
    std::string signature;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand(
      "vrf-verify", "verify an sr25519 VRF signature; exit 0 if valid, 1 if not, 2 on bad input");
  command->add_option("--public", options->public_key, "public key as hex or SS58 address")
      ->required();
  command->add_option("--transcript", options->transcript_file, "JSON transcript file")->required();
  command->add_option("--signature", options->signature, "96-byte pre_output || proof as hex")
      ->required();

  table.Add(command, [options]() -> Outcome {
    auto public_key = PublicKeyArgument(options->public_key, keymgr::kSr25519PublicSize);
    if (!public_key.ok()) {
      return Outcome::Usage(public_key.status().message());
    }
    auto signature_bytes =
        DecodeHexArgument("--signature", options->signature, keymgr::kSr25519VrfSignatureSize);
    if (!signature_bytes.ok()) {
      return Outcome::Usage(signature_bytes.status().message());
    }
    auto transcripts = TranscriptFileArgument(options->transcript_file);
    if (!transcripts.ok()) {
      return Outcome::Usage(transcripts.status().message());
    }
    // Well-sized bytes that do not parse (say, a non-canonical scalar) are a bad signature, not bad
    // usage.
    auto signature = keymgr::Sr25519VrfSignature::Parse(*signature_bytes);
    if (!signature.ok()) {
      return VerdictOutcome(false);
    }
    return VerdictOutcome(keymgr::Sr25519VrfVerify(*public_key, transcripts->input.Build(),
                                                   transcripts->BuildExtra(), *signature));
  });
}

}  // namespace

void RegisterCryptoCommands(CLI::App& app, CommandTable& table) {
  RegisterInspect(app, table);
  RegisterSign(app, table);
  RegisterVerify(app, table);
  RegisterVrfSign(app, table);
  RegisterVrfVerify(app, table);
}

}  // namespace signerctl
