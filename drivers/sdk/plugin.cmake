# Driver plugins: shared objects certlabd loads from the `plugins:` directories of
# station.yaml (drivers/sdk/README.md, "Plugins"). Included from drivers/CMakeLists.txt.
#
# A plugin carries its own position-independent copy of the sdk's helpers (Stream,
# Settings, Value, ...): certlabd does not export symbols, and a plugin that needed the
# daemon's would fail to load whenever the daemon happened not to link one of them.
# Objects cross the boundary only as the sdk types whose layout plugin_abi_version pins.
get_target_property(_certlab_sdk_sources certlab_sdk SOURCES)
add_library(certlab_sdk_pic STATIC EXCLUDE_FROM_ALL ${_certlab_sdk_sources})
target_include_directories(certlab_sdk_pic PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(certlab_sdk_pic PUBLIC Boost::headers Threads::Threads)
set_target_properties(certlab_sdk_pic PROPERTIES
  POSITION_INDEPENDENT_CODE ON CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)

# certlab_add_plugin(<name> <sources>...): builds `certlab-<name>.so` into
# <build>/plugins. Only `certlab_plugin_entry` (and the template statics Asio marks
# visible) is exported, and every symbol must resolve at link time, so a plugin that
# builds also loads.
function(certlab_add_plugin name)
  add_library(certlab_plugin_${name} MODULE ${ARGN})
  target_compile_definitions(certlab_plugin_${name} PRIVATE CERTLAB_PLUGIN_BUILD)
  target_link_libraries(certlab_plugin_${name} PRIVATE certlab_sdk_pic spdlog::spdlog)
  target_link_options(certlab_plugin_${name} PRIVATE -Wl,--no-undefined)
  set_target_properties(certlab_plugin_${name} PROPERTIES
    PREFIX "" OUTPUT_NAME "certlab-${name}"
    LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/plugins
    CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
endfunction()
