#!/usr/bin/env bash
# Throwaway TLS material for the TLS tests, valid for one day:
#   ca.pem             a test CA
#   server.pem/.key    signed by it, for localhost and 127.0.0.1, usable by servers and as a client certificate
#   other-ca.pem       an unrelated CA nobody should trust
#
#   tests/tls/make_test_certs.sh DIR
set -euo pipefail
dir="${1:?usage: make_test_certs.sh DIR}"
mkdir -p "$dir"
cd "$dir"

ec_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

self_signed_ca() {  # name key
  ec_key "$2"
  openssl req -x509 -new -key "$2" -days 1 -subj "/CN=clickstream test $1" -out "$1.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
}

self_signed_ca ca ca.key
self_signed_ca other-ca other-ca.key

ec_key server.key
openssl req -new -key server.key -subj "/CN=localhost" -out server.csr
cat >server.ext <<'EXT'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:localhost,IP:127.0.0.1
EXT
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile server.ext \
  -out server.pem 2>/dev/null
rm -f server.csr server.ext
