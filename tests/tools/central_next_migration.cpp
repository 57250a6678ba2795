// Prints the SQL of the central schema's next migration as it would be generated if the station
// database gained a column (steps.failure_kind) and a table (notes): central_push_checks applies
// it to a real server, so the generated ALTER/CREATE/policy/grant statements are valid SQL.
#include "backends/postgres/tables.hpp"

#include <algorithm>
#include <cstdio>

int main() {
    using namespace harness::central;
    auto declarations = tables();
    const int next = schema_version() + 1;
    auto& steps = *std::find_if(declarations.begin(), declarations.end(),
                                [](const Table& t) { return t.name == "steps"; });
    steps.columns.push_back({"failure_kind", ColumnType::Text, "st.failure_kind", next});
    declarations.push_back({"notes",
                            "notes n WHERE n.run_id = ?1",
                            {{"local_id", ColumnType::BigInt, "n.id", next},
                             {"text", ColumnType::Text, "n.text", next}},
                            1,
                            {},
                            next});
    for (const auto& statement : migration(declarations, next))
        std::printf("%s;\n", statement.c_str());
    return 0;
}
