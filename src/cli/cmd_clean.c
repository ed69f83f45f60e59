/* cmd_clean.c - `cdbt clean`: delete every clean-targets path (§12.1).
 * Refuses to delete model/seed/macro/test paths, the project root itself,
 * and (unless --no-clean-project-files-only) anything outside the project. */
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "console.h"
#include "../base/fs.h"

static bool is_protected(Project *p, const char *rel)
{
    const char **lists[] = {p->model_paths, p->seed_paths, p->macro_paths, p->test_paths,
                            p->snapshot_paths, p->analysis_paths};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        for (const char **q = lists[i]; q && *q; q++)
            if (!strcmp(*q, rel))
                return true;
    return !strcmp(rel, ".") || !strcmp(rel, "") || !strcmp(rel, "/");
}

int cmd_clean(Flags *f)
{
    Diag err = {0};
    ProjectOptions popt = {0};
    popt.project_dir = f->project_dir;
    popt.profiles_dir = f->profiles_dir;
    popt.profile = f->profile;
    popt.target = f->target;
    popt.target_path = f->target_path;
    popt.need_profile = false;
    Dbt *d = dbt_new(&(DbtOptions){.which = "clean"});
    Project *p = project_load(&popt, dbt_renderer(d), &err);
    if (!p) {
        cli_print_diag(&err);
        diag_clear(&err);
        dbt_free(d);
        return EXIT_PROJECT_ERROR;
    }
    int rc = EXIT_OK;
    for (const char **t = p->clean_targets; t && *t; t++) {
        Sb path = SB_INIT;
        if ((*t)[0] == '/')
            sb_puts(&path, *t);
        else
            path_join(&path, p->root, *t);
        char *norm = path_normalize(sb_cstr(&path));
        size_t rl = strlen(p->root);
        bool inside = !strncmp(norm, p->root, rl) && (norm[rl] == '/' || norm[rl] == '\0');
        if (is_protected(p, *t) || (inside && norm[rl] == '\0')) {
            fprintf(stderr, "error: clean-targets entry '%s' is a project source path; refusing to delete it\n", *t);
            rc = EXIT_PROJECT_ERROR;
        } else if (!inside && f->clean_project_files_only) {
            fprintf(stderr, "error: clean-targets entry '%s' is outside the project; use --no-clean-project-files-only to delete it\n", *t);
            rc = EXIT_PROJECT_ERROR;
        } else if (fs_exists(norm)) {
            if (fs_rm_rf(norm) != 0) {
                fprintf(stderr, "error: could not delete %s\n", norm);
                rc = EXIT_PROJECT_ERROR;
            } else {
                console_line(f, "Cleaned %s/*", *t);
            }
        }
        free(norm);
        sb_free(&path);
    }
    if (rc == EXIT_OK)
        console_line(f, "Finished cleaning all paths.");
    project_free(p);
    dbt_free(d);
    return rc;
}
