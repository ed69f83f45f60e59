/* cmd_ls.c - `cdbt ls` / `cdbt list`: print the selected resources, sorted
 * by unique_id like dbt.  --output selector (default: fqn joined with '.',
 * sources as source:<pkg>.<src>.<tbl>, exposures exposure:<pkg>.<name>), name, path (original_file_path) or
 * json (one object per line; --output-keys picks keys).  No database. */
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "console.h"
#include "../base/json.h"

static int cmp_uid(const void *a, const void *b)
{
    const Node *x = *(Node *const *)a, *y = *(Node *const *)b;
    return strcmp(x->unique_id, y->unique_id);
}

static bool want_key(const Flags *f, const char *k)
{
    if (!f->noutput_keys)
        return true;
    for (int i = 0; i < f->noutput_keys; i++) {
        /* values may be comma/space separated */
        const char *p = f->output_keys[i];
        size_t kl = strlen(k);
        for (const char *q = p; (q = strstr(q, k)) != NULL; q += kl)
            if ((q == p || q[-1] == ',' || q[-1] == ' ') && (q[kl] == '\0' || q[kl] == ',' || q[kl] == ' '))
                return true;
    }
    return false;
}

static void str_array(JsonW *w, const char **v, int n)
{
    json_arr_begin(w);
    for (int i = 0; i < n; i++)
        json_str(w, v[i]);
    json_arr_end(w);
}

/* An exposure's keys among dbt's default ls keys, in its field order. */
static void expo_json(const Flags *f, Node *n, JsonW *w)
{
    if (want_key(f, "name")) { json_key(w, "name"); json_str(w, n->name); }
    if (want_key(f, "resource_type")) { json_key(w, "resource_type"); json_str(w, rt_name(n->rt)); }
    if (want_key(f, "package_name")) { json_key(w, "package_name"); json_str(w, n->package_name); }
    if (want_key(f, "original_file_path")) { json_key(w, "original_file_path"); json_str(w, n->original_file_path); }
    if (want_key(f, "unique_id")) { json_key(w, "unique_id"); json_str(w, n->unique_id); }
    if (want_key(f, "tags")) {
        json_key(w, "tags");
        value_to_json(w, (Value){.type = V_LIST, .u.l = n->tags});
    }
    if (want_key(f, "config")) {
        json_key(w, "config");
        value_to_json(w, (Value){.type = V_DICT, .u.d = n->config});
    }
    if (want_key(f, "depends_on")) {
        json_key(w, "depends_on");
        json_obj_begin(w);
        json_key(w, "macros");
        str_array(w, NULL, 0);
        json_key(w, "nodes");
        str_array(w, n->dep_nodes, n->ndep_nodes);
        json_obj_end(w);
    }
}

static void print_json(const Flags *f, Node *n, Sb *listing)
{
    Sb out = SB_INIT;
    JsonW w;
    json_init_spaced(&w, &out);
    json_obj_begin(&w);
    if (n->rt == RT_EXPOSURE) {
        expo_json(f, n, &w);
        goto end;
    }
    if (want_key(f, "name")) { json_key(&w, "name"); json_str(&w, n->name); }
    if (want_key(f, "resource_type")) { json_key(&w, "resource_type"); json_str(&w, rt_name(n->rt)); }
    if (want_key(f, "package_name")) { json_key(&w, "package_name"); json_str(&w, n->package_name); }
    if (want_key(f, "original_file_path")) { json_key(&w, "original_file_path"); json_str(&w, n->original_file_path); }
    if (want_key(f, "unique_id")) { json_key(&w, "unique_id"); json_str(&w, n->unique_id); }
    if (n->rt != RT_SOURCE && want_key(f, "alias")) { json_key(&w, "alias"); json_str(&w, n->alias); }
    if (want_key(f, "config")) {
        json_key(&w, "config");
        Value v = {.type = V_DICT};
        v.u.d = n->config;
        if (n->config) value_to_json(&w, v); else { json_obj_begin(&w); json_obj_end(&w); }
    }
    if (want_key(f, "tags")) {
        json_key(&w, "tags");
        Value v = {.type = V_LIST};
        v.u.l = n->tags;
        if (n->tags) value_to_json(&w, v); else { json_arr_begin(&w); json_arr_end(&w); }
    }
    if (n->rt != RT_SOURCE && want_key(f, "depends_on")) {
        json_key(&w, "depends_on");
        json_obj_begin(&w);
        json_key(&w, "macros");
        str_array(&w, n->dep_macros, n->ndep_macros);
        json_key(&w, "nodes");
        str_array(&w, n->dep_nodes, n->ndep_nodes);
        json_obj_end(&w);
    }
    if (n->rt == RT_SOURCE && want_key(f, "source_name")) { json_key(&w, "source_name"); json_str(&w, n->source_name); }
end:
    json_obj_end(&w);
    sb_append(listing, out.buf, out.len);
    sb_putc(listing, '\n');
    sb_free(&out);
}

int cmd_ls(Flags *f)
{
    const char *fmt = f->output ? f->output : "selector";
    if (strcmp(fmt, "selector") && strcmp(fmt, "name") && strcmp(fmt, "path") && strcmp(fmt, "json")) {
        fprintf(stderr, "error: Invalid value for '--output': '%s' is not one of 'json', 'name', 'path', 'selector'\n", fmt);
        return EXIT_PROJECT_ERROR;
    }
    Session s;
    console_line(f, "Running with cdbt=%s", CDBT_VERSION);
    int rc = fastpath_try(f);
    if (rc >= 0)
        return rc;
    fastpath_begin(f);
    rc = session_open(&s, f, true);
    if (rc != EXIT_OK) {
        session_close(&s);
        return rc;
    }
    console_found(f, s.project);
    Project *p = s.project;
    bool *sel = arena_zalloc(&s.arena, sizeof(bool) * (size_t)(p->nnodes + 1));
    rc = session_select(&s, NULL, sel);
    if (rc == EXIT_OK) {
        Node **list = arena_alloc(&s.arena, sizeof(Node *) * (size_t)(p->nnodes + 1));
        int n = 0;
        for (int i = 0; i < p->nnodes; i++)
            if (sel[i])
                list[n++] = p->nodes[i];
        qsort(list, (size_t)n, sizeof(Node *), cmp_uid);
        if (n == 0 && !f->quiet)
            console_line(f, "No nodes selected!");
        Sb out = SB_INIT;
        for (int i = 0; i < n; i++) {
            Node *nd = list[i];
            if (!strcmp(fmt, "name")) {
                if (nd->rt == RT_SOURCE)
                    sb_printf(&out, "%s.%s", nd->source_name, nd->name);
                else if (nd->version)
                    sb_printf(&out, "%s.v%s", nd->name, nd->version->vtext);   /* dbt's search_name */
                else
                    sb_puts(&out, nd->name);
            } else if (!strcmp(fmt, "path")) {
                sb_puts(&out, nd->original_file_path);
            } else if (!strcmp(fmt, "json")) {
                print_json(f, nd, &out);
                continue;
            } else if (nd->rt == RT_UNIT_TEST) {
                sb_printf(&out, "unit_test:%s.%s", nd->package_name, nd->name);   /* dbt: package + name */
            } else if (nd->rt == RT_EXPOSURE) {
                sb_printf(&out, "exposure:%s.%s", nd->package_name, nd->name);    /* dbt: package + name */
            } else {
                if (nd->rt == RT_SOURCE)
                    sb_puts(&out, "source:");
                for (int k = 0; k < nd->nfqn; k++) {
                    if (k)
                        sb_putc(&out, '.');
                    sb_puts(&out, nd->fqn[k]);
                }
            }
            sb_putc(&out, '\n');
        }
        fwrite(out.buf ? out.buf : "", 1, out.len, stdout);
        rc = session_write_manifest(&s);
        /* the project snapshot (fastpath.c) keeps the listing to print it again */
        if (rc == EXIT_OK && n > 0 && !session_warned()) {
            char found[512];
            console_found_text(p, found, sizeof found);
            Sb info = SB_INIT;
            sb_printf(&info, "%s\n%d\n%d\n0\n", found, n, n);
            sb_append(&info, out.buf ? out.buf : "", out.len);
            const char *manifest = arena_sprintf(&s.arena, "%s/manifest.json", session_target_dir(&s));
            fastpath_store(&s, NULL, &manifest, NULL, NULL, 1, 1, sb_cstr(&info), NULL, NULL, NULL, NULL);
            sb_free(&info);
        }
        sb_free(&out);
    }
    session_close(&s);
    return rc;
}
