// pem_test.cpp - The TLS pair check (auth::check_tls_pair / read_tls_pair): matching RSA and EC
// pairs pass, and each bad input is refused with the reason naming the part that is wrong.
#include <gtest/gtest.h>

#include "auth/pem.h"
#include "auth_test_util.h"

namespace outpost::auth::test {
namespace {

std::string tls(std::string_view name) { return read_text(data_path("tls/" + std::string(name))); }

std::string check(const std::string& cert, const std::string& key) {
    std::string error;
    return check_tls_pair(cert, key, error) ? "ok" : error;
}

TEST(TlsPair, MatchingRsaPairPasses) { EXPECT_EQ(check(tls("rsa.crt"), tls("rsa.key")), "ok"); }

TEST(TlsPair, MatchingEcPairPasses) { EXPECT_EQ(check(tls("ec.crt"), tls("ec.key")), "ok"); }

TEST(TlsPair, KeyOfAnotherCertificateIsRefused) {
    EXPECT_EQ(check(tls("ec.crt"), tls("other-ec.key")), "the private key does not match the certificate");
    EXPECT_EQ(check(tls("rsa.crt"), tls("ec.key")), "the private key does not match the certificate");
    EXPECT_EQ(check(tls("ec.crt"), tls("rsa.key")), "the private key does not match the certificate");
}

TEST(TlsPair, FilesSwappedOrEmptyAreRefused) {
    EXPECT_EQ(check(tls("rsa.key"), tls("rsa.crt")), "the certificate file holds no valid PEM certificate");
    EXPECT_EQ(check("", tls("rsa.key")), "the certificate file holds no valid PEM certificate");
    EXPECT_EQ(check(tls("rsa.crt"), ""), "the key file holds no valid unencrypted PEM private key");
    EXPECT_EQ(check(tls("rsa.crt"), tls("rsa.crt")), "the key file holds no valid unencrypted PEM private key");
}

TEST(TlsPair, EncryptedKeyIsRefused) {
    EXPECT_EQ(check(tls("rsa.crt"), tls("rsa-encrypted.key")), "the key file holds no valid unencrypted PEM private key");
}

TEST(TlsPair, ReadFromFiles) {
    auto pair = read_tls_pair(data_path("tls/ec.crt"), data_path("tls/ec.key"));
    ASSERT_TRUE(pair.ok()) << pair.error().message;
    EXPECT_NE(pair->cert.find("BEGIN CERTIFICATE"), std::string::npos);
    auto missing = read_tls_pair(data_path("tls/none.crt"), data_path("tls/ec.key"));
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().message.find("cannot read"), std::string::npos);
    auto wrong = read_tls_pair(data_path("tls/ec.crt"), data_path("tls/other-ec.key"));
    ASSERT_FALSE(wrong.ok());
    EXPECT_EQ(wrong.error().message, "the private key does not match the certificate");
}

} // namespace
} // namespace outpost::auth::test
