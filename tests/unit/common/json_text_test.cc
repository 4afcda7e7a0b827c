#include "common/json_text.h"

#include <gtest/gtest.h>

#include <string>

namespace clickstream::common {
namespace {

TEST(ErrorJson, EscapesAndOmitsAnEmptyField) {
  EXPECT_EQ(ErrorJson("invalid_argument", "say \"hi\"\n"), R"({"error":"invalid_argument","message":"say \"hi\"\n"})");
  EXPECT_EQ(ErrorJson("e", "m", "f"), R"({"error":"e","message":"m","field":"f"})");
}

TEST(AppendJsonString, EscapesQuotesBackslashesAndControlCharactersAnywhere) {
  std::string out = "x";
  AppendJsonString(out, std::string("\"a\\b\tc\x01\x1f") + "plain \xe2\x82\xac\r\n" + std::string(1, '\0'));
  EXPECT_EQ(out, std::string(R"(x"\"a\\b\tc\u0001\u001fplain )") + "\xe2\x82\xac" + R"(\r\n\u0000")");
  out.clear();
  AppendJsonString(out, "");
  EXPECT_EQ(out, R"("")");
}

}  // namespace
}  // namespace clickstream::common
