#!/bin/sh
# gen.sh - Writes the TLS pair fixtures for tests/unit/auth/pem_test.cpp (self-signed, test only):
# an RSA-2048 and an EC P-256 certificate with their keys, and a second EC key that matches neither.
# Run from this folder: sh gen.sh. Keys are fresh each run; commit the outputs together.
set -eu
openssl req -x509 -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.crt -days 36500 -subj /CN=outpost-test-rsa 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ec.key -out ec.crt -days 36500 -subj /CN=outpost-test-ec 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other-ec.key
openssl pkey -in rsa.key -out rsa-encrypted.key -aes256 -passout pass:secret
