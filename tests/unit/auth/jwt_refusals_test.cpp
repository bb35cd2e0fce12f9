// jwt_refusals_test.cpp - Table: hand-built HS256 tokens and the exact AuthCode verify() returns.
#include <gtest/gtest.h>

#include <vector>

#include "auth_test_util.h"

namespace outpost::auth::test {
namespace {

struct Case {
    std::string name;
    std::string token;
    std::string expect; // "ok" or an AuthCode name
    Policy policy{};
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

const std::string kHeader = R"({"alg":"HS256","typ":"JWT"})";

// A valid token with its last signature character changed (bits that decode canonically).
std::string flip_signature(std::string t) {
    t.back() = t.back() == 'A' ? 'Q' : 'A';
    return t;
}

Policy with_issuer_audience() {
    Policy p;
    p.issuer = "https://issuer.example";
    p.audience = "outpost";
    return p;
}

// Re-signs nothing: decodes the signature, lets `edit` change its bytes, encodes it again.
template <class Edit>
std::string edit_signature(const std::string& t, Edit edit) {
    size_t dot = t.rfind('.');
    std::string sig = unb64(t.substr(dot + 1));
    edit(sig);
    return t.substr(0, dot + 1) + b64(sig);
}

// Adds 1 to the last base64url character: with spare low bits this makes the input non-canonical.
std::string bump_last_char(std::string s) {
    static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    s.back() = kAlphabet[(kAlphabet.find(s.back()) + 1) % 64];
    return s;
}

std::string alg_header(std::string_view alg_json) { return std::string(R"({"typ":"JWT","alg":)") + std::string(alg_json) + "}"; }

std::vector<Case> structure_cases() {
    std::string good = hs_token(payload());
    std::string h = b64(kHeader), p = b64(payload());
    return {
        {"empty", "", "token_missing"},
        {"three_empty_parts", "..", "token_malformed"},
        {"one_part", "abc", "token_malformed"},
        {"two_parts", h + "." + p, "token_malformed"},
        {"four_parts", good + ".x", "token_malformed"},
        {"empty_header", "." + p + ".c2ln", "token_malformed"},
        {"empty_payload", h + "..c2ln", "token_malformed"},
        {"empty_signature", h + "." + p + ".", "token_malformed"},
        {"over_8k", hs_token(payload(",\"pad\":\"" + std::string(8200, 'x') + "\"")), "token_malformed"},
        {"header_padded", h + "=." + p + "." + good.substr(good.rfind('.') + 1), "token_malformed"},
        {"header_std_alphabet", "+" + h.substr(1) + "." + p + ".c2ln", "token_malformed"},
        {"header_not_canonical", bump_last_char(b64(R"({"alg":"HS256" })")) + "." + p + ".c2ln", "token_malformed"},
        {"signature_not_canonical", bump_last_char(good), "token_malformed"},
        {"signature_bad_b64", h + "." + p + ".ab$d", "token_malformed"},
        {"signature_padded", good + "=", "token_malformed"},
        {"trailing_newline", good + "\n", "token_malformed"},
        {"leading_space", " " + good, "token_malformed"},
        {"header_not_json", sign_hs256("alg=HS256", payload()), "token_malformed"},
        {"header_array", sign_hs256(R"(["HS256"])", payload()), "token_malformed"},
        {"header_string", sign_hs256(R"("HS256")", payload()), "token_malformed"},
        {"header_null", sign_hs256("null", payload()), "token_malformed"},
        {"header_trailing_garbage", sign_hs256(kHeader + "x", payload()), "token_malformed"},
        {"header_two_objects", sign_hs256(kHeader + "{}", payload()), "token_malformed"},
        {"header_raw_nul", sign_hs256(kHeader + std::string(1, '\0'), payload()), "token_malformed"},
        {"payload_not_json", hs_token("sub=alice"), "token_malformed"},
        {"payload_array", hs_token("[1,2]"), "token_malformed"},
        {"payload_number", hs_token("42"), "token_malformed"},
        {"payload_truncated", hs_token(payload().substr(0, 20)), "token_malformed"},
        {"dup_header_alg", sign_hs256(R"({"alg":"HS256","alg":"none"})", payload()), "token_malformed"},
        {"dup_payload_sub", hs_token(payload(R"(,"sub":"admin")")), "token_malformed"},
        {"dup_nested", hs_token(payload(R"(,"x":{"a":1,"b":{"c":1,"c":2}})")), "token_malformed"},
        {"dup_in_array", hs_token(payload(R"(,"x":[{"a":1},{"b":1,"b":1}])")), "token_malformed"},
        {"dup_escaped_same_name", hs_token(payload(R"(,"s\u0075b":"bob")")), "token_malformed"},
        {"names_differ_in_case", hs_token(payload(R"(,"Sub":"bob")")), "ok"},
        {"crit", sign_hs256(R"({"alg":"HS256","crit":["exp"]})", payload()), "token_malformed"},
        {"crit_empty", sign_hs256(R"({"alg":"HS256","crit":[]})", payload()), "token_malformed"},
        {"kid_10k", sign_hs256(R"({"alg":"HS256","kid":")" + std::string(10240, 'k') + "\"}", payload()), "token_malformed"},
        {"kid_dotdot", sign_hs256(R"({"alg":"HS256","kid":"../../../../etc/passwd"})", payload()), "ok"},
        {"kid_escaped_nul", sign_hs256(R"({"alg":"HS256","kid":"\u0000"})", payload()), "ok"},
        {"kid_object", sign_hs256(R"({"alg":"HS256","kid":{"path":"/dev/zero"}})", payload()), "ok"},
        {"jku_ignored", sign_hs256(R"({"alg":"HS256","jku":"http://127.0.0.1:1/k"})", payload()), "ok"},
    };
}

std::vector<Case> algorithm_cases() {
    std::string good = hs_token(payload());
    std::string p = b64(payload());
    return {
        {"alg_none_unsigned", b64(alg_header(R"("none")")) + "." + p + ".", "token_algorithm"},
        {"alg_none_signed", sign_hs256(alg_header(R"("none")"), payload()), "token_algorithm"},
        {"alg_None", sign_hs256(alg_header(R"("None")"), payload()), "token_algorithm"},
        {"alg_NONE", sign_hs256(alg_header(R"("NONE")"), payload()), "token_algorithm"},
        {"alg_empty", sign_hs256(alg_header(R"("")"), payload()), "token_algorithm"},
        {"alg_lowercase", sign_hs256(alg_header(R"("hs256")"), payload()), "token_algorithm"},
        {"alg_hs384", sign_hs256(alg_header(R"("HS384")"), payload()), "token_algorithm"},
        {"alg_rs256", sign_hs256(alg_header(R"("RS256")"), payload()), "token_algorithm"},
        {"alg_trailing_space", sign_hs256(alg_header(R"("HS256 ")"), payload()), "token_algorithm"},
        {"alg_escaped_nul", sign_hs256(alg_header(R"("HS256\u0000")"), payload()), "token_algorithm"},
        {"alg_number", sign_hs256(alg_header("256"), payload()), "token_algorithm"},
        {"alg_null", sign_hs256(alg_header("null"), payload()), "token_algorithm"},
        {"alg_array", sign_hs256(alg_header(R"(["HS256"])"), payload()), "token_algorithm"},
        {"alg_missing", sign_hs256(R"({"typ":"JWT"})", payload()), "token_algorithm"},
        {"alg_wrong_case_member", sign_hs256(R"({"ALG":"HS256"})", payload()), "token_algorithm"},
        {"signature_flipped", flip_signature(good), "token_signature"},
        {"signature_31_bytes", edit_signature(good, [](std::string& sig) { sig.pop_back(); }), "token_signature"},
        {"signature_33_bytes", edit_signature(good, [](std::string& sig) { sig += '\0'; }), "token_signature"},
        {"signature_other_secret", sign_hs256(kHeader, payload(), "another-secret-another-secret-xx"), "token_signature"},
        {"signature_of_other_payload", b64(kHeader) + "." + b64(payload(R"(,"role":"admin")")) +
                                           good.substr(good.rfind('.')), "token_signature"},
        {"signature_twice", edit_signature(good, [](std::string& sig) { sig += sig; }), "token_signature"},
    };
}

std::vector<Case> claim_cases() {
    std::string exp = std::to_string(kNow + 3600);
    auto claims = [&](std::string_view body) { return hs_token(std::string("{\"exp\":") + exp + std::string(body) + "}"); };
    return {
        {"sub_missing", claims(""), "token_claims"},
        {"sub_number", claims(R"(,"sub":42)"), "token_claims"},
        {"sub_null", claims(R"(,"sub":null)"), "token_claims"},
        {"sub_empty", claims(R"(,"sub":"")"), "token_claims"},
        {"sub_64", claims(R"(,"sub":")" + std::string(64, 'a') + "\""), "ok"},
        {"sub_65", claims(R"(,"sub":")" + std::string(65, 'a') + "\""), "token_claims"},
        {"sub_space", claims(R"(,"sub":"al ice")"), "token_claims"},
        {"sub_colon", claims(R"(,"sub":"a:b")"), "token_claims"},
        {"sub_unicode", claims(R"(,"sub":"\u00e9")"), "token_claims"},
        {"sub_escaped_nul", claims(R"(,"sub":"alice\u0000admin")"), "token_claims"},
        {"sub_all_chars", claims(R"(,"sub":"Az09_.@-")"), "ok"},
        {"sub_system", claims(R"(,"sub":"system")"), "token_claims"},
        {"sub_System_is_not_reserved", claims(R"(,"sub":"System")"), "ok"},
        {"userId_only", claims(R"(,"userId":"carol")"), "ok"},
        {"userId_number", claims(R"(,"userId":7)"), "token_claims"},
        {"userId_system", claims(R"(,"userId":"system")"), "token_claims"},
        {"sub_wins_even_if_bad", claims(R"(,"sub":"bad id","userId":"carol")"), "token_claims"},
        {"member_name_with_nul_is_not_sub", claims(R"(,"sub\u0000":"alice")"), "token_claims"},
        {"rooms_string", claims(R"(,"sub":"a","rooms":"lobby")"), "token_claims"},
        {"rooms_number_item", claims(R"(,"sub":"a","rooms":["lobby",3])"), "token_claims"},
        {"rooms_bad_pattern", claims(R"(,"sub":"a","rooms":["lob by"])"), "token_claims"},
        {"rooms_star_middle", claims(R"(,"sub":"a","rooms":["a*b"])"), "token_claims"},
        {"rooms_empty_item", claims(R"(,"sub":"a","rooms":[""])"), "token_claims"},
        {"rooms_null", claims(R"(,"sub":"a","rooms":null)"), "token_claims"},
        {"rooms_ok", claims(R"(,"sub":"a","rooms":["*","site:*","lobby"])"), "ok"},
        {"rooms_empty_list", claims(R"(,"sub":"a","rooms":[])"), "ok"},
        {"name_number", claims(R"(,"sub":"a","name":1)"), "token_claims"},
        {"name_128", claims(R"(,"sub":"a","name":")" + std::string(128, 'n') + "\""), "ok"},
        {"name_129", claims(R"(,"sub":"a","name":")" + std::string(129, 'n') + "\""), "token_claims"},
        {"name_control", claims(R"(,"sub":"a","name":"a\nb")"), "token_claims"},
        {"name_escaped_nul", claims(R"(,"sub":"a","name":"a\u0000b")"), "token_claims"},
        {"name_raw_invalid_utf8", claims(",\"sub\":\"a\",\"name\":\"a\xff\""), "token_claims"},
        {"name_raw_overlong_utf8", claims(",\"sub\":\"a\",\"name\":\"\xc0\xaf\""), "token_claims"},
        {"name_utf8", claims(R"(,"sub":"a","name":"Zoë 東京 🚀")"), "ok"},
        {"role_not_string_is_user", claims(R"(,"sub":"a","role":["admin"])"), "ok"},
        {"iss_missing", claims(R"(,"sub":"a","aud":"outpost")"), "token_issuer", with_issuer_audience()},
        {"iss_wrong", claims(R"(,"sub":"a","iss":"https://evil.example","aud":"outpost")"), "token_issuer",
         with_issuer_audience()},
        {"iss_prefix", claims(R"(,"sub":"a","iss":"https://issuer.example/","aud":"outpost")"), "token_issuer",
         with_issuer_audience()},
        {"iss_number", claims(R"(,"sub":"a","iss":1,"aud":"outpost")"), "token_issuer", with_issuer_audience()},
        {"aud_missing", claims(R"(,"sub":"a","iss":"https://issuer.example")"), "token_audience", with_issuer_audience()},
        {"aud_wrong", claims(R"(,"sub":"a","iss":"https://issuer.example","aud":"other")"), "token_audience",
         with_issuer_audience()},
        {"aud_array_without", claims(R"(,"sub":"a","iss":"https://issuer.example","aud":["x","y"])"), "token_audience",
         with_issuer_audience()},
        {"aud_array_with", claims(R"(,"sub":"a","iss":"https://issuer.example","aud":["x","outpost"])"), "ok",
         with_issuer_audience()},
        {"aud_array_non_string", claims(R"(,"sub":"a","iss":"https://issuer.example","aud":["outpost",1])"),
         "token_claims", with_issuer_audience()},
        {"aud_number", claims(R"(,"sub":"a","iss":"https://issuer.example","aud":1)"), "token_claims",
         with_issuer_audience()},
        {"iss_aud_ok", claims(R"(,"sub":"a","iss":"https://issuer.example","aud":"outpost")"), "ok", with_issuer_audience()},
        {"iss_aud_unchecked_by_default", claims(R"(,"sub":"a","iss":"x","aud":5)"), "ok"},
    };
}

class Refusals : public ::testing::TestWithParam<Case> {};

TEST_P(Refusals, ExactCode) {
    const Case& c = GetParam();
    KeySet keys = KeySet::hs256(kSecret);
    VerifyResult r = verify(c.token, keys, kNow, c.policy);
    EXPECT_EQ(code_of(r), c.expect) << (r.ok() ? "" : r.error().detail);
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Structure, Refusals, ::testing::ValuesIn(structure_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Algorithm, Refusals, ::testing::ValuesIn(algorithm_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Claims, Refusals, ::testing::ValuesIn(claim_cases()), case_name);

TEST(Verify, SizeLimitIsExactly8KiB) {
    auto padded = [](size_t n) { return hs_token(payload(",\"pad\":\"" + std::string(n, 'x') + "\"")); };
    size_t n = kMaxTokenBytes * 3 / 4;
    while (padded(n).size() > kMaxTokenBytes) --n;
    KeySet keys = KeySet::hs256(kSecret);
    std::string at = padded(n), over = padded(n + 3);
    ASSERT_GT(at.size(), kMaxTokenBytes - 4);
    ASSERT_GT(over.size(), kMaxTokenBytes);
    EXPECT_EQ(code_of(verify(at, keys, kNow, Policy{})), "ok");
    EXPECT_EQ(code_of(verify(over, keys, kNow, Policy{})), "token_malformed");
}

TEST(Verify, IdentityFromClaims) {
    KeySet keys = KeySet::hs256(kSecret);
    auto r = verify(hs_token(payload(R"(,"name":"Alice A.","role":"admin","rooms":["site:*","lobby"])")), keys, kNow, Policy{});
    ASSERT_TRUE(r.ok()) << r.error().detail;
    EXPECT_EQ(r->user_id, "alice");
    EXPECT_EQ(r->name, "Alice A.");
    EXPECT_TRUE(r->admin);
    EXPECT_TRUE(r->has_rooms_claim);
    EXPECT_EQ(r->rooms, (std::vector<std::string>{"site:*", "lobby"}));
    EXPECT_EQ(r->exp, kNow + 3600);
}

TEST(Verify, OrdinaryUserWithoutOptionalClaims) {
    KeySet keys = KeySet::hs256(kSecret);
    for (std::string_view role : {R"(,"role":"Admin")", R"(,"role":"user")", ""}) {
        auto r = verify(hs_token(payload(role)), keys, kNow, Policy{});
        ASSERT_TRUE(r.ok());
        EXPECT_FALSE(r->admin) << role;
        EXPECT_FALSE(r->has_rooms_claim);
        EXPECT_TRUE(r->name.empty());
    }
}

TEST(Verify, UserIdUsedWhenNoSub) {
    KeySet keys = KeySet::hs256(kSecret);
    auto r = verify(hs_token(R"({"userId":"carol","exp":)" + std::to_string(kNow + 60) + "}"), keys, kNow, Policy{});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->user_id, "carol");
    auto both = verify(hs_token(payload(R"(,"userId":"carol")")), keys, kNow, Policy{});
    ASSERT_TRUE(both.ok());
    EXPECT_EQ(both->user_id, "alice");
}

TEST(Verify, DetailNeverEchoesClaimValues) {
    KeySet keys = KeySet::hs256(kSecret);
    auto r = verify(hs_token(payload(R"(,"name":"SECRET-VALUE-)" + std::string(200, 'z') + "\"")), keys, kNow, Policy{});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().detail.find("SECRET-VALUE"), std::string::npos);
}

TEST(AuthCodes, NamesAndMessages) {
    struct Row {
        AuthCode code;
        const char* name;
        const char* message;
    };
    const Row rows[] = {
        {AuthCode::token_missing, "token_missing", "token missing"},
        {AuthCode::token_malformed, "token_malformed", "token malformed"},
        {AuthCode::token_signature, "token_signature", "token signature invalid"},
        {AuthCode::token_algorithm, "token_algorithm", "token algorithm not accepted"},
        {AuthCode::token_expired, "token_expired", "token expired"},
        {AuthCode::token_not_yet_valid, "token_not_yet_valid", "token not yet valid"},
        {AuthCode::token_issuer, "token_issuer", "token issuer not accepted"},
        {AuthCode::token_audience, "token_audience", "token audience not accepted"},
        {AuthCode::token_claims, "token_claims", "token claims invalid"},
    };
    for (const Row& row : rows) {
        EXPECT_EQ(auth_code_name(row.code), row.name);
        EXPECT_EQ(auth_code_message(row.code), row.message);
    }
}

} // namespace
} // namespace outpost::auth::test
