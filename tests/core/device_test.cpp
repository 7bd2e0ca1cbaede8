// The device and dtype names of studies and the command line (core/engine/device.h).
#include "core/engine/device.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace qlab {
namespace {

TEST(DeviceNames, DtypesAndTheirShortForms) {
  EXPECT_EQ(parse_dtype("float32"), c10::kFloat);
  EXPECT_EQ(parse_dtype("fp32"), c10::kFloat);
  EXPECT_EQ(parse_dtype("bf16"), c10::kBFloat16);
  EXPECT_EQ(parse_dtype("float16"), c10::kHalf);
  EXPECT_THROW(parse_dtype("int8"), UsageError);
  EXPECT_THROW(parse_dtype("Float32"), UsageError);
}

TEST(DeviceNames, CpuAndMalformedDevices) {
  EXPECT_EQ(parse_device("cpu"), c10::Device(c10::kCPU));
  for (const char* bad : {"gpu", "cpu:0x", "", "tpu"}) EXPECT_THROW(parse_device(bad), UsageError) << bad;
  // Without CUDA every cuda name is refused; with it a malformed index still is.
  EXPECT_THROW(parse_device("cuda:x"), UsageError);
}

}  // namespace
}  // namespace qlab
