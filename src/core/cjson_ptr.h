// cjson_ptr.h - Owning pointers for what cJSON allocates: a parsed or built tree, and printed text.
// Owns: the one place that says how cJSON memory is freed. Never: parses or prints itself
// (callers use cJSON for parsing; core/json_writer.h writes JSON).
#pragma once

#include <memory>

#include <cjson/cJSON.h>

namespace outpost::core {

struct CJsonDelete {
    void operator()(cJSON* j) const { cJSON_Delete(j); }
};
struct CJsonFree {
    void operator()(char* text) const { cJSON_free(text); }
};

using CJsonPtr = std::unique_ptr<cJSON, CJsonDelete>; // from cJSON_Parse*, cJSON_Create*
using CJsonText = std::unique_ptr<char, CJsonFree>;   // from cJSON_Print*

} // namespace outpost::core
