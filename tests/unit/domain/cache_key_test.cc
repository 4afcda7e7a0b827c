#include "domain/cache_key.h"

#include <gtest/gtest.h>

namespace clickstream::domain {
namespace {

TEST(CountCacheKey, HasVersionedPrefixAndLengths) { EXPECT_EQ(CountCacheKey("a", "/x"), "pc1:1:a:2:/x"); }

TEST(CountCacheKey, DoesNotCollideWhereTheSpecificationKeyDoes) {
  // With "{user}__+__{page}" both pairs give "a__+__b__+__c".
  EXPECT_NE(CountCacheKey("a__+__b", "c"), CountCacheKey("a", "b__+__c"));
}

TEST(CountCacheKey, DoesNotCollideOnSeparatorsInsideIds) {
  EXPECT_NE(CountCacheKey("1:a", "b"), CountCacheKey("1", "a:b"));
  EXPECT_NE(CountCacheKey("a:1:b", "c"), CountCacheKey("a", "1:b:c"));
  EXPECT_NE(CountCacheKey("", "ab"), CountCacheKey("a", "b"));
}

}  // namespace
}  // namespace clickstream::domain
