// A shared object that is not a certlab plugin: it has no certlab_plugin_entry.
extern "C" __attribute__((visibility("default"))) int certlab_plugin_version() { return 1; }
