//===- RuntimeModule.cpp - kiln._runtime: run compiled models -------------===//
//
// The part of the Python package that needs only libkiln_runtime: it wraps
// a `kiln_model` (loaded from a library written by `.save`, or handed over
// by the compiler module after a JIT compile) and runs it on caller-owned
// buffers with the GIL released.
//
//===----------------------------------------------------------------------===//
#include "kiln_runtime.h"

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <dlfcn.h>
#include <memory>
#include <string>
#include <vector>

namespace py = pybind11;

namespace {

/// Raised as kiln.RuntimeError by the package (the translator is installed
/// in kiln/__init__.py's import of this module).
struct RunError {
  std::string message;
};

py::dict tensorInfo(const kiln_tensor_info *info) {
  py::dict d;
  d["name"] = info->name;
  d["dtype"] = info->dtype;
  py::list shape;
  for (int i = 0; i < info->rank; ++i)
    shape.append(info->shape[i]);
  d["shape"] = py::tuple(shape);
  return d;
}

/// A runnable model. Either owns a loaded library, or borrows the handle of
/// a JIT-compiled model and keeps its owner (the compiler's object) alive.
class RuntimeModel {
public:
  static std::unique_ptr<RuntimeModel> load(const std::string &path) {
    kiln_model *m;
    {
      py::gil_scoped_release release;
      m = kiln_model_load(path.c_str());
    }
    if (!m)
      throw RunError{kiln_last_error()};
    auto model = std::make_unique<RuntimeModel>();
    model->handle = m;
    model->owned = true;
    return model;
  }

  static std::unique_ptr<RuntimeModel> borrow(uintptr_t address, py::object owner) {
    if (!address)
      throw RunError{"no compiled model"};
    auto model = std::make_unique<RuntimeModel>();
    model->handle = reinterpret_cast<kiln_model *>(address);
    model->owner = std::move(owner);
    return model;
  }

  ~RuntimeModel() {
    if (owned)
      kiln_model_free(handle);
  }

  py::list inputs() const {
    py::list out;
    for (int i = 0; i < kiln_model_num_inputs(handle); ++i)
      out.append(tensorInfo(kiln_model_input(handle, i)));
    return out;
  }

  std::string target() const {
    return kiln_model_target(handle) == KILN_TARGET_CUDA ? "cuda" : "cpu";
  }

  py::list outputs() const {
    py::list out;
    for (int i = 0; i < kiln_model_num_outputs(handle); ++i)
      out.append(tensorInfo(kiln_model_output(handle, i)));
    return out;
  }

  /// Runs on dense row-major buffers; the package checks dtypes and shapes,
  /// this checks the byte sizes once more so that no call can overrun.
  void run(const std::vector<py::buffer> &inputs, const std::vector<py::buffer> &outputs) {
    int numIn = kiln_model_num_inputs(handle), numOut = kiln_model_num_outputs(handle);
    if ((int)inputs.size() != numIn || (int)outputs.size() != numOut)
      throw RunError{"the model takes " + std::to_string(numIn) + " inputs and " +
                     std::to_string(numOut) + " outputs, got " +
                     std::to_string(inputs.size()) + " and " +
                     std::to_string(outputs.size())};
    std::vector<py::buffer_info> infos;
    infos.reserve(inputs.size() + outputs.size());
    std::vector<const void *> in;
    std::vector<void *> out;
    auto check = [&](const py::buffer_info &b, const kiln_tensor_info *t, const char *what) {
      size_t bytes = kiln_tensor_bytes(t);
      bool contiguous = true;
      py::ssize_t expect = b.itemsize;
      for (py::ssize_t d = b.ndim - 1; d >= 0; --d) {
        if (b.shape[d] != 1 && b.strides[d] != expect)
          contiguous = false;
        expect *= b.shape[d];
      }
      if (!contiguous || (size_t)(b.size * b.itemsize) != bytes)
        throw RunError{std::string(what) + " '" + t->name + "' needs a dense buffer of " +
                       std::to_string(bytes) + " bytes"};
    };
    for (int i = 0; i < numIn; ++i) {
      infos.push_back(inputs[i].request());
      check(infos.back(), kiln_model_input(handle, i), "input");
      in.push_back(infos.back().ptr);
    }
    for (int i = 0; i < numOut; ++i) {
      infos.push_back(outputs[i].request(/*writable=*/true));
      check(infos.back(), kiln_model_output(handle, i), "output");
      out.push_back(infos.back().ptr);
    }
    int rc;
    std::string error;
    {
      py::gil_scoped_release release;
      rc = kiln_model_run(handle, in.data(), out.data());
      // The error text is thread-local: read it on this thread.
      if (rc != 0)
        error = kiln_last_error();
    }
    if (rc != 0)
      throw RunError{"running the model failed: " + error};
  }

private:
  kiln_model *handle = nullptr;
  bool owned = false;
  py::object owner;
};

} // namespace

PYBIND11_MODULE(_runtime, m) {
  m.doc() = "Kiln's runtime: runs compiled models (needs libkiln_runtime only).";
  // Compiled model libraries call the runtime (kiln_parallel_for) through
  // the process's global symbols, as in an executable linked with it.
  // Python loads extensions and their libraries with RTLD_LOCAL: promote
  // libkiln_runtime to global.
  Dl_info info;
  if (dladdr(reinterpret_cast<void *>(&kiln_parallel_for), &info) && info.dli_fname)
    dlopen(info.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
  // Exceptions are mapped to the package's classes; `_set_error_class` is
  // called by kiln/__init__.py before anything runs.
  // Leaked on purpose: a static py::object would be released after the
  // interpreter is gone.
  static py::object *runtimeErrorClass = new py::object(py::none());
  m.def("_set_error_class", [](py::object cls) { *runtimeErrorClass = cls; });
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p)
        std::rethrow_exception(p);
    } catch (const RunError &e) {
      PyObject *cls = runtimeErrorClass->is_none() ? PyExc_RuntimeError
                                                   : runtimeErrorClass->ptr();
      PyErr_SetString(cls, e.message.c_str());
    }
  });
  py::class_<RuntimeModel>(m, "RuntimeModel")
      .def_static("load", &RuntimeModel::load, py::arg("path"),
                  "Loads a library written by CompiledModel.save.")
      .def_static("borrow", &RuntimeModel::borrow, py::arg("address"), py::arg("owner"),
                  "Wraps the kiln_model handle of a just-in-time compiled model.")
      .def("inputs", &RuntimeModel::inputs)
      .def("target", &RuntimeModel::target)
      .def("outputs", &RuntimeModel::outputs)
      .def("run", &RuntimeModel::run, py::arg("inputs"), py::arg("outputs"));
  m.def("set_num_threads", [](int n) {
    if (n < 1)
      throw py::value_error("set_num_threads expects a positive number, got " +
                            std::to_string(n));
    kiln_set_num_threads(n);
  });
  m.def("get_num_threads", &kiln_get_num_threads);
}
