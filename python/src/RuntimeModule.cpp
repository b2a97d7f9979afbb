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
#include <optional>
#include <string>
#include <vector>

namespace py = pybind11;

namespace {

/// Raised as kiln.RuntimeError by the package (the translator is installed
/// in kiln/__init__.py's import of this module).
struct RunError {
  std::string message;
};

// The DLPack ABI (unversioned "dltensor" capsules, DLPack 0.x, which every
// producer returns from a plain __dlpack__() call).
enum : int32_t { kDLCPU = 1, kDLCUDA = 2 };
struct DLDevice {
  int32_t device_type;
  int32_t device_id;
};
struct DLDataType {
  uint8_t code;
  uint8_t bits;
  uint16_t lanes;
};
struct DLTensor {
  void *data;
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t *shape;
  int64_t *strides;
  uint64_t byte_offset;
};
struct DLManagedTensor {
  DLTensor dl_tensor;
  void *manager_ctx;
  void (*deleter)(DLManagedTensor *self);
};

/// What the package checks of a DLPack tensor before it passes its device
/// pointer to the runtime. The capsule is only read, not consumed: its
/// producer keeps the memory alive until the capsule is released.
py::dict dlpackTensor(py::capsule capsule) {
  if (std::string(capsule.name() ? capsule.name() : "") != "dltensor")
    throw RunError{"not an unconsumed DLPack capsule (its name is '" +
                   std::string(capsule.name() ? capsule.name() : "") + "')"};
  auto *managed = capsule.get_pointer<DLManagedTensor>();
  if (!managed)
    throw RunError{"empty DLPack capsule"};
  const DLTensor &t = managed->dl_tensor;
  py::dict d;
  d["ptr"] = (uint64_t)(uintptr_t)t.data + t.byte_offset;
  d["device_type"] = t.device.device_type;
  d["device_id"] = t.device.device_id;
  d["code"] = (int)t.dtype.code;
  d["bits"] = (int)t.dtype.bits;
  d["lanes"] = (int)t.dtype.lanes;
  py::list shape, strides;
  for (int i = 0; i < t.ndim; ++i) {
    shape.append(t.shape[i]);
    if (t.strides)
      strides.append(t.strides[i]);
  }
  d["shape"] = py::tuple(shape);
  d["strides"] = t.strides ? py::object(py::tuple(strides)) : py::object(py::none());
  return d;
}

/// A device tensor handed out as a DLPack capsule; owns its runtime
/// allocation, which the deleter frees (on whichever thread the consumer
/// releases it).
struct DeviceTensor {
  DLManagedTensor managed;
  std::vector<int64_t> shape;
};

void freeDeviceTensor(DLManagedTensor *self) {
  auto *owner = static_cast<DeviceTensor *>(self->manager_ctx);
  kiln_cuda_device_free((uint64_t)(uintptr_t)self->dl_tensor.data);
  delete owner;
}

py::capsule deviceCapsule(uint64_t ptr, int code, int bits, std::vector<int64_t> shape,
                          int deviceId) {
  auto *owner = new DeviceTensor;
  owner->shape = std::move(shape);
  DLTensor &t = owner->managed.dl_tensor;
  t.data = (void *)(uintptr_t)ptr;
  t.device = {kDLCUDA, deviceId};
  t.ndim = (int32_t)owner->shape.size();
  t.dtype = {(uint8_t)code, (uint8_t)bits, 1};
  t.shape = owner->shape.data();
  t.strides = nullptr; // compact row-major
  t.byte_offset = 0;
  owner->managed.manager_ctx = owner;
  owner->managed.deleter = freeDeviceTensor;
  // A consumer renames the capsule to "used_dltensor" and calls the
  // deleter itself; an unconsumed capsule frees the tensor here.
  PyObject *cap = PyCapsule_New(&owner->managed, "dltensor", [](PyObject *c) {
    if (PyCapsule_IsValid(c, "dltensor")) {
      auto *m = static_cast<DLManagedTensor *>(PyCapsule_GetPointer(c, "dltensor"));
      if (m && m->deleter)
        m->deleter(m);
    }
  });
  if (!cap) {
    freeDeviceTensor(&owner->managed);
    throw py::error_already_set();
  }
  return py::reinterpret_steal<py::capsule>(cap);
}

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

  std::optional<std::string> weightsFile() const {
    const char *file = kiln_model_weights_file(handle);
    return file ? std::optional<std::string>(file) : std::nullopt;
  }

  py::list outputs() const {
    py::list out;
    for (int i = 0; i < kiln_model_num_outputs(handle); ++i)
      out.append(tensorInfo(kiln_model_output(handle, i)));
    return out;
  }

  /// Throws unless the model takes `numInputs` inputs and `numOutputs`
  /// outputs.
  void checkArity(size_t numInputs, size_t numOutputs) const {
    int numIn = kiln_model_num_inputs(handle), numOut = kiln_model_num_outputs(handle);
    if ((int)numInputs != numIn || (int)numOutputs != numOut)
      throw RunError{"the model takes " + std::to_string(numIn) + " inputs and " +
                     std::to_string(numOut) + " outputs, got " + std::to_string(numInputs) +
                     " and " + std::to_string(numOutputs)};
  }

  /// Runs on dense row-major buffers; the package checks dtypes and shapes,
  /// this checks the byte sizes once more so that no call can overrun.
  /// Runs once; with `profile` (a trace path, or "" for the summary alone)
  /// runs kiln_model_profile over `runs` timed runs and returns its summary.
  std::optional<std::string> run(const std::vector<py::buffer> &inputs,
                                 const std::vector<py::buffer> &outputs,
                                 std::optional<std::string> profile, int runs) {
    checkArity(inputs.size(), outputs.size());
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
    for (size_t i = 0; i < inputs.size(); ++i) {
      infos.push_back(inputs[i].request());
      check(infos.back(), kiln_model_input(handle, (int)i), "input");
      in.push_back(infos.back().ptr);
    }
    for (size_t i = 0; i < outputs.size(); ++i) {
      infos.push_back(outputs[i].request(/*writable=*/true));
      check(infos.back(), kiln_model_output(handle, (int)i), "output");
      out.push_back(infos.back().ptr);
    }
    int rc;
    std::string error;
    {
      py::gil_scoped_release release;
      if (profile)
        rc = kiln_model_profile(handle, in.data(), out.data(), runs,
                                profile->empty() ? nullptr : profile->c_str());
      else
        rc = kiln_model_run(handle, in.data(), out.data());
      // The error text is thread-local: read it on this thread.
      if (rc != 0)
        error = kiln_last_error();
    }
    if (rc != 0)
      throw RunError{(profile ? "profiling the model failed: " : "running the model failed: ") +
                     error};
    if (!profile)
      return std::nullopt;
    return std::string(kiln_model_profile_summary(handle));
  }

  /// Runs a CUDA model on device buffers (pointers from the runtime's
  /// allocator or from DLPack tensors the package has checked), after the
  /// work queued on `stream` (a CUstream value, 0: none).
  void runDevice(const std::vector<uint64_t> &inputs, const std::vector<uint64_t> &outputs,
                 uint64_t stream) {
    checkArity(inputs.size(), outputs.size());
    int rc;
    std::string error;
    {
      py::gil_scoped_release release;
      rc = kiln_model_run_device(handle, inputs.data(), outputs.data(),
                                 (void *)(uintptr_t)stream);
      if (rc != 0)
        error = kiln_last_error();
    }
    if (rc != 0)
      throw RunError{"running the model on device buffers failed: " + error};
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
      .def("weights_file", &RuntimeModel::weightsFile,
           "The weights file the library maps (kilnc --weights), or None.")
      .def("outputs", &RuntimeModel::outputs)
      .def("run", &RuntimeModel::run, py::arg("inputs"), py::arg("outputs"),
           py::arg("profile") = std::nullopt, py::arg("runs") = 1)
      .def("run_device", &RuntimeModel::runDevice, py::arg("inputs"), py::arg("outputs"),
           py::arg("stream") = 0);
  // Device memory on the runtime's CUDA device (kiln_cuda_device_alloc & co.).
  auto check = [](int rc) {
    if (rc != 0)
      throw RunError{kiln_last_error()};
  };
  m.def("cuda_device", [check]() {
    int ordinal;
    {
      py::gil_scoped_release release;
      ordinal = kiln_cuda_device();
    }
    check(ordinal < 0 ? -1 : 0);
    return ordinal;
  });
  m.def("device_alloc", [check](size_t bytes) {
    uint64_t ptr = 0;
    check(kiln_cuda_device_alloc(bytes, &ptr));
    return ptr;
  });
  m.def("device_free", [check](uint64_t ptr) { check(kiln_cuda_device_free(ptr)); });
  m.def("copy_to_device", [check](uint64_t dst, py::buffer src) {
    py::buffer_info b = src.request();
    int rc;
    {
      py::gil_scoped_release release;
      rc = kiln_cuda_copy_to_device(dst, b.ptr, (size_t)(b.size * b.itemsize));
    }
    check(rc);
  });
  m.def("copy_to_host", [check](py::buffer dst, uint64_t src) {
    py::buffer_info b = dst.request(/*writable=*/true);
    int rc;
    {
      py::gil_scoped_release release;
      rc = kiln_cuda_copy_to_host(b.ptr, src, (size_t)(b.size * b.itemsize));
    }
    check(rc);
  });
  m.def("dlpack_tensor", &dlpackTensor, py::arg("capsule"));
  m.def("device_capsule", &deviceCapsule, py::arg("ptr"), py::arg("code"), py::arg("bits"),
        py::arg("shape"), py::arg("device_id"),
        "Wraps a runtime device allocation (owned from then on) as a kDLCUDA capsule.");
  m.def("set_num_threads", [](int n) {
    if (n < 1)
      throw py::value_error("set_num_threads expects a positive number, got " +
                            std::to_string(n));
    kiln_set_num_threads(n);
  });
  m.def("get_num_threads", &kiln_get_num_threads);
}
