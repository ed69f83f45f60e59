/* cmd_docs.c - `cdbt docs generate [--no-compile] [--empty-catalog]` (§12.1,
 * §13): compile the project as `cdbt compile` does (unless --no-compile),
 * write target/manifest.json, and read the database catalog into
 * target/catalog.json (schema catalog/v1) the way dbt-postgres 1.9 does:
 * one query over pg_catalog for every schema the project's models, seeds,
 * snapshots and sources live in (the target's database only), giving each
 * relation's type (BASE TABLE, VIEW, MATERIALIZED VIEW), comment, owner,
 * and its columns in attnum order with format_type() types and comments.
 * Relations are matched to nodes and sources by (database, schema,
 * identifier), case-insensitively; anything else in those schemas is left
 * out.  Stats: only dbt's `has_stats` item (false), as for postgres.
 *
 * dbt also writes index.html, the dbt-docs single-page site; cdbt does not
 * ship it, and `docs serve` is an error.  Exit 0; 1 when compiling failed
 * or the catalog has errors; 2 for project errors or no connection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "cli.h"
#include "console.h"
#include "results.h"
#include "../base/clock.h"
#include "../base/fs.h"
#include "../base/json.h"
#include "../base/vec.h"
#include "../exec/pg.h"

typedef struct CatTable {
    const char *key;             /* "db\x1fschema\x1fname", lowercased */
    const char *database, *schema, *name, *type, *comment, *owner;
    int first_row, nrows;        /* its columns: rows [first_row, first_row + nrows) */
} CatTable;

static char *lower(Arena *a, const char *s)
{
    char *r = arena_strdup(a, s ? s : "");
    for (char *p = r; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
    return r;
}

static const char *rel_key(Arena *a, const char *db, const char *schema, const char *name)
{
    return arena_sprintf(a, "%s\x1f%s\x1f%s", lower(a, db), lower(a, schema), lower(a, name));
}

static bool catalogable(const Node *n)
{
    if (n->rt == RT_SOURCE)
        return true;
    if (n->rt != RT_MODEL && n->rt != RT_SEED && n->rt != RT_SNAPSHOT)
        return false;
    Value *m = n->config ? dict_getz(n->config, "materialized") : NULL;
    return !(n->rt == RT_MODEL && m && m->type == V_STR && !strcmp(m->u.s->s, "ephemeral"));
}

static void sql_lit(Sb *sql, const char *s)
{
    sb_putc(sql, '\'');
    for (; *s; s++) {
        if (*s == '\'')
            sb_putc(sql, '\'');
        sb_putc(sql, *s);
    }
    sb_putc(sql, '\'');
}

/* dbt-postgres's postgres__get_catalog_relations for whole schemas. */
static char *catalog_sql(const char *database, const char *const *schemas, int n)
{
    Sb s = SB_INIT;
    sb_puts(&s, "select\n    ");
    sql_lit(&s, database);
    sb_puts(&s, " as table_database,\n"
                "    sch.nspname as table_schema,\n"
                "    tbl.relname as table_name,\n"
                "    case tbl.relkind\n"
                "        when 'v' then 'VIEW'\n"
                "        when 'm' then 'MATERIALIZED VIEW'\n"
                "        else 'BASE TABLE'\n"
                "    end as table_type,\n"
                "    tbl_desc.description as table_comment,\n"
                "    col.attname as column_name,\n"
                "    col.attnum as column_index,\n"
                "    pg_catalog.format_type(col.atttypid, col.atttypmod) as column_type,\n"
                "    col_desc.description as column_comment,\n"
                "    pg_get_userbyid(tbl.relowner) as table_owner\n"
                "from pg_catalog.pg_namespace sch\n"
                "join pg_catalog.pg_class tbl on tbl.relnamespace = sch.oid\n"
                "join pg_catalog.pg_attribute col on col.attrelid = tbl.oid\n"
                "left outer join pg_catalog.pg_description tbl_desc on (tbl_desc.objoid = tbl.oid and tbl_desc.objsubid = 0)\n"
                "left outer join pg_catalog.pg_description col_desc on (col_desc.objoid = tbl.oid and col_desc.objsubid = col.attnum)\n"
                "where (");
    for (int i = 0; i < n; i++) {
        if (i)
            sb_puts(&s, " or ");
        sb_puts(&s, "upper(sch.nspname) = upper(");
        sql_lit(&s, schemas[i]);
        sb_putc(&s, ')');
    }
    sb_puts(&s, ")\n"
                "  and not pg_is_other_temp_schema(sch.oid)\n"
                "  and tbl.relpersistence in ('p', 'u')\n"
                "  and tbl.relkind in ('r', 'v', 'f', 'p', 'm')\n"
                "  and col.attnum > 0\n"
                "  and not col.attisdropped\n"
                "order by sch.nspname, tbl.relname, col.attnum");
    return sb_detach(&s);
}

static void table_json(JsonW *w, const CatTable *t, const PgResult *r, const char *uid)
{
    json_obj_begin(w);
    json_key(w, "metadata");
    json_obj_begin(w);
    json_key(w, "type");
    json_str(w, t->type);
    json_key(w, "schema");
    json_str(w, t->schema);
    json_key(w, "name");
    json_str(w, t->name);
    json_key(w, "database");
    json_str(w, t->database);
    json_key(w, "comment");
    json_str(w, t->comment);
    json_key(w, "owner");
    json_str(w, t->owner);
    json_obj_end(w);
    json_key(w, "columns");
    json_obj_begin(w);
    for (int i = t->first_row; i < t->first_row + t->nrows; i++) {
        const char *const *row = r->rows[i];
        json_key(w, row[5]);
        json_obj_begin(w);
        json_key(w, "type");
        json_str(w, row[7]);
        json_key(w, "index");
        json_int(w, row[6] ? strtoll(row[6], NULL, 10) : 0);
        json_key(w, "name");
        json_str(w, row[5]);
        json_key(w, "comment");
        json_str(w, row[8]);
        json_obj_end(w);
    }
    json_obj_end(w);
    json_key(w, "stats");
    json_obj_begin(w);
    json_key(w, "has_stats");
    json_obj_begin(w);
    json_key(w, "id");
    json_str(w, "has_stats");
    json_key(w, "label");
    json_str(w, "Has Stats?");
    json_key(w, "value");
    json_bool(w, false);
    json_key(w, "include");
    json_bool(w, false);
    json_key(w, "description");
    json_str(w, "Indicates whether there are statistics for this table");
    json_obj_end(w);
    json_obj_end(w);
    json_key(w, "unique_id");
    json_str(w, uid);
    json_obj_end(w);
}

static int docs_generate(Flags *f)
{
    console_line(f, "Running with cdbt=%s", CDBT_VERSION);
    if (!f->no_compile) {
        Flags g = *f;
        g.command = "compile";
        g.quiet = true;                /* its own "Running with" and summary lines are not dbt's here */
        int rc = cmd_compile(&g);
        if (rc != EXIT_OK) {
            if (rc == EXIT_NODE_FAILURE)
                console_line(f, "compile failed, cannot generate docs");
            return rc;
        }
    }
    Session s;
    int rc = session_open(&s, f, true);
    if (rc != EXIT_OK) {
        session_close(&s);
        return rc;
    }
    Project *p = s.project;
    console_found(f, p);
    if (f->no_compile && (rc = session_write_manifest(&s)) != EXIT_OK) {
        session_close(&s);
        return rc;
    }
    Diag err = {0};
    Value *tdb = p->target ? dict_getz(p->target, "database") : NULL;
    const char *target_db = tdb && tdb->type == V_STR ? tdb->u.s->s : "";
    /* the schemas of the catalogable nodes in the target's database; other databases are errors */
    VEC(const char *) schemas = {0};
    VEC(const char *) errors = {0};
    StrMap seen;
    strmap_init(&seen);
    const char *database = NULL;
    for (int i = 0; i < p->nnodes; i++) {
        Node *n = p->nodes[i];
        if (!catalogable(n) || !n->schema)
            continue;
        const char *db = n->database ? n->database : target_db;
        if (strcasecmp(db, target_db) != 0) {
            const char *e = arena_sprintf(&s.arena, "Cross-db references not allowed in adapter postgres: Got %s, "
                                                    "expected %s", db, target_db);
            if (!strmap_getz(&seen, e)) {
                strmap_putz(&seen, e, (void *)e);
                vec_push(&errors, e);
            }
            continue;
        }
        if (!database)
            database = db;
        const char *k = lower(&s.arena, n->schema);
        if (!strmap_getz(&seen, k)) {
            strmap_putz(&seen, k, (void *)k);
            vec_push(&schemas, n->schema);
        }
    }
    strmap_free(&seen);
    console_line(f, "Building catalog");
    PgResult *r = NULL;
    CatTable *tables = NULL;
    int ntables = 0;
    if (!f->empty_catalog && schemas.len) {
        PgParams params;
        PgConn *c = session_pg_params(&s, &params, &err) == 0 ? pg_connect(&params, &err) : NULL;
        if (!c) {
            cli_print_diag(&err);
            diag_clear(&err);
            vec_free(&schemas);
            vec_free(&errors);
            session_close(&s);
            return EXIT_PROJECT_ERROR;
        }
        char *sql = catalog_sql(database, schemas.items, (int)schemas.len);
        if (pg_exec(c, sql, &r, NULL, 0, &err) != 0 || !r || r->ncols != 10) {
            vec_push(&errors, arena_strdup(&s.arena, err.message ? err.message : "the catalog query failed"));
            diag_clear(&err);
            if (r)
                pg_result_free(r);
            r = NULL;
        }
        free(sql);
        pg_close(c);
    }
    if (r) {
        tables = arena_zalloc(&s.arena, sizeof *tables * (size_t)(r->nrows + 1));
        for (int i = 0; i < r->nrows; i++) {
            const char *const *row = r->rows[i];
            const char *k = rel_key(&s.arena, row[0], row[1], row[2]);
            if (ntables && !strcmp(tables[ntables - 1].key, k)) {
                tables[ntables - 1].nrows++;
                continue;
            }
            CatTable *t = &tables[ntables++];
            t->key = k;
            t->database = row[0];
            t->schema = row[1];
            t->name = row[2];
            t->type = row[3];
            t->comment = row[4];
            t->owner = row[9];
            t->first_row = i;
            t->nrows = 1;
        }
    }
    /* the nodes and sources each relation stands for */
    StrMap node_map;
    strmap_init(&node_map);
    for (int i = 0; i < p->nnodes; i++) {
        Node *n = p->nodes[i];
        if (n->rt == RT_SOURCE || !n->schema)
            continue;
        const char *id = n->alias ? n->alias : n->name;
        strmap_putz(&node_map, rel_key(&s.arena, n->database ? n->database : target_db, n->schema, id), n);
    }
    Sb out = SB_INIT;
    JsonW w;
    json_init(&w, &out, false);
    json_obj_begin(&w);
    results_metadata(&w, "https://schemas.getdbt.com/dbt/catalog/v1.json", dbt_invocation_id(s.dbt));
    json_key(&w, "nodes");
    json_obj_begin(&w);
    for (int i = 0; i < ntables; i++) {
        Node *n = strmap_getz(&node_map, tables[i].key);
        if (!n)
            continue;
        json_key(&w, n->unique_id);
        table_json(&w, &tables[i], r, n->unique_id);
    }
    json_obj_end(&w);
    json_key(&w, "sources");
    json_obj_begin(&w);
    for (int i = 0; i < ntables; i++)
        for (int k = 0; k < p->nnodes; k++) {
            Node *n = p->nodes[k];
            if (n->rt != RT_SOURCE || !n->schema)
                continue;
            const char *id = n->identifier ? n->identifier : n->name;
            if (strcmp(rel_key(&s.arena, n->database ? n->database : target_db, n->schema, id), tables[i].key) != 0)
                continue;
            json_key(&w, n->unique_id);
            table_json(&w, &tables[i], r, n->unique_id);
        }
    json_obj_end(&w);
    json_key(&w, "errors");
    if (errors.len) {
        json_arr_begin(&w);
        for (size_t i = 0; i < errors.len; i++)
            json_str(&w, errors.items[i]);
        json_arr_end(&w);
    } else {
        json_null(&w);
    }
    json_obj_end(&w);
    strmap_free(&node_map);
    if (r)
        pg_result_free(r);
    const char *path = arena_sprintf(&s.arena, "%s/catalog.json", session_target_dir(&s));
    rc = EXIT_OK;
    if (fs_write_file(path, sb_cstr(&out), out.len) != 0) {
        fprintf(stderr, "error: cannot write %s\n", path);
        rc = EXIT_PROJECT_ERROR;
    } else {
        if (errors.len) {
            console_line(f, "cdbt encountered %zu failure%s while writing the catalog", errors.len,
                         errors.len == 1 ? "" : "s");
            for (size_t i = 0; i < errors.len; i++)
                fprintf(stderr, "error: %s\n", errors.items[i]);
            rc = EXIT_NODE_FAILURE;
        }
        console_line(f, "Catalog written to %s", path);
    }
    sb_free(&out);
    vec_free(&schemas);
    vec_free(&errors);
    session_close(&s);
    return rc;
}

int cmd_docs(Flags *f)
{
    if (f->subcommand && !strcmp(f->subcommand, "generate"))
        return docs_generate(f);
    if (f->subcommand && !strcmp(f->subcommand, "serve")) {
        fprintf(stderr, "error: cdbt docs serve is not supported: cdbt does not ship the dbt-docs site (index.html). "
                        "`cdbt docs generate` writes target/manifest.json and target/catalog.json, which dbt-docs "
                        "or any other viewer can read\n");
        return EXIT_PROJECT_ERROR;
    }
    if (f->subcommand)
        fprintf(stderr, "error: No such command 'docs %s'.\n", f->subcommand);
    else
        fprintf(stderr, "error: Missing command.\n");
    fprintf(stderr, "Usage: cdbt docs generate [OPTIONS]\n");
    return EXIT_PROJECT_ERROR;
}
