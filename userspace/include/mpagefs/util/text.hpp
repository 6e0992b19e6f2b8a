// text.hpp - small helpers for the text the library parses.
#pragma once

#include <string_view>

namespace mpagefs {

// `s` without leading and trailing blanks (space, tab, CR, LF).
std::string_view trim(std::string_view s);

}  // namespace mpagefs
