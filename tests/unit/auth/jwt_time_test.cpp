// jwt_time_test.cpp - Table: exp/nbf/iat types and leeway boundaries, and the unsynced-clock modes.
#include <gtest/gtest.h>

#include <climits>

#include "auth_test_util.h"

namespace outpost::auth::test {
namespace {

constexpr int64_t T = kNow; // the instant each claim names
constexpr int64_t L = 30;   // default leeway

struct Case {
    std::string name;
    std::string claims; // members after "sub"
    int64_t now;
    std::string expect;
    Policy policy{};
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

std::string at(const char* claim, int64_t v) { return std::string(",\"") + claim + "\":" + std::to_string(v); }
std::string raw(const char* claim, std::string_view json) { return std::string(",\"") + claim + "\":" + std::string(json); }

Policy leeway(int64_t s) {
    Policy p;
    p.leeway_s = s;
    return p;
}

Policy no_exp_needed() {
    Policy p;
    p.require_exp = false;
    return p;
}

Policy unsynced(UnsyncedClock mode) {
    Policy p;
    p.clock_unsynced = true;
    p.unsynced_mode = mode;
    return p;
}

std::vector<Case> cases() {
    std::string exp_ok = at("exp", T + 3600);
    return {
        // exp: refused when now >= exp + leeway.
        {"exp_at_leeway_boundary", at("exp", T), T + L, "token_expired"},
        {"exp_one_second_inside", at("exp", T), T + L - 1, "ok"},
        {"exp_one_second_outside", at("exp", T), T + L + 1, "token_expired"},
        {"exp_zero_leeway_at_exp", at("exp", T), T, "token_expired", leeway(0)},
        {"exp_zero_leeway_before", at("exp", T), T - 1, "ok", leeway(0)},
        {"exp_negative_leeway_is_zero", at("exp", T), T - 1, "ok", leeway(-100)},
        {"exp_fraction_rounds_down", raw("exp", std::to_string(T) + ".9"), T + L, "token_expired"},
        {"exp_zero", at("exp", 0), T, "token_expired"},
        {"exp_2pow53", at("exp", 9007199254740992), T, "ok"},
        {"exp_above_2pow53", raw("exp", "9007199254740994"), T, "token_claims"},
        {"exp_1e300", raw("exp", "1e300"), T, "token_claims"},
        {"exp_1e309_is_inf", raw("exp", "1e309"), T, "token_claims"},
        {"exp_minus_1e309", raw("exp", "-1e309"), T, "token_claims"},
        {"exp_negative", at("exp", -1), T, "token_claims"},
        {"exp_string", raw("exp", "\"" + std::to_string(T + 3600) + "\""), T, "token_claims"},
        {"exp_true", raw("exp", "true"), T, "token_claims"},
        {"exp_null", raw("exp", "null"), T, "token_claims"},
        {"exp_object", raw("exp", "{}"), T, "token_claims"},
        {"exp_array", raw("exp", "[1]"), T, "token_claims"},
        {"exp_missing", "", T, "token_claims"},
        {"exp_missing_allowed", "", T, "ok", no_exp_needed()},
        {"exp_bad_even_when_optional", raw("exp", "\"x\""), T, "token_claims", no_exp_needed()},
        {"exp_now_int64_max", at("exp", T), INT64_MAX, "token_expired"},
        {"exp_now_int64_min", at("exp", T), INT64_MIN, "ok"},
        {"exp_huge_leeway_is_clamped", at("exp", T), T + 86401, "token_expired", leeway(INT64_MAX)},
        // nbf: refused when now + leeway < nbf.
        {"nbf_at_leeway_boundary", exp_ok + at("nbf", T), T - L, "ok"},
        {"nbf_one_second_inside", exp_ok + at("nbf", T), T - L + 1, "ok"},
        {"nbf_one_second_outside", exp_ok + at("nbf", T), T - L - 1, "token_not_yet_valid"},
        {"nbf_zero_leeway", exp_ok + at("nbf", T), T - 1, "token_not_yet_valid", leeway(0)},
        {"nbf_fraction_rounds_up", exp_ok + raw("nbf", std::to_string(T) + ".1"), T - L, "token_not_yet_valid"},
        {"nbf_string", exp_ok + raw("nbf", "\"0\""), T, "token_claims"},
        {"nbf_negative", exp_ok + at("nbf", -5), T, "token_claims"},
        {"nbf_1e309", exp_ok + raw("nbf", "1e309"), T, "token_claims"},
        // iat: in the future beyond leeway -> not yet valid.
        {"iat_at_leeway_boundary", exp_ok + at("iat", T), T - L, "ok"},
        {"iat_one_second_inside", exp_ok + at("iat", T), T - L + 1, "ok"},
        {"iat_one_second_outside", exp_ok + at("iat", T), T - L - 1, "token_not_yet_valid"},
        {"iat_past", exp_ok + at("iat", T - 86400), T, "ok"},
        {"iat_string", exp_ok + raw("iat", "\"now\""), T, "token_claims"},
        {"iat_negative", exp_ok + at("iat", -1), T, "token_claims"},
        // Unsynced clock (wall clock before the build date).
        {"unsynced_reject_exp", exp_ok, T, "token_not_yet_valid", unsynced(UnsyncedClock::reject)},
        {"unsynced_reject_nbf_only", at("nbf", 0), T, "token_not_yet_valid",
         [] { Policy p = unsynced(UnsyncedClock::reject); p.require_exp = false; return p; }()},
        {"unsynced_reject_untimed_ok", "", T, "ok",
         [] { Policy p = unsynced(UnsyncedClock::reject); p.require_exp = false; return p; }()},
        {"unsynced_skip_expired_ok", at("exp", 1000), T, "ok", unsynced(UnsyncedClock::skip_time_checks)},
        {"unsynced_skip_future_nbf_ok", exp_ok + at("nbf", T + 99999), T, "ok", unsynced(UnsyncedClock::skip_time_checks)},
        {"unsynced_skip_still_types", raw("exp", "\"x\""), T, "token_claims", unsynced(UnsyncedClock::skip_time_checks)},
        {"unsynced_skip_still_requires_exp", "", T, "token_claims", unsynced(UnsyncedClock::skip_time_checks)},
        {"synced_expired_refused", at("exp", 1000), T, "token_expired"},
    };
}

class Times : public ::testing::TestWithParam<Case> {};

TEST_P(Times, ExactCode) {
    const Case& c = GetParam();
    KeySet keys = KeySet::hs256(kSecret);
    auto r = verify(hs_token(R"({"sub":"alice")" + c.claims + "}"), keys, c.now, c.policy);
    EXPECT_EQ(code_of(r), c.expect) << (r.ok() ? "" : r.error().detail);
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Claims, Times, ::testing::ValuesIn(cases()), case_name);

TEST(Times, ExpIsReported) {
    KeySet keys = KeySet::hs256(kSecret);
    auto r = verify(hs_token(R"({"sub":"a","exp":1700000123.75})"), keys, T, Policy{});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->exp, 1700000123);
    Policy p = no_exp_needed();
    auto none = verify(hs_token(R"({"sub":"a"})"), keys, T, p);
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none->exp.has_value());
}

TEST(Times, PolicyFromSettings) {
    settings::Auth a;
    a.leeway_s = 5;
    a.require_exp = false;
    a.issuer = "i";
    a.audience = "a";
    a.unsynced_clock = "skip_time_checks";
    Policy p = policy_from_settings(a);
    EXPECT_EQ(p.leeway_s, 5);
    EXPECT_FALSE(p.require_exp);
    EXPECT_EQ(p.issuer, "i");
    EXPECT_EQ(p.audience, "a");
    EXPECT_FALSE(p.clock_unsynced);
    EXPECT_EQ(p.unsynced_mode, UnsyncedClock::skip_time_checks);
    EXPECT_EQ(policy_from_settings(settings::Auth{}).unsynced_mode, UnsyncedClock::reject);
}

TEST(Times, ClockBeforeBuildDateIsUnsynced) {
    EXPECT_TRUE(clock_looks_unsynced(0));
    EXPECT_TRUE(clock_looks_unsynced(1600000000));
    EXPECT_FALSE(clock_looks_unsynced(4102444800)); // 2100-01-01
}

} // namespace
} // namespace outpost::auth::test
