// text.cpp - trim.
#include "mpagefs/util/text.hpp"

namespace mpagefs {

std::string_view trim(std::string_view s) {
  constexpr std::string_view kBlanks = " \t\r\n";
  const size_t b = s.find_first_not_of(kBlanks);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kBlanks) - b + 1);
}

}  // namespace mpagefs
