// The dashboard's static files (gateway/rpc_pool/dashboard/), compiled into the controller by a
// build step so the page always matches the API that serves it and no file is read at run time.
#pragma once

#include <span>
#include <string_view>

namespace rpc_pool {

// DashboardAsset is one embedded file: the URL path it is served at, its type and its bytes.
struct DashboardAsset {
  std::string_view path;
  std::string_view content_type;
  std::string_view body;
};

// DashboardAssets lists the embedded files; "/" is the page. Static storage, thread-safe.
std::span<const DashboardAsset> DashboardAssets();

}  // namespace rpc_pool
