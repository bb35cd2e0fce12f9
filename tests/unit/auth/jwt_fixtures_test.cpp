// jwt_fixtures_test.cpp - Tokens from independent signers: RFC 7515 A.1 and jose (data/fixtures.json).
#include <gtest/gtest.h>

#include <map>
#include <memory>

#include <cjson/cJSON.h>

#include "auth_test_util.h"

namespace outpost::auth::test {
namespace {

// ---- RFC 7515 appendix A.1: HS256 over a payload with iss "joe", exp 1300819380 and no sub.
constexpr std::string_view kRfcToken =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
constexpr std::string_view kRfcJwkK = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
constexpr int64_t kRfcExp = 1300819380;

TEST(Rfc7515, A1SignatureVerifiesAndClaimsAreChecked) {
    KeySet keys = KeySet::hs256(unb64(kRfcJwkK));
    Policy p;
    p.issuer = "joe";
    // The signature and exp pass; the example has no sub, which Outpost requires.
    auto r = verify(kRfcToken, keys, kRfcExp - 3600, p);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(code_of(r), "token_claims");
    EXPECT_NE(r.error().detail.find("sub"), std::string::npos) << r.error().detail;
    // So exp was read as 1300819380: at exp + leeway it is expired.
    EXPECT_EQ(code_of(verify(kRfcToken, keys, kRfcExp + p.leeway_s, p)), "token_expired");
    EXPECT_EQ(code_of(verify(kRfcToken, keys, kRfcExp + p.leeway_s - 1, p)), "token_claims");
    p.issuer = "jane";
    EXPECT_EQ(code_of(verify(kRfcToken, keys, kRfcExp - 3600, p)), "token_issuer");
}

TEST(Rfc7515, A1WithAnyOtherKeyIsASignatureFailure) {
    std::string k = unb64(kRfcJwkK);
    k[0] = static_cast<char>(k[0] ^ 1);
    KeySet keys = KeySet::hs256(k);
    EXPECT_EQ(code_of(verify(kRfcToken, keys, kRfcExp - 3600, Policy{})), "token_signature");
}

// ---- jose fixtures
struct JsonDeleter {
    void operator()(cJSON* j) const { cJSON_Delete(j); }
};

struct Fixture {
    std::string name, key, token, expect, user;
    Policy policy;
    bool check_admin = false, admin = false;
    int rooms = -1;
};

void PrintTo(const Fixture& f, std::ostream* os) { *os << f.name; }

std::string str(const cJSON* obj, const char* name) {
    const cJSON* v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) ? v->valuestring : "";
}

Fixture read_fixture(const cJSON* c) {
    Fixture f{str(c, "name"), str(c, "key"), str(c, "token"), str(c, "expect"), str(c, "user"), {}, false, false, -1};
    if (const cJSON* p = cJSON_GetObjectItemCaseSensitive(c, "policy")) {
        f.policy.issuer = str(p, "issuer");
        f.policy.audience = str(p, "audience");
    }
    if (const cJSON* a = cJSON_GetObjectItemCaseSensitive(c, "admin")) f.check_admin = true, f.admin = cJSON_IsTrue(a);
    if (const cJSON* r = cJSON_GetObjectItemCaseSensitive(c, "rooms")) f.rooms = r->valueint;
    return f;
}

struct Fixtures {
    int64_t now = 0;
    std::string secret;
    std::vector<Fixture> cases;
};

const Fixtures& fixtures() {
    static const Fixtures all = [] {
        Fixtures fx;
        std::string text = read_text(data_path("fixtures.json"));
        std::unique_ptr<cJSON, JsonDeleter> doc(cJSON_Parse(text.c_str()));
        if (!doc) return fx;
        fx.now = static_cast<int64_t>(cJSON_GetObjectItemCaseSensitive(doc.get(), "now")->valuedouble);
        fx.secret = str(doc.get(), "hs256_secret");
        const cJSON* cases = cJSON_GetObjectItemCaseSensitive(doc.get(), "cases");
        for (const cJSON* c = cases ? cases->child : nullptr; c; c = c->next) fx.cases.push_back(read_fixture(c));
        return fx;
    }();
    return all;
}

KeySet key_named(const std::string& name) {
    if (name == "hs256") return KeySet::hs256(fixtures().secret);
    Algorithm alg = name == "rs256" ? Algorithm::rs256 : Algorithm::es256;
    auto k = KeySet::from_public_pem(alg, read_text(data_path(name + ".pub.pem")), name + ".pub.pem");
    if (!k) ADD_FAILURE() << k.error().message;
    return std::move(k).value();
}

TEST(JoseFixtures, Loaded) {
    EXPECT_GE(fixtures().cases.size(), 30u) << "tests/unit/auth/data/fixtures.json missing or short";
    EXPECT_EQ(fixtures().secret.size(), 64u);
}

class Jose : public ::testing::TestWithParam<Fixture> {};

TEST_P(Jose, VerifiesAsExpected) {
    const Fixture& f = GetParam();
    KeySet keys = key_named(f.key);
    auto r = verify(f.token, keys, fixtures().now, f.policy);
    ASSERT_EQ(code_of(r), f.expect) << (r.ok() ? "" : r.error().detail);
    if (!r.ok()) return;
    EXPECT_EQ(r->user_id, f.user);
    if (f.check_admin) {
        EXPECT_EQ(r->admin, f.admin);
    }
    if (f.rooms >= 0) {
        EXPECT_EQ(r->rooms.size(), static_cast<size_t>(f.rooms));
    }
}

std::string fixture_name(const ::testing::TestParamInfo<Fixture>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Tokens, Jose, ::testing::ValuesIn(fixtures().cases), fixture_name);

TEST(JoseFixtures, FullClaimsDecoded) {
    for (const Fixture& f : fixtures().cases) {
        if (f.name != "es256_full") continue;
        KeySet keys = key_named("es256");
        auto r = verify(f.token, keys, fixtures().now, f.policy);
        ASSERT_TRUE(r.ok());
        EXPECT_EQ(r->name, "Bob Ünïcödé");
        EXPECT_EQ(r->rooms, (std::vector<std::string>{"site:*", "lobby"}));
        EXPECT_EQ(r->exp, fixtures().now + 3600);
        return;
    }
    FAIL() << "es256_full missing from fixtures.json";
}

// The alg-confusion fixture really is HMAC keyed with the PEM text: a server that took the RS256
// key's bytes as an HS256 secret would accept it. Outpost's RS256 KeySet refuses it by alg.
TEST(JoseFixtures, ConfusionTokenIsARealAttack) {
    std::string pem = read_text(data_path("rs256.pub.pem"));
    pem.pop_back(); // gen.mjs appends one "\n" to the file
    KeySet naive = KeySet::hs256(pem);
    int checked = 0;
    for (const Fixture& f : fixtures().cases) {
        if (f.name != "confusion_hs256_with_rsa_pem") continue;
        auto r = verify(f.token, naive, fixtures().now, Policy{});
        ASSERT_TRUE(r.ok()) << r.error().detail;
        EXPECT_TRUE(r->admin);
        EXPECT_EQ(code_of(verify(f.token, key_named("rs256"), fixtures().now, Policy{})), "token_algorithm");
        ++checked;
    }
    EXPECT_EQ(checked, 1);
}

// Every valid fixture, with one byte of its payload changed, fails the signature check.
TEST(JoseFixtures, TamperedPayloadFailsSignature) {
    int checked = 0;
    for (const Fixture& f : fixtures().cases) {
        if (f.expect != "ok") continue;
        size_t a = f.token.find('.'), b = f.token.rfind('.');
        std::string payload_json = unb64(f.token.substr(a + 1, b - a - 1));
        payload_json.replace(payload_json.find("\"iat\":1"), 7, "\"iat\":2");
        std::string t = f.token.substr(0, a + 1) + b64(payload_json) + f.token.substr(b);
        KeySet keys = key_named(f.key);
        EXPECT_EQ(code_of(verify(t, keys, fixtures().now, f.policy)), "token_signature") << f.name;
        ++checked;
    }
    EXPECT_GE(checked, 10);
}

} // namespace
} // namespace outpost::auth::test
