// validate_test.cpp - Tables for every schema rule of hub/validate.cpp: charsets and lengths of
// room names (dm: up to 132), user ids and clientIds, enums, integers, string lists, unknown and
// missing fields; each failure message must name the field.
#include <gtest/gtest.h>

#include <cjson/cJSON.h>

#include <memory>
#include <ostream>
#include <string>

#include "hub/validate.h"

namespace outpost::hub {
namespace {

// ---------------------------------------------------------------- charset predicates

struct NameCase {
    const char* what;
    std::string value;
    bool room, user, client;
};

void PrintTo(const NameCase& c, std::ostream* os) { *os << c.what; }

class Names : public ::testing::TestWithParam<NameCase> {};

TEST_P(Names, Predicates) {
    const NameCase& c = GetParam();
    EXPECT_EQ(is_room_name(c.value), c.room) << c.what << " (" << c.value.size() << " chars)";
    EXPECT_EQ(is_user_id(c.value), c.user) << c.what;
    EXPECT_EQ(is_client_id(c.value), c.client) << c.what;
}

INSTANTIATE_TEST_SUITE_P(
    Table, Names,
    ::testing::Values(
        NameCase{"empty", "", false, false, false},
        NameCase{"one_char", "a", true, true, true},
        NameCase{"all_room_punct", "a_b.c:d@e-f", true, false, true}, // ':' is not in the user-id charset
        NameCase{"all_user_punct", "a_b.c@e-f", true, true, true},
        NameCase{"digits_upper", "AZaz09", true, true, true},
        NameCase{"chars_64", std::string(64, 'u'), true, true, true},
        NameCase{"chars_65", std::string(65, 'u'), true, false, false},
        NameCase{"chars_100", std::string(100, 'r'), true, false, false},
        NameCase{"chars_101", std::string(101, 'r'), false, false, false},
        NameCase{"space", "a b", false, false, true},
        NameCase{"slash", "a/b", false, false, true},
        NameCase{"hash", "a#b", false, false, true},
        NameCase{"plus", "a+b", false, false, true},
        NameCase{"tab", "a\tb", false, false, false},
        NameCase{"newline", "a\n", false, false, false},
        NameCase{"del", "a\x7f", false, false, false},
        NameCase{"nul", std::string("a\0b", 3), false, false, false},
        NameCase{"utf8", "caf\xc3\xa9", false, false, false},
        NameCase{"tilde_printable", "~!\"'", false, false, true},
        NameCase{"dm_100", "dm:" + std::string(97, 'x'), true, false, false},
        NameCase{"dm_101", "dm:" + std::string(98, 'x'), true, false, false},
        NameCase{"dm_132", "dm:" + std::string(64, 'a') + ":" + std::string(64, 'b'), true, false, false},
        NameCase{"dm_133", "dm:" + std::string(65, 'a') + ":" + std::string(64, 'b'), false, false, false},
        NameCase{"dm_bad_char", "dm:a:b c", false, false, true},
        NameCase{"DM_upper_101", "DM:" + std::string(98, 'x'), false, false, false},
        NameCase{"user_prefix_101", "user:" + std::string(96, 'x'), false, false, false}),
    [](const auto& p) { return std::string(p.param.what); });

TEST(Reserved, Prefixes) {
    EXPECT_TRUE(is_reserved_room("user:bob"));
    EXPECT_TRUE(is_reserved_room("dm:a:b"));
    EXPECT_TRUE(is_reserved_room("system:x"));
    EXPECT_TRUE(is_reserved_room("user:"));
    EXPECT_FALSE(is_reserved_room("users:bob"));
    EXPECT_FALSE(is_reserved_room("lobby"));
    EXPECT_FALSE(is_reserved_room("a:user:b"));
    EXPECT_FALSE(is_reserved_room("User:bob"));
}

// ---------------------------------------------------------------- validate()

const char* const kColors[] = {"red", "green", "blue", nullptr};
const Field kFields[] = {
    {"room", FieldType::string, false, Rule::room_name},
    {"userId", FieldType::string, false, Rule::user_id},
    {"clientId", FieldType::string, false, Rule::client_id},
    {"color", FieldType::string, false, Rule::one_of, 0, 0, kColors},
    {"seq", FieldType::integer, false, Rule::none, 0, int64_t(1) << 53},
    {"limit", FieldType::integer, false, Rule::none, 1, 100},
    {"offset", FieldType::integer, false, Rule::none, 0, 0}, // max 0: no upper bound
    {"active", FieldType::boolean, false},
    {"body", FieldType::any, false},
    {"text", FieldType::string, false, Rule::none, 1, 10},
    {"note", FieldType::string, false}, // no length rule
    {"userIds", FieldType::string_list, false, Rule::user_id, 1, 100},
    {"need", FieldType::string, true},
};
const Schema kSchema{kFields, sizeof kFields / sizeof kFields[0]};

std::string list_of(int n, const std::string& item = "\"u\"") {
    std::string s = "[";
    for (int i = 0; i < n; ++i) s += (i ? "," : "") + item;
    return s + "]";
}

struct ValidateCase {
    const char* what;
    std::string json;       // members after "need" (or a whole non-object document when starting with '!')
    const char* message;    // nullptr: valid
};

void PrintTo(const ValidateCase& c, std::ostream* os) { *os << c.what; }

class Validate : public ::testing::TestWithParam<ValidateCase> {};

TEST_P(Validate, MessageNamesTheField) {
    const ValidateCase& c = GetParam();
    std::string doc = c.json.rfind("!", 0) == 0 ? c.json.substr(1) : "{\"need\":\"x\"" + (c.json.empty() ? "" : "," + c.json) + "}";
    std::unique_ptr<cJSON, void (*)(cJSON*)> j(cJSON_Parse(doc.c_str()), cJSON_Delete);
    ASSERT_TRUE(j) << "bad test JSON: " << doc;
    std::string msg = "untouched";
    bool ok = validate(kSchema, j.get(), msg);
    if (!c.message) {
        EXPECT_TRUE(ok) << c.what << ": " << msg;
    } else {
        EXPECT_FALSE(ok) << c.what;
        EXPECT_EQ(msg, c.message) << c.what << " doc=" << doc;
    }
}

INSTANTIATE_TEST_SUITE_P(
    Table, Validate,
    ::testing::Values(
        ValidateCase{"only_required", "", nullptr},
        ValidateCase{"room_1", R"("room":"a")", nullptr},
        ValidateCase{"room_100", "\"room\":\"" + std::string(100, 'a') + "\"", nullptr},
        ValidateCase{"room_101", "\"room\":\"" + std::string(101, 'a') + "\"", "room: expected 1-100 chars of [A-Za-z0-9_.:@-]"},
        ValidateCase{"room_empty", R"("room":"")", "room: expected 1-100 chars of [A-Za-z0-9_.:@-]"},
        ValidateCase{"room_space", R"("room":"a b")", "room: expected 1-100 chars of [A-Za-z0-9_.:@-]"},
        ValidateCase{"room_slash", R"("room":"a/b")", "room: expected 1-100 chars of [A-Za-z0-9_.:@-]"},
        ValidateCase{"room_utf8", R"("room":"caf\u00e9")", "room: expected 1-100 chars of [A-Za-z0-9_.:@-]"},
        ValidateCase{"room_dm_132", "\"room\":\"dm:" + std::string(64, 'a') + ":" + std::string(64, 'b') + "\"", nullptr},
        ValidateCase{"room_dm_133", "\"room\":\"dm:" + std::string(129, 'a') + ":\"", "room: expected 1-100 chars of [A-Za-z0-9_.:@-]"},
        ValidateCase{"room_number", R"("room":5)", "room: expected a string"},
        ValidateCase{"room_null", R"("room":null)", "room: expected a string"},
        ValidateCase{"user_64", "\"userId\":\"" + std::string(64, 'u') + "\"", nullptr},
        ValidateCase{"user_65", "\"userId\":\"" + std::string(65, 'u') + "\"", "userId: expected 1-64 chars of [A-Za-z0-9_.@-]"},
        ValidateCase{"user_colon", R"("userId":"a:b")", "userId: expected 1-64 chars of [A-Za-z0-9_.@-]"},
        ValidateCase{"user_empty", R"("userId":"")", "userId: expected 1-64 chars of [A-Za-z0-9_.@-]"},
        ValidateCase{"client_space_ok", R"("clientId":"a b~")", nullptr},
        ValidateCase{"client_64", "\"clientId\":\"" + std::string(64, 'c') + "\"", nullptr},
        ValidateCase{"client_65", "\"clientId\":\"" + std::string(65, 'c') + "\"", "clientId: expected 1-64 printable ASCII chars"},
        ValidateCase{"client_empty", R"("clientId":"")", "clientId: expected 1-64 printable ASCII chars"},
        ValidateCase{"client_tab", R"("clientId":"a\tb")", "clientId: expected 1-64 printable ASCII chars"},
        ValidateCase{"client_utf8", R"("clientId":"\u00e9")", "clientId: expected 1-64 printable ASCII chars"},
        ValidateCase{"enum_ok", R"("color":"green")", nullptr},
        ValidateCase{"enum_bad", R"("color":"Green")", "color: expected one of red, green, blue"},
        ValidateCase{"enum_not_string", R"("color":1)", "color: expected a string"},
        ValidateCase{"int_ok", R"("seq":42)", nullptr},
        ValidateCase{"int_zero", R"("seq":0)", nullptr},
        ValidateCase{"int_max", R"("seq":9007199254740992)", nullptr},
        ValidateCase{"int_max_plus", R"("seq":9007199254740994)", "seq: expected an integer from 0 to 9007199254740992"},
        ValidateCase{"int_fraction", R"("seq":1.5)", "seq: expected an integer"},
        ValidateCase{"int_string", R"("seq":"1")", "seq: expected an integer"},
        ValidateCase{"int_bool", R"("seq":true)", "seq: expected an integer"},
        ValidateCase{"int_1e20", R"("seq":1e20)", "seq: expected an integer from 0 to 9007199254740992"},
        ValidateCase{"int_negative", R"("seq":-1)", "seq: expected an integer from 0 to 9007199254740992"},
        ValidateCase{"int_exp_integral", R"("seq":1e3)", nullptr},
        ValidateCase{"limit_0", R"("limit":0)", "limit: expected an integer from 1 to 100"},
        ValidateCase{"limit_100", R"("limit":100)", nullptr},
        ValidateCase{"limit_101", R"("limit":101)", "limit: expected an integer from 1 to 100"},
        ValidateCase{"no_upper_bound", R"("offset":1e15)", nullptr},
        ValidateCase{"bool_ok", R"("active":false)", nullptr},
        ValidateCase{"bool_number", R"("active":1)", "active: expected a boolean"},
        ValidateCase{"bool_string", R"("active":"true")", "active: expected a boolean"},
        ValidateCase{"any_object", R"("body":{"a":[1,null]})", nullptr},
        ValidateCase{"any_null", R"("body":null)", nullptr},
        ValidateCase{"len_10", R"("text":"0123456789")", nullptr},
        ValidateCase{"len_11", R"("text":"0123456789a")", "text: expected 1-10 chars"},
        ValidateCase{"len_0", R"("text":"")", "text: expected 1-10 chars"},
        ValidateCase{"unbounded_string", "\"note\":\"" + std::string(5000, 'n') + "\"", nullptr},
        ValidateCase{"list_1", R"("userIds":["a"])", nullptr},
        ValidateCase{"list_100", "\"userIds\":" + list_of(100), nullptr},
        ValidateCase{"list_101", "\"userIds\":" + list_of(101), "userIds: expected 1-100 entries, got 101"},
        ValidateCase{"list_empty", R"("userIds":[])", "userIds: expected 1-100 entries, got 0"},
        ValidateCase{"list_not_array", R"("userIds":"a")", "userIds: expected an array of strings"},
        ValidateCase{"list_object", R"("userIds":{"a":1})", "userIds: expected an array of strings"},
        ValidateCase{"list_non_string", R"("userIds":["a",2])", "userIds: entry 1 is not a string"},
        ValidateCase{"list_null_entry", R"("userIds":[null])", "userIds: entry 0 is not a string"},
        ValidateCase{"list_bad_id", R"("userIds":["a","b","c d"])", "userIds: entry 2 expected 1-64 chars of [A-Za-z0-9_.@-]"},
        ValidateCase{"unknown_field", R"("room":"a","colour":"red")", "colour: unknown field"},
        ValidateCase{"unknown_before_type_error", R"("x":1,"seq":"bad")", "x: unknown field"},
        ValidateCase{"case_matters", R"("Room":"a")", "Room: unknown field"},
        ValidateCase{"missing_required", R"!(!{"room":"a"})!", "need: required, expected a string"},
        ValidateCase{"required_wrong_type", R"!(!{"need":1})!", "need: expected a string"},
        ValidateCase{"not_object_array", "![1,2]", "payload: expected an object"},
        ValidateCase{"not_object_string", "!\"x\"", "payload: expected an object"},
        ValidateCase{"not_object_null", "!null", "payload: expected an object"}),
    [](const auto& p) { return std::string(p.param.what); });

TEST(Validate, NullPayloadIsNotAnObject) {
    std::string msg;
    EXPECT_FALSE(validate(kSchema, nullptr, msg));
    EXPECT_EQ(msg, "payload: expected an object");
}

TEST(Validate, EmptySchemaAcceptsOnlyTheEmptyObject) {
    const Schema empty{nullptr, 0};
    std::unique_ptr<cJSON, void (*)(cJSON*)> ok(cJSON_Parse("{}"), cJSON_Delete);
    std::unique_ptr<cJSON, void (*)(cJSON*)> bad(cJSON_Parse("{\"a\":1}"), cJSON_Delete);
    std::string msg;
    EXPECT_TRUE(validate(empty, ok.get(), msg));
    EXPECT_FALSE(validate(empty, bad.get(), msg));
    EXPECT_EQ(msg, "a: unknown field");
}

} // namespace
} // namespace outpost::hub
