#include "domain/field_error.h"

#include <gtest/gtest.h>

namespace clickstream::domain {
namespace {

TEST(InvalidField, CarriesTheFieldName) {
  EXPECT_EQ(FieldOf(InvalidField("user_id", "bad")), "user_id");
  EXPECT_EQ(FieldOf(absl::InvalidArgumentError("bad")), "");
}

}  // namespace
}  // namespace clickstream::domain
