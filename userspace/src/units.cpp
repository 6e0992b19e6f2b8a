// units.cpp - parse_size().
#include "mpagefs/units.hpp"

#include <cctype>
#include <stdexcept>
#include <string>

namespace mpagefs {

uint64_t parse_size(std::string_view text) {
  const std::string orig(text);
  auto bad = [&orig](const char* why) {
    return std::invalid_argument("bad size '" + orig + "': " + why);
  };
  uint64_t value = 0;
  size_t i = 0;
  for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
    const auto d = static_cast<uint64_t>(text[i] - '0');
    if (value > (UINT64_MAX - d) / 10) throw bad("too large");
    value = value * 10 + d;
  }
  if (i == 0) throw bad("expected a number");
  std::string_view suffix = text.substr(i);
  if (suffix.ends_with("iB")) suffix.remove_suffix(2);
  else if (suffix.size() == 2 && (suffix[1] == 'B' || suffix[1] == 'b')) suffix.remove_suffix(1);
  int shift = 0;
  if (suffix.size() > 1) throw bad("unknown suffix");
  if (suffix.size() == 1) {
    switch (std::toupper(static_cast<unsigned char>(suffix[0]))) {
      case 'K': shift = 10; break;
      case 'M': shift = 20; break;
      case 'G': shift = 30; break;
      case 'T': shift = 40; break;
      case 'B': shift = 0; break;
      default: throw bad("unknown suffix (K, M, G, T)");
    }
  }
  if (shift != 0 && value > (UINT64_MAX >> shift)) throw bad("too large");
  return value << shift;
}

}  // namespace mpagefs
