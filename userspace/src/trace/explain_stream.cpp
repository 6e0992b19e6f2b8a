// explain_stream.cpp - explain_trace: the trace decoded, explained and
// written one event at a time, with one reused ExplainedEvent.
#include "mpagefs/trace/explain_stream.hpp"

#include <charconv>
#include <optional>

#include "mpagefs/trace/blktrace.hpp"
#include "mpagefs/trace/explain.hpp"
#include "mpagefs/trace/get_block_join.hpp"

namespace mpagefs::explain {

namespace {

void put_num(OutBuffer& out, uint64_t v) {
  char* p = out.reserve(20);
  out.commit(std::to_chars(p, p + 20, v).ptr);
}

// --gb-trace's members of an event object.
void put_gb_json(OutBuffer& out, const ExplainedEvent& e, const BioMapping& m,
                 const std::vector<control::TraceRecord>& records) {
  out.append(is_data_bio(e) ? ",\"data\":true" : ",\"data\":false");
  out.append(",\"get_block\":[");
  for (size_t i = 0; i < m.calls.size(); ++i) {
    if (i) out.put(',');
    out.append(control::call_json(records[m.calls[i]], m.calls[i]).dump());
  }
  out.append("],\"unmapped_blocks\":[");
  for (size_t i = 0; i < m.unmapped.size(); ++i) {
    if (i) out.put(',');
    put_num(out, m.unmapped[i]);
  }
  out.put(']');
}

}  // namespace

void explain_trace(const BlockOwnerMap& map, blktrace::TraceReader& reader, const StreamOptions& o, OutBuffer& out) {
  std::optional<Notation> notation;
  if (!o.file.empty()) notation.emplace(map, o.file);  // a clear error for an unknown file, before any output
  std::optional<GetBlockJoin> join;
  std::optional<JoinSummary> summary;
  if (o.gb_records != nullptr) {
    join.emplace(*o.gb_records);
    summary.emplace(*o.gb_records);
  }
  ExplainedEvent e;
  BioMapping m;
  std::string line;
  uint64_t genesis = 0;
  bool first = true;
  uint64_t shown = 0;
  while (const blktrace::EventView* ev = reader.next_view()) {
    if (!blktrace::action_selected(*ev, o.codes)) continue;
    if (first) {
      genesis = ev->time_ns;  // relative times count from the first selected event
      first = false;
    }
    explain_event(*ev, map, e);
    // The join and its summary see every selected bio, shown or not.
    if (join) {
      m = join->map(e);
      summary->add(e, m);
    }
    if (!o.file.empty() && !touches_file(e, o.file)) continue;
    if (notation) notation->add(e);
    if (o.notation_only && !o.json) continue;
    ++shown;
    if (o.json) {
      out.append(R"({"type":"event",)");
      blktrace::append_json_members(out, *ev, genesis);
      append_json_members(out, e, line);
      if (join) put_gb_json(out, e, m, *o.gb_records);
      out.append("}\n");
      continue;
    }
    line.clear();
    append_line(line, e);
    line += '\n';
    if (join) {
      for (const size_t c : m.calls) {
        line += "    <- ";
        line += control::format_call((*o.gb_records)[c]);
        line += '\n';
      }
      if (is_data_bio(e) && !m.unmapped.empty()) {
        line += "    !! data blocks no traced get_block mapped: ";
        line += format_ranges(m.unmapped);
        line += '\n';
      }
    }
    out.append(line);
  }

  if (o.json) {
    out.append(R"({"type":"summary","block_size":)");
    put_num(out, map.block_size());
    out.append(",\"events\":");
    put_num(out, shown);
    if (notation) {
      out.append(",\"file\":");
      blktrace::append_json_string(out, notation->path());
      out.append(",\"base_block\":");
      put_num(out, notation->base_block());
      out.append(",\"notation\":");
      blktrace::append_json_string(out, notation->str());
    }
    if (summary) {
      out.append(",\"gb_trace\":");
      out.append(summary->json().dump());
    }
    out.append("}\n");
    return;
  }
  if (o.notation_only) {
    out.append(notation->str());
    out.put('\n');
    return;
  }
  if (summary) {
    const auto sum = summary->json();
    out.append("get_block join: " + std::to_string(sum["data_bios"].get<uint64_t>()) + " data bios, " +
               std::to_string(sum["data_bios_attributed"].get<uint64_t>()) + " fully attributed; " +
               std::to_string(sum["get_block_calls_used"].get<uint64_t>()) + " of " +
               std::to_string(sum["get_block_calls"].get<uint64_t>()) + " get_block calls matched\n");
  }
  if (notation)
    out.append("notation (blocks relative to disk block " + std::to_string(notation->base_block()) +
               ", one [] per bio): " + notation->str() + "\n");
}

}  // namespace mpagefs::explain
