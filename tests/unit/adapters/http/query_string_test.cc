#include "adapters/http/query_string.h"

#include <gtest/gtest.h>

namespace clickstream::http {
namespace {

TEST(DecodeQueryString, DecodesLikeGo) {
  auto params = DecodeQueryString("user_id=a%20b+c&page_url=/x/y?z&empty=&flag");
  ASSERT_TRUE(params.has_value());
  EXPECT_EQ(params->at("user_id"), "a b c");
  EXPECT_EQ(params->at("page_url"), "/x/y?z");
  EXPECT_EQ(params->at("empty"), "");
  EXPECT_EQ(params->at("flag"), "");
}

TEST(DecodeQueryString, KeepsTheFirstOfRepeatedKeys) { EXPECT_EQ(DecodeQueryString("a=1&a=2")->at("a"), "1"); }

TEST(DecodeQueryString, DecodesEncodedSeparatorsAndUtf8) {
  auto params = DecodeQueryString("page_url=%2Fa%26b%3Dc%2B%E2%82%AC");
  ASSERT_TRUE(params.has_value());
  EXPECT_EQ(params->at("page_url"), "/a&b=c+\xe2\x82\xac");
}

TEST(DecodeQueryString, RejectsMalformedEscapes) {
  EXPECT_FALSE(DecodeQueryString("a=%G1").has_value());
  EXPECT_FALSE(DecodeQueryString("a=%4").has_value());
  EXPECT_FALSE(DecodeQueryString("a=%").has_value());
}

}  // namespace
}  // namespace clickstream::http
