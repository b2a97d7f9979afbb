//===- FusionPicture.cpp - draw a fusion report as SVG or HTML -----------===//
//
// Lays the kernel graph out in layers (a kernel one below the deepest
// kernel or input it reads), orders each layer by where its sources are,
// and draws every kernel as a box coloured by kind with its shapes, FLOPs,
// bytes, GPU strategy and, given a profile trace, its time. No scripts and
// no external resources: the file opens as it is in any browser.
//
//===----------------------------------------------------------------------===//
#include "kiln/Transforms/FusionReport.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <map>

using namespace llvm;

namespace {

std::string escape(StringRef text) {
  std::string out;
  for (char c : text) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&#39;"; break;
    default:
      out += (unsigned char)c < 0x20 && c != '\n' && c != '\t' ? ' ' : c;
    }
  }
  return out;
}

std::string shorten(StringRef text, size_t width) {
  if (text.size() <= width)
    return text.str();
  return text.take_front(width - 3).str() + "...";
}

/// 1234567 -> "1.23 M", with `unit` after it.
std::string quantity(double v, StringRef unit) {
  const char *prefixes[] = {"", "k", "M", "G", "T", "P"};
  int i = 0;
  while (std::fabs(v) >= 1000 && i < 5) {
    v /= 1000;
    ++i;
  }
  std::string s;
  raw_string_ostream os(s);
  os << format(i == 0 ? "%.0f %s%s" : "%.3g %s%s", v, prefixes[i], unit.str().c_str());
  return s;
}

struct KindStyle {
  const char *stroke, *fill;
};

KindStyle styleOf(StringRef kind) {
  static const std::map<std::string, KindStyle> styles = {
      {"contraction", {"#2f6db5", "#dce9f8"}},  {"attention", {"#c0392b", "#f9dedb"}},
      {"reduction", {"#d9822b", "#fbe8d3"}},    {"elementwise", {"#3c8c40", "#dff0df"}},
      {"data_movement", {"#8e5ba8", "#eee2f4"}}, {"window", {"#1f8a8a", "#d9f0f0"}},
  };
  auto it = styles.find(kind.str());
  return it != styles.end() ? it->second : KindStyle{"#6b6b6b", "#ececec"};
}

struct Kernel {
  std::string name, kind, nodes, ops, shapes, strategy;
  int64_t flops = 0, bytes = 0;
  std::vector<int64_t> readsKernels;
  std::vector<std::string> readsInputs;
  double ms = -1; // mean time per run from the profile, -1 without one
};

struct Port {
  std::string name, shape;
  std::vector<int64_t> fromKernels;
  std::vector<std::string> fromInputs;
};

std::vector<std::string> strings(const json::Array *a) {
  std::vector<std::string> out;
  if (a)
    for (const json::Value &v : *a)
      if (auto s = v.getAsString())
        out.push_back(s->str());
  return out;
}

std::vector<int64_t> integers(const json::Array *a) {
  std::vector<int64_t> out;
  if (a)
    for (const json::Value &v : *a)
      if (auto i = v.getAsInteger())
        out.push_back(*i);
  return out;
}

std::string join(const std::vector<std::string> &parts, StringRef sep) {
  std::string out;
  for (const std::string &p : parts)
    out += (out.empty() ? "" : sep.str()) + p;
  return out;
}

/// Mean milliseconds per run of each kernel in a Chrome trace written by
/// the runtime's profiles (events with args.kernel; runs are "run" events).
Expected<std::map<int64_t, double>> readProfile(StringRef traceText,
                                                const std::vector<Kernel> &kernels) {
  Expected<json::Value> parsed = json::parse(traceText);
  if (!parsed)
    return parsed.takeError();
  const json::Object *root = parsed->getAsObject();
  const json::Array *events = root ? root->getArray("traceEvents") : nullptr;
  if (!events)
    return createStringError("the profile trace has no traceEvents");
  std::map<int64_t, double> totalUs;
  int64_t runs = 0;
  for (const json::Value &v : *events) {
    const json::Object *e = v.getAsObject();
    if (!e)
      continue;
    if (e->getString("cat") == StringRef("run")) {
      ++runs;
      continue;
    }
    const json::Object *args = e->getObject("args");
    std::optional<int64_t> k = args ? args->getInteger("kernel") : std::nullopt;
    std::optional<double> dur = e->getNumber("dur");
    if (!k || !dur)
      continue;
    if (*k < 0 || *k >= (int64_t)kernels.size())
      return createStringError("the profile trace names kernel " + std::to_string(*k) +
                               ", but the model has " + std::to_string(kernels.size()) +
                               " kernels: is it a profile of this model?");
    if (auto name = e->getString("name"); name && !name->starts_with(kernels[*k].name + " "))
      return createStringError("the profile trace's kernel " + std::to_string(*k) + " is '" +
                               name->str() + "', the model's is '" + kernels[*k].name +
                               "': is it a profile of this model, compiled the same way?");
    totalUs[*k] += *dur;
  }
  std::map<int64_t, double> ms;
  for (auto &[k, us] : totalUs)
    ms[k] = us / 1000.0 / std::max<int64_t>(1, runs);
  return ms;
}

} // namespace

Expected<std::string> kiln::fusionReportPicture(StringRef reportJson, StringRef traceJson,
                                                bool html) {
  Expected<json::Value> parsed = json::parse(reportJson);
  if (!parsed)
    return parsed.takeError();
  const json::Object *root = parsed->getAsObject();
  if (!root || !root->getArray("kernels"))
    return createStringError("not a fusion report");
  std::string model = root->getString("model").value_or("model").str();

  std::vector<Kernel> kernels;
  for (const json::Value &v : *root->getArray("kernels")) {
    const json::Object *k = v.getAsObject();
    if (!k)
      continue;
    Kernel K;
    K.name = k->getString("name").value_or("").str();
    K.kind = k->getString("kind").value_or("").str();
    K.nodes = join(strings(k->getArray("nodes")), ", ");
    K.ops = join(strings(k->getArray("ops")), ", ");
    K.shapes = join(strings(k->getArray("shapes")), "; ");
    K.strategy = join(strings(k->getArray("gpu_strategies")), "; ");
    K.flops = k->getInteger("flops").value_or(0);
    K.bytes = k->getInteger("bytes").value_or(0);
    K.readsKernels = integers(k->getArray("reads_kernels"));
    K.readsInputs = strings(k->getArray("reads_inputs"));
    kernels.push_back(std::move(K));
  }
  std::vector<Port> inputs, outputs;
  if (const json::Object *graph = root->getObject("graph")) {
    if (const json::Array *a = graph->getArray("inputs"))
      for (const json::Value &v : *a)
        if (const json::Object *o = v.getAsObject())
          inputs.push_back({o->getString("name").value_or("").str(),
                            o->getString("shape").value_or("").str(), {}, {}});
    if (const json::Array *a = graph->getArray("outputs"))
      for (const json::Value &v : *a)
        if (const json::Object *o = v.getAsObject())
          outputs.push_back({o->getString("name").value_or("").str(),
                             o->getString("shape").value_or("").str(),
                             integers(o->getArray("from_kernels")),
                             strings(o->getArray("from_inputs"))});
  }
  double profiledMs = 0;
  bool profiled = !traceJson.empty();
  if (profiled) {
    Expected<std::map<int64_t, double>> ms = readProfile(traceJson, kernels);
    if (!ms)
      return ms.takeError();
    for (auto &[k, t] : *ms) {
      kernels[k].ms = t;
      profiledMs += t;
    }
  }

  // Layers: inputs 0, each kernel one below its deepest source, outputs last.
  StringMap<size_t> inputIndex;
  for (size_t i = 0; i < inputs.size(); ++i)
    inputIndex[inputs[i].name] = i;
  size_t n = kernels.size();
  std::vector<int> layer(n, 1);
  int deepest = 0;
  for (size_t k = 0; k < n; ++k) {
    for (int64_t s : kernels[k].readsKernels)
      if (s >= 0 && (size_t)s < k)
        layer[k] = std::max(layer[k], layer[s] + 1);
    deepest = std::max(deepest, layer[k]);
  }
  int outLayer = deepest + 1;
  // Node ids: inputs, kernels, outputs.
  size_t numNodes = inputs.size() + n + outputs.size();
  auto kernelNode = [&](size_t k) { return inputs.size() + k; };
  auto outputNode = [&](size_t o) { return inputs.size() + n + o; };
  std::vector<int> nodeLayer(numNodes);
  std::vector<std::vector<size_t>> preds(numNodes);
  for (size_t i = 0; i < inputs.size(); ++i)
    nodeLayer[i] = 0;
  for (size_t k = 0; k < n; ++k) {
    nodeLayer[kernelNode(k)] = layer[k];
    for (int64_t s : kernels[k].readsKernels)
      if (s >= 0 && (size_t)s < n)
        preds[kernelNode(k)].push_back(kernelNode(s));
    for (const std::string &in : kernels[k].readsInputs)
      if (auto it = inputIndex.find(in); it != inputIndex.end())
        preds[kernelNode(k)].push_back(it->second);
  }
  for (size_t o = 0; o < outputs.size(); ++o) {
    nodeLayer[outputNode(o)] = outLayer;
    for (int64_t s : outputs[o].fromKernels)
      if (s >= 0 && (size_t)s < n)
        preds[outputNode(o)].push_back(kernelNode(s));
    for (const std::string &in : outputs[o].fromInputs)
      if (auto it = inputIndex.find(in); it != inputIndex.end())
        preds[outputNode(o)].push_back(it->second);
  }
  // Order within layers by the mean position of the sources.
  std::vector<std::vector<size_t>> layers(outLayer + 1);
  for (size_t v = 0; v < numNodes; ++v)
    layers[nodeLayer[v]].push_back(v);
  std::vector<double> slot(numNodes, 0);
  for (auto &row : layers) {
    std::vector<std::pair<double, size_t>> keyed;
    for (size_t v : row) {
      double key = (double)v / std::max<size_t>(1, numNodes);
      if (!preds[v].empty()) {
        double sum = 0;
        for (size_t p : preds[v])
          sum += slot[p];
        key = sum / preds[v].size() + key * 1e-3;
      }
      keyed.push_back({key, v});
    }
    std::stable_sort(keyed.begin(), keyed.end());
    row.clear();
    for (size_t i = 0; i < keyed.size(); ++i) {
      row.push_back(keyed[i].second);
      slot[keyed[i].second] = (double)i - (keyed.size() - 1) / 2.0;
    }
  }
  const double boxW = 250, boxH = 86, gapX = 36, gapY = 46, margin = 24;
  size_t widest = 1;
  for (auto &row : layers)
    widest = std::max(widest, row.size());
  double width = margin * 2 + widest * boxW + (widest - 1) * gapX + gapX;
  double height = margin * 2 + layers.size() * boxH + (layers.size() - 1) * gapY;
  std::vector<double> cx(numNodes), top(numNodes);
  for (size_t l = 0; l < layers.size(); ++l)
    for (size_t v : layers[l]) {
      cx[v] = width / 2 + slot[v] * (boxW + gapX);
      top[v] = margin + l * (boxH + gapY);
    }

  std::string svg;
  raw_string_ostream os(svg);
  os << format("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"kiln-fusion\" "
               "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
               "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n",
               width, height, width, height);
  os << "<title>" << escape(model) << ": " << n << " kernels</title>\n";
  os << "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" "
        "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">"
        "<path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#888\"/></marker></defs>\n";
  os << "<g class=\"edges\" fill=\"none\" stroke=\"#999\" stroke-width=\"1.2\">\n";
  for (size_t v = 0; v < numNodes; ++v)
    for (size_t p : preds[v]) {
      int span = nodeLayer[v] - nodeLayer[p];
      if (span > 1) {
        // Past the layers between: from the source's right side, out into
        // the gap beside the column, to the target's right side.
        double x0 = cx[p] + boxW / 2, y0 = top[p] + boxH / 2;
        double x1 = cx[v] + boxW / 2, y1 = top[v] + boxH / 2;
        double out = std::max(x0, x1) + gapX * 0.45 + std::min(span, 12) * 2.0;
        os << format("<path d=\"M %.1f %.1f C %.1f %.1f, %.1f %.1f, %.1f %.1f\" "
                     "marker-end=\"url(#arrow)\"/>\n",
                     x0, y0, out, y0, out, y1, x1 + 1, y1);
        continue;
      }
      double x0 = cx[p], y0 = top[p] + boxH, x1 = cx[v], y1 = top[v];
      double bend = std::max(20.0, (y1 - y0) / 2);
      os << format("<path d=\"M %.1f %.1f C %.1f %.1f, %.1f %.1f, %.1f %.1f\" "
                   "marker-end=\"url(#arrow)\"/>\n",
                   x0, y0, x0, y0 + bend, x1, y1 - bend, x1, y1 - 1);
    }
  os << "</g>\n";
  auto port = [&](size_t v, const Port &p, const char *cls) {
    double x = cx[v] - boxW / 2, y = top[v];
    os << "<g class=\"" << cls << "\" data-name=\"" << escape(p.name) << "\">";
    os << "<title>" << escape(p.name + ": " + p.shape) << "</title>";
    os << format("<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"28\" "
                 "fill=\"#f7f7f7\" stroke=\"#555\" stroke-dasharray=\"4 3\"/>",
                 x, y + 14, boxW, boxH - 28);
    os << format("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"13\" "
                 "font-weight=\"bold\">",
                 cx[v], y + 36)
       << escape(shorten(p.name, 34)) << "</text>";
    os << format("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"11\" "
                 "fill=\"#444\">",
                 cx[v], y + 52)
       << escape(shorten(p.shape, 40)) << "</text></g>\n";
  };
  for (size_t i = 0; i < inputs.size(); ++i)
    port(i, inputs[i], "graph-input");
  for (size_t k = 0; k < n; ++k) {
    const Kernel &K = kernels[k];
    size_t v = kernelNode(k);
    KindStyle style = styleOf(K.kind);
    double x = cx[v] - boxW / 2, y = top[v];
    os << "<g class=\"kernel kind-" << escape(K.kind) << "\" id=\"kernel-" << k
       << "\" data-kernel=\"" << escape(K.name) << "\">";
    os << "<title>" << escape(K.name + " (" + K.kind + ")\nONNX nodes: " + K.nodes +
                              "\nops: " + K.ops + "\nresults: " + K.shapes +
                              (K.strategy.empty() ? "" : "\nGPU: " + K.strategy))
       << "</title>";
    os << format("<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"6\" "
                 "fill=\"%s\" stroke=\"%s\" stroke-width=\"1.5\"/>",
                 x, y, boxW, boxH, style.fill, style.stroke);
    os << format("<rect x=\"%.1f\" y=\"%.1f\" width=\"6\" height=\"%.1f\" rx=\"2\" "
                 "fill=\"%s\"/>",
                 x, y, boxH, style.stroke);
    os << format("<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" font-weight=\"bold\" "
                 "fill=\"%s\">",
                 x + 14, y + 18, style.stroke)
       << escape(K.name + " \u00b7 " + K.kind) << "</text>";
    std::string line2 = shorten(K.nodes.empty() ? K.ops : K.nodes, 38);
    std::string line3 = shorten(K.shapes, 38);
    std::string line4 = quantity((double)K.flops, "FLOP") + " \u00b7 " +
                        quantity((double)K.bytes, "B");
    std::string line5;
    if (K.ms >= 0) {
      std::string t;
      raw_string_ostream ts(t);
      ts << format("%.3f ms \u00b7 %.1f%%", K.ms, profiledMs > 0 ? 100 * K.ms / profiledMs : 0.0);
      if (K.ms > 0 && K.flops > 0)
        ts << format(" \u00b7 %.1f GFLOP/s", K.flops / (K.ms * 1e6));
      line5 = t;
    } else if (!K.strategy.empty()) {
      line5 = shorten(K.strategy, 38);
    }
    double ty = y + 33;
    for (const std::string *line : {&line2, &line3, &line4, &line5}) {
      if (line->empty())
        continue;
      os << format("<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#222\">", x + 14, ty)
         << escape(*line) << "</text>";
      ty += 14;
    }
    if (K.ms >= 0 && profiledMs > 0)
      os << format("<rect class=\"time-bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"4\" "
                   "fill=\"%s\"/>",
                   x + 6, y + boxH - 5, (boxW - 8) * K.ms / profiledMs, style.stroke);
    os << "</g>\n";
  }
  for (size_t o = 0; o < outputs.size(); ++o)
    port(outputNode(o), outputs[o], "graph-output");
  os << "</svg>\n";
  if (!html)
    return svg;

  std::string page;
  raw_string_ostream ps(page);
  int64_t totalFlops = 0, totalBytes = 0;
  std::map<std::string, int> byKind;
  for (const Kernel &K : kernels) {
    totalFlops += K.flops;
    totalBytes += K.bytes;
    ++byKind[K.kind];
  }
  ps << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>"
     << escape(model) << " \u2014 Kiln kernels</title>\n"
     << "<style>body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;margin:20px;"
        "color:#222}h1{font-size:20px;margin:0 0 6px}.summary{margin:4px 0 12px;"
        "font-size:14px}.legend span{display:inline-block;margin-right:14px;font-size:13px}"
        ".legend i{display:inline-block;width:12px;height:12px;margin-right:5px;"
        "vertical-align:-1px;border:1px solid #444}.picture{overflow:auto;border:1px solid "
        "#ddd;max-height:80vh;margin-bottom:16px}table{border-collapse:collapse;font-size:12px}"
        "td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}"
        "th{background:#f3f3f3}td.num{text-align:right;white-space:nowrap}</style>\n"
     << "</head><body>\n<h1>" << escape(model) << ": " << n << " kernels</h1>\n";
  ps << "<div class=\"summary\">";
  bool first = true;
  for (auto &[kind, count] : byKind) {
    ps << (first ? "" : ", ") << count << " " << escape(kind);
    first = false;
  }
  ps << " \u00b7 " << escape(quantity((double)totalFlops, "FLOP")) << " \u00b7 "
     << escape(quantity((double)totalBytes, "B")) << " moved";
  if (const json::Object *summary = root->getObject("summary"))
    if (auto nodes = summary->getInteger("onnx_nodes"))
      ps << " \u00b7 " << *nodes << " ONNX nodes";
  if (profiled)
    ps << format(" \u00b7 profile: %.3f ms of kernels per run", profiledMs);
  ps << "</div>\n<div class=\"legend\">";
  for (auto &[kind, count] : byKind) {
    KindStyle st = styleOf(kind);
    ps << "<span><i style=\"background:" << st.fill << ";border-color:" << st.stroke
       << "\"></i>" << escape(kind) << "</span>";
  }
  ps << "</div>\n<p style=\"font-size:12px;color:#555\">Each box is one kernel: its ONNX "
        "nodes, result shapes, FLOPs and bytes moved"
     << (profiled ? ", and its time per run (the bar: its share)" : "")
     << ". Hover a box for all of its nodes and ops.</p>\n";
  ps << "<div class=\"picture\">\n" << svg << "</div>\n";
  ps << "<table class=\"kernels\"><thead><tr><th>kernel</th><th>kind</th><th>ONNX nodes</th>"
        "<th>results</th><th>FLOPs</th><th>bytes</th>"
     << (kernels.end() != std::find_if(kernels.begin(), kernels.end(),
                                       [](const Kernel &K) { return !K.strategy.empty(); })
             ? "<th>GPU strategy</th>"
             : "")
     << (profiled ? "<th>ms/run</th><th>share</th>" : "") << "</tr></thead><tbody>\n";
  bool strategies = std::any_of(kernels.begin(), kernels.end(),
                                [](const Kernel &K) { return !K.strategy.empty(); });
  for (const Kernel &K : kernels) {
    ps << "<tr><td>" << escape(K.name) << "</td><td>" << escape(K.kind) << "</td><td>"
       << escape(K.nodes) << "</td><td>" << escape(K.shapes) << "</td><td class=\"num\">"
       << escape(quantity((double)K.flops, "")) << "</td><td class=\"num\">"
       << escape(quantity((double)K.bytes, "")) << "</td>";
    if (strategies)
      ps << "<td>" << escape(K.strategy) << "</td>";
    if (profiled)
      ps << format("<td class=\"num\">%.3f</td><td class=\"num\">%.1f%%</td>",
                   std::max(0.0, K.ms), profiledMs > 0 ? 100 * std::max(0.0, K.ms) / profiledMs
                                                       : 0.0);
    ps << "</tr>\n";
  }
  ps << "</tbody></table>\n</body></html>\n";
  return page;
}
