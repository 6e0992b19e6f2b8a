// strformat.cpp - the "{}" scanner behind strformat().
#include "mpagefs/util/strformat.hpp"

#include <stdexcept>

namespace mpagefs::detail {

Spec parse_spec(std::string_view spec) {
  Spec sp;
  size_t i = 0;
  if (i < spec.size() && (spec[i] == '<' || spec[i] == '>')) sp.align = spec[i++];
  if (i < spec.size() && spec[i] == '#') sp.alt = true, ++i;
  if (i < spec.size() && spec[i] == '0') sp.zero = true, ++i;
  while (i < spec.size() && spec[i] >= '0' && spec[i] <= '9')
    sp.width = sp.width * 10 + static_cast<size_t>(spec[i++] - '0');
  if (i < spec.size()) sp.type = spec[i];
  return sp;
}

void write_padded(std::ostream& os, const Spec& sp, std::string text, bool numeric) {
  if (text.size() < sp.width) {
    const size_t pad = sp.width - text.size();
    if (sp.zero && numeric) {
      // Zeros go after a 0x prefix: {:#010x} -> 0x0000beef.
      const size_t at = (text.size() >= 2 && text[0] == '0' && text[1] == 'x') ? 2 : 0;
      text.insert(at, pad, '0');
    } else if (sp.align == '>' || (sp.align == 0 && numeric)) {
      text.insert(0, pad, ' ');
    } else {
      text.append(pad, ' ');
    }
  }
  os << text;
}

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
