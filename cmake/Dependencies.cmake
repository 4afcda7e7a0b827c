# Every third-party lookup in one place. All of them come from Debian's packages (scripts/setup.sh).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)   # also needs protobuf-compiler-grpc: the config checks its plugins
find_package(absl CONFIG REQUIRED)
find_package(spdlog CONFIG REQUIRED)
find_package(fmt CONFIG REQUIRED)
find_package(simdjson CONFIG REQUIRED)
find_package(restinio CONFIG REQUIRED)
find_package(OpenSSL REQUIRED)       # RESTinio's HTTPS (through Asio's ssl)
find_package(CURL REQUIRED)          # the Zipkin span exporter's HTTP client (and the TLS tests')
# Only prometheus-cpp::core is linked (no civetweb); the config still looks up civetweb, ZLIB and CURL, which
# prometheus-cpp-dev depends on.
find_package(prometheus-cpp CONFIG REQUIRED)
# Only the tests need GoogleTest (the container image builds with -DBUILD_TESTING=OFF).
if(NOT DEFINED BUILD_TESTING OR BUILD_TESTING)
  find_package(GTest CONFIG REQUIRED)
endif()

pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka++ rdkafka)
pkg_check_modules(PQXX REQUIRED IMPORTED_TARGET libpqxx)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
