/* validate.c - finds the YAML of a cleanse model (its properties file is
 * re-read so rule errors carry file:line:col of the properties file) and
 * compiles its spec: at load time for every enabled cleanse model (so bad
 * rules stop a command before anything runs), and again per run in
 * mat_cleanse.  The project loader keeps columns without rules or marks,
 * which is why the file is read again here. */
#include "cpriv.h"

#include <stdlib.h>
#include <string.h>

#include "../base/fs.h"
#include "../project/project.h"

static bool is_cleanse(Node *n)
{
    if (n->rt != RT_MODEL || n->disabled || !n->config)
        return false;
    Value *m = dict_getz(n->config, "materialized");
    return m && m->type == V_STR && strcmp(m->u.s->s, "cleanse") == 0;
}

/* The model's entry in its properties file, or NULL. */
static const YNode *find_entry(const YNode *root, const char *name)
{
    const YNode *models = ynode_get(root, "models");
    if (!models || models->kind != YN_SEQ)
        return NULL;
    for (size_t i = 0; i < models->n; i++) {
        const char *nm = ynode_str(ynode_get(models->items[i], "name"));
        if (nm && strcmp(nm, name) == 0)
            return models->items[i];
    }
    return NULL;
}

CleanseSpec *cleanse_spec_for_node(Arena *a, Node *n, const char *project_root, Diag *err)
{
    CleanseSource src = {0};
    src.model = n->name;
    src.config = n->config;
    src.config_where = n->original_file_path;
    if (n->patch_path) {
        const char *rel = strstr(n->patch_path, "://");
        rel = rel ? rel + 3 : n->patch_path;
        Sb path = SB_INIT;
        path_join(&path, project_root, rel);
        char *text = NULL;
        size_t len = 0;
        if (fs_read_file(sb_cstr(&path), &text, &len) != 0) {
            diag_set(err, rel, 0, 0, NULL, "cannot read properties file of cleanse model '%s'", n->name);
            sb_free(&path);
            return NULL;
        }
        sb_free(&path);
        char *kept = arena_strndup(a, text, len);
        free(text);
        YNode *root = NULL;
        if (yaml_load(a, rel, kept, len, &root, err) != 0)
            return NULL;
        const YNode *entry = root ? find_entry(root, n->name) : NULL;
        src.columns = entry ? ynode_get(entry, "columns") : NULL;
        src.yml_path = rel;
        src.yml_text = kept;
        src.yml_len = len;
    }
    return cleanse_compile(a, &src, err);
}

int cleanse_validate_project(Project *p, Diag *err)
{
    for (int i = 0; i < p->nnodes; i++) {
        Node *n = p->nodes[i];
        if (!is_cleanse(n))
            continue;
        Arena a;
        arena_init(&a, 0);
        CleanseSpec *s = cleanse_spec_for_node(&a, n, p->root, err);
        cleanse_spec_free(s);
        arena_free(&a);
        if (!s)
            return -1;
    }
    return 0;
}
