// jwt_es256_test.cpp - ES256 signature encoding: r||s of exactly 64 bytes, 0 < r, s < n.
#include <gtest/gtest.h>

#include <cjson/cJSON.h>

#include "auth_test_util.h"

namespace outpost::auth::test {
namespace {

// The order n of the P-256 group, big-endian.
const std::string kOrderN = unb64("_____wAAAAD__________7zm-q2nF56E87nKwvxjJVE");

struct Signed {
    std::string input; // header.payload
    std::string sig;   // raw r||s
    int64_t now = 0;
};

// The es256_ok token from the jose fixtures.
Signed jose_es256() {
    std::string text = read_text(data_path("fixtures.json"));
    cJSON* doc = cJSON_Parse(text.c_str());
    Signed s;
    const cJSON* cases = doc ? cJSON_GetObjectItemCaseSensitive(doc, "cases") : nullptr;
    for (const cJSON* c = cases ? cases->child : nullptr; c; c = c->next) {
        if (std::string_view(cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring) != "es256_ok") continue;
        std::string t = cJSON_GetObjectItemCaseSensitive(c, "token")->valuestring;
        s.input = t.substr(0, t.rfind('.'));
        s.sig = unb64(t.substr(t.rfind('.') + 1));
        s.now = static_cast<int64_t>(cJSON_GetObjectItemCaseSensitive(doc, "now")->valuedouble);
    }
    cJSON_Delete(doc);
    return s;
}

// DER INTEGER of a 32-byte big-endian value (what OpenSSL-style ECDSA APIs produce).
std::string der_int(std::string v) {
    while (v.size() > 1 && v[0] == 0) v.erase(0, 1);
    if (static_cast<uint8_t>(v[0]) & 0x80) v.insert(0, 1, '\0');
    return std::string(1, '\x02') + static_cast<char>(v.size()) + v;
}

std::string der(const std::string& rs) {
    std::string body = der_int(rs.substr(0, 32)) + der_int(rs.substr(32));
    return std::string(1, '\x30') + static_cast<char>(body.size()) + body;
}

struct Case {
    const char* name;
    std::string (*sig)(const std::string& rs);
    const char* expect;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

const Case kCases[] = {
    {"valid", [](const std::string& rs) { return rs; }, "ok"},
    {"r_zero", [](const std::string& rs) { return std::string(32, '\0') + rs.substr(32); }, "token_signature"},
    {"s_zero", [](const std::string& rs) { return rs.substr(0, 32) + std::string(32, '\0'); }, "token_signature"},
    {"both_zero", [](const std::string&) { return std::string(64, '\0'); }, "token_signature"},
    {"r_equals_n", [](const std::string& rs) { return kOrderN + rs.substr(32); }, "token_signature"},
    {"s_equals_n", [](const std::string& rs) { return rs.substr(0, 32) + kOrderN; }, "token_signature"},
    {"r_all_ones", [](const std::string& rs) { return std::string(32, '\xff') + rs.substr(32); }, "token_signature"},
    {"s_all_ones", [](const std::string& rs) { return rs.substr(0, 32) + std::string(32, '\xff'); }, "token_signature"},
    {"r_s_swapped", [](const std::string& rs) { return rs.substr(32) + rs.substr(0, 32); }, "token_signature"},
    {"len_63", [](const std::string& rs) { return rs.substr(0, 63); }, "token_signature"},
    {"len_65_leading_zero", [](const std::string& rs) { return std::string(1, '\0') + rs; }, "token_signature"},
    {"len_65_trailing_zero", [](const std::string& rs) { return rs + std::string(1, '\0'); }, "token_signature"},
    {"len_66_padded_scalars",
     [](const std::string& rs) { return std::string(1, '\0') + rs.substr(0, 32) + std::string(1, '\0') + rs.substr(32); },
     "token_signature"},
    {"len_32", [](const std::string& rs) { return rs.substr(0, 32); }, "token_signature"},
    {"len_1", [](const std::string&) { return std::string(1, '\x01'); }, "token_signature"},
    {"len_128", [](const std::string& rs) { return rs + rs; }, "token_signature"},
    {"der_encoded", [](const std::string& rs) { return der(rs); }, "token_signature"},
    {"empty", [](const std::string&) { return std::string(); }, "token_malformed"},
};

class Es256Signature : public ::testing::TestWithParam<Case> {};

TEST_P(Es256Signature, ExactCode) {
    const Case& c = GetParam();
    Signed s = jose_es256();
    ASSERT_EQ(s.sig.size(), 64u) << "es256_ok missing from fixtures.json";
    auto keys = KeySet::from_public_pem(Algorithm::es256, read_text(data_path("es256.pub.pem")), "es256.pub.pem");
    ASSERT_TRUE(keys.ok()) << keys.error().message;
    std::string token = s.input + "." + b64(c.sig(s.sig));
    EXPECT_EQ(code_of(verify(token, *keys, s.now, Policy{})), c.expect);
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Encodings, Es256Signature, ::testing::ValuesIn(kCases), case_name);

TEST(Es256, OrderConstantIsP256) {
    ASSERT_EQ(kOrderN.size(), 32u);
    EXPECT_EQ(static_cast<uint8_t>(kOrderN[0]), 0xff);
    EXPECT_EQ(static_cast<uint8_t>(kOrderN[31]), 0x51);
}

} // namespace
} // namespace outpost::auth::test
