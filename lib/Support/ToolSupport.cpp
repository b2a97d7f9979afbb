//===- ToolSupport.cpp - what Kiln's command-line drivers share ----------===//
#include "kiln/Support/ToolSupport.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

std::string kiln::describeLocation(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc)) {
    std::string inner = describeLocation(name.getChildLoc());
    return (inner.empty() ? "" : inner + ": ") + "node '" +
           name.getName().str() + "'";
  }
  if (auto file = dyn_cast<FileLineColLoc>(loc)) {
    if (file.getLine() == 0)
      return file.getFilename().str();
    return file.getFilename().str() + ":" + std::to_string(file.getLine()) +
           ":" + std::to_string(file.getColumn());
  }
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location l : fused.getLocations())
      if (auto s = describeLocation(l); !s.empty())
        return s;
  return "";
}

void kiln::printDiagnostic(StringRef tool, Diagnostic &diag) {
  raw_ostream &os = llvm::errs();
  os << tool << ": ";
  switch (diag.getSeverity()) {
  case DiagnosticSeverity::Error:
    llvm::WithColor(os, llvm::HighlightColor::Error) << "error: ";
    break;
  case DiagnosticSeverity::Warning:
    llvm::WithColor(os, llvm::HighlightColor::Warning) << "warning: ";
    break;
  default:
    llvm::WithColor(os, llvm::HighlightColor::Note) << "note: ";
    break;
  }
  std::string where = describeLocation(diag.getLocation());
  if (!where.empty())
    os << where << ": ";
  os << diag.str() << "\n";
  for (Diagnostic &note : diag.getNotes()) {
    // MLIR attaches the failing op in full ("see current operation"): for
    // an error on the module that is the whole model, thousands of lines.
    if (StringRef(note.str()).starts_with("see current operation"))
      continue;
    printDiagnostic(tool, note);
  }
}

bool kiln::parseShape(StringRef text, SmallVectorImpl<int64_t> &dims) {
  dims.clear();
  text = text.trim();
  if (text == "scalar")
    return true;
  if (text.empty())
    return false;
  SmallVector<StringRef> parts;
  text.split(parts, 'x');
  for (StringRef p : parts) {
    int64_t d;
    if (p.trim().getAsInteger(10, d) || d < 0)
      return false;
    dims.push_back(d);
  }
  return true;
}

