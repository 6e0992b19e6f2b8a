// strformat.hpp - a small stand-in for C++20 std::format, which GCC 12 (Debian
// 12's compiler) lacks.  Supports "{}", an alignment and width ("{:<8}",
// "{:>14}") and, for integers, "{:x}", "{:#x}", "{:#010x}", "{:02x}", "{:o}",
// "{:#o}"; "{{" and "}}" are literal braces.
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <sstream>
#include <string>
#include <string_view>

namespace mpagefs {

namespace detail {

using ArgWriter = std::function<void(std::ostream&, std::string_view)>;

struct Spec {
  char align = 0;  // '<', '>' or 0 (numbers right, text left)
  bool alt = false;
  bool zero = false;
  size_t width = 0;
  char type = 0;
};
Spec parse_spec(std::string_view spec);
void write_padded(std::ostream& os, const Spec& sp, std::string text, bool numeric);

template <typename T>
void write_arg(std::ostream& os, std::string_view spec, const T& v) {
  const Spec sp = parse_spec(spec);
  std::ostringstream tmp;
  if constexpr (std::integral<T> && !std::same_as<T, bool> && !std::same_as<T, char>) {
    if (sp.type == 'x' || sp.type == 'o') {
      if (sp.alt) tmp << (sp.type == 'x' ? "0x" : "0");
      tmp << (sp.type == 'x' ? std::hex : std::oct) << +static_cast<std::make_unsigned_t<T>>(v);
    } else {
      tmp << +v;
    }
    write_padded(os, sp, tmp.str(), true);
  } else {
    tmp << v;
    write_padded(os, sp, tmp.str(), false);
  }
}

std::string format_impl(std::string_view fmt, std::initializer_list<ArgWriter> args);

}  // namespace detail

template <typename... Args>
std::string strformat(std::string_view fmt, const Args&... args) {
  return detail::format_impl(
      fmt, {detail::ArgWriter([&args](std::ostream& os, std::string_view spec) {
        detail::write_arg(os, spec, args);
      })...});
}

}  // namespace mpagefs
