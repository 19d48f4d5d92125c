# Writes the dashboard's static files into a C++ source (run as `cmake -P` by the build): each file
# becomes a raw string literal in the table DashboardAssets() returns (src/dashboard_assets.h).
# Arguments: -DOUTPUT=<file.cc> -DSOURCE_DIR=<this folder>.
# The media types are spelled out below, not in this list: their ';' would split a CMake list.
set(assets "/" index.html html "/dashboard.css" dashboard.css css "/dashboard.js" dashboard.js js
           "/favicon.svg" favicon.svg svg)
set(types_html "text/html; charset=utf-8")
set(types_css "text/css; charset=utf-8")
set(types_js "text/javascript; charset=utf-8")
set(types_svg "image/svg+xml")
set(table "")
while(assets)
  list(POP_FRONT assets url file kind)
  set(type "${types_${kind}}")
  file(READ ${SOURCE_DIR}/${file} content)
  string(FIND "${content}" ")asset\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${file} contains the raw string delimiter )asset\"")
  endif()
  string(APPEND table "    {\"${url}\", \"${type}\", R\"asset(${content})asset\"},\n")
endwhile()
file(WRITE ${OUTPUT}.tmp
"// Generated from gateway/rpc_pool/dashboard/ by embed.cmake: the dashboard's static files.
#include \"dashboard_assets.h\"

#include <array>

namespace rpc_pool {

std::span<const DashboardAsset> DashboardAssets() {
  static constexpr std::array<DashboardAsset, 4> kAssets = {{
${table}  }};
  return kAssets;
}

}  // namespace rpc_pool
")
# Only a changed file is rewritten, so an unchanged page does not rebuild the controller.
file(COPY_FILE ${OUTPUT}.tmp ${OUTPUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUTPUT}.tmp)
