// libFuzzer target for the line family's pure module: request templates and response
// patterns built from hostile profile text, matched against hostile device bytes.
// Properties: a parsed template renders whenever every placeholder has an argument,
// a template without placeholders renders to its own unescaped text, and a pattern
// either matches, does not, or throws its bounded-complexity error, never anything else.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "line/protocol.hpp"

using namespace certlab;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    // Layout: profile text, a NUL, device bytes. Without a NUL the whole input is both.
    const auto nul = in.find('\0');
    const std::string_view profile = in.substr(0, nul);
    const std::string_view device = nul == std::string_view::npos ? in : in.substr(nul + 1);

    try {
        auto t = line::Template::parse(profile);
        sdk::Args args;
        for (const auto& name : t.names()) args[name] = sdk::Value(std::string(device.substr(0, 8)));
        const std::string out = t.render(args);  // must not throw: every argument is there
        if (t.names().empty() && out != line::unescape(std::string(profile)) &&
            profile.find_first_of("{}") == std::string_view::npos)
            std::abort();
    } catch (const std::invalid_argument&) {
        // A refused template: fine, as long as it is refused with invalid_argument.
    }

    try {
        auto p = line::Pattern::compile(profile);
        auto m = p.match(device);
        if (m)
            for (const auto& [name, text] : *m) {
                // Every capture is a declared name and a piece of the response.
                bool declared = false;
                for (const auto& n : p.names()) declared = declared || n == name;
                if (!declared || text.size() > device.size()) std::abort();
                for (auto type : {sdk::ValueType::integer, sdk::ValueType::number, sdk::ValueType::boolean})
                    (void)line::to_value(text, type, "");
            }
    } catch (const std::invalid_argument&) {
    } catch (const std::runtime_error&) {
        // The regex library's complexity bound: the driver turns it into a `fail`.
    }
    return 0;
}
