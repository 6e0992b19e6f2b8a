// source_node.cpp - building source trees in memory (tests, examples).
#include <cstring>
#include <memory>

#include "mpagefs/image/mkfs.hpp"

namespace mpagefs {

SourceNode SourceNode::dir(std::string name, std::vector<SourceNode> children) {
  SourceNode n;
  n.type = Type::Dir;
  n.name = std::move(name);
  n.mode = 0755;
  n.children = std::move(children);
  return n;
}

SourceNode SourceNode::file(std::string name, std::string content) {
  const uint64_t size = content.size();
  return sparse_file(std::move(name), size, {{0, std::move(content)}});
}

SourceNode SourceNode::sparse_file(std::string name, uint64_t size,
                                   std::vector<std::pair<uint64_t, std::string>> pieces) {
  SourceNode n;
  n.type = Type::File;
  n.name = std::move(name);
  n.size = size;
  auto shared = std::make_shared<std::vector<std::pair<uint64_t, std::string>>>(std::move(pieces));
  for (const auto& [off, bytes] : *shared)
    if (!bytes.empty()) n.data.emplace_back(off, off + bytes.size());
  // Reads only ever fall inside `data`, but zero-fill anything else anyway.
  n.read = [shared](uint64_t off, std::span<uint8_t> out) {
    std::memset(out.data(), 0, out.size());
    for (const auto& [poff, bytes] : *shared) {
      const uint64_t s = std::max(off, poff);
      const uint64_t e = std::min(off + out.size(), poff + bytes.size());
      if (s < e) std::memcpy(out.data() + (s - off), bytes.data() + (s - poff), e - s);
    }
  };
  return n;
}

SourceNode SourceNode::symlink(std::string name, std::string target) {
  SourceNode n;
  n.type = Type::Symlink;
  n.name = std::move(name);
  n.mode = 0777;
  n.target = std::move(target);
  return n;
}

}  // namespace mpagefs
