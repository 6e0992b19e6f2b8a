// strformat.cpp - the "{}" scanner behind strformat().
#include "mpagefs/strformat.hpp"

#include <stdexcept>

namespace mpagefs::detail {

std::string format_impl(std::string_view fmt, std::initializer_list<ArgWriter> args) {
  std::ostringstream os;
  const ArgWriter* next = args.begin();
  for (size_t i = 0; i < fmt.size(); ++i) {
    const char c = fmt[i];
    if ((c == '{' || c == '}') && i + 1 < fmt.size() && fmt[i + 1] == c) {
      os << c;
      ++i;
      continue;
    }
    if (c != '{') {
      os << c;
      continue;
    }
    const size_t end = fmt.find('}', i);
    if (end == std::string_view::npos || next == args.end())
      throw std::logic_error("strformat: bad format string");
    std::string_view spec = fmt.substr(i + 1, end - i - 1);
    if (!spec.empty() && spec[0] == ':') spec.remove_prefix(1);
    (*next++)(os, spec);
    i = end;
  }
  return os.str();
}

}  // namespace mpagefs::detail
