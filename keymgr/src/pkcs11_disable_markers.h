// Disable markers on the token: the data objects whose presence makes a key refuse to sign.
#pragma once

#include <p11-kit/pkcs11.h>

#include <cstdint>
#include <optional>
#include <set>
#include <vector>

#include "base/status.h"
#include "keymgr/custody.h"
#include "pkcs11_module.h"

namespace keymgr::pkcs11 {

// FindMarkers returns the disable markers of `id` (normally none or one).
base::Result<std::vector<CK_OBJECT_HANDLE>> FindMarkers(Session& session, const KeyId& id);

// ReadDisabled returns the identity of every disable marker on the token: one search, then one
// label per marker, so its cost grows with the disabled keys only.
base::Result<std::set<KeyId>> ReadDisabled(Session& session);

// WriteMarker creates the disable marker of `id`: a private, unmodifiable token data object whose
// value records when the key was disabled (Unix seconds, decimal), for an auditor's eyes only.
base::Result<CK_OBJECT_HANDLE> WriteMarker(Session& session, const KeyId& id, int64_t now);

// WriteMarkerIfAbsent writes the disable marker of `id` unless it has one, and returns the marker
// it wrote, so a caller storing a disabled key can destroy it again if the key cannot be stored.
base::Result<std::optional<CK_OBJECT_HANDLE>> WriteMarkerIfAbsent(Session& session, const KeyId& id,
                                                                  int64_t now);

// RemoveMarkers destroys every disable marker of `id`.
base::Status RemoveMarkers(Session& session, const KeyId& id);

}  // namespace keymgr::pkcs11
