// strformat.hpp - a small stand-in for C++20 std::format, which GCC 12 (Debian
// 12's compiler) lacks.  Supports "{}" and, for integers, "{:x}", "{:#x}",
// "{:#010x}", "{:o}", "{:#o}"; "{{" and "}}" are literal braces.
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

template <typename T>
void write_arg(std::ostream& os, std::string_view spec, const T& v) {
  if constexpr (std::integral<T> && !std::same_as<T, bool> && !std::same_as<T, char>) {
    std::ostringstream tmp;
    bool alt = false;
    bool zero = false;
    size_t width = 0;
    char type = 'd';
    size_t i = 0;
    if (i < spec.size() && spec[i] == '#') alt = true, ++i;
    if (i < spec.size() && spec[i] == '0') zero = true, ++i;
    while (i < spec.size() && spec[i] >= '0' && spec[i] <= '9') width = width * 10 + (spec[i++] - '0');
    if (i < spec.size()) type = spec[i];
    std::string digits;
    if (type == 'x' || type == 'o') {
      std::ostringstream d;
      d << (type == 'x' ? std::hex : std::oct) << +static_cast<std::make_unsigned_t<T>>(v);
      digits = d.str();
    } else {
      digits = std::to_string(v);
    }
    std::string prefix = alt ? (type == 'x' ? "0x" : (type == 'o' ? "0" : "")) : "";
    if (zero && width > prefix.size() + digits.size())
      digits.insert(0, width - prefix.size() - digits.size(), '0');
    os << prefix << digits;
  } else {
    (void)spec;
    os << v;
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
