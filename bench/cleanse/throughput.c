/* throughput.c - the cleanse transform's own speed: reads a model's spec
 * from a properties file (columns + config, no Jinja), cleanses a CSV file
 * and writes the COPY text to /dev/null.  Prints rows and MB/s.
 * Usage: throughput <properties.yml> <model> <file.csv> */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/fs.h"
#include "cleanse/cleanse.h"

static int sink(void *ud, const CleanseReject *r)
{
    (void)r;
    ++*(long *)ud;
    return 0;
}

static int emit(void *ud, Sb *out)
{
    int fd = *(int *)ud;
    if (write(fd, out->buf, out->len) != (ssize_t)out->len)
        return -1;
    sb_reset(out);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: throughput <properties.yml> <model> <file.csv>\n");
        return 2;
    }
    Arena a;
    arena_init(&a, 0);
    char *text;
    size_t len;
    if (fs_read_file(argv[1], &text, &len) != 0) {
        perror(argv[1]);
        return 1;
    }
    YNode *root;
    Diag e = {0};
    if (yaml_load(&a, argv[1], text, len, &root, &e) != 0) {
        fprintf(stderr, "%s\n", e.message);
        return 1;
    }
    const YNode *models = ynode_get(root, "models"), *entry = NULL;
    for (size_t i = 0; models && i < models->n; i++)
        if (strcmp(ynode_str(ynode_get(models->items[i], "name")), argv[2]) == 0)
            entry = models->items[i];
    if (!entry) {
        fprintf(stderr, "model %s not found\n", argv[2]);
        return 1;
    }
    CleanseSource src = {0};
    src.model = argv[2];
    src.columns = ynode_get(entry, "columns");
    src.yml_path = argv[1];
    src.yml_text = text;
    src.yml_len = len;
    Value cfg = ynode_to_value(&a, ynode_get(entry, "config"));
    Value *in = dict_getz(cfg.u.d, "input");
    if (in && in->type == V_DICT)   /* the file comes from the command line */
        dict_setz(&a, in->u.d, "path", v_strz(&a, argv[3]));
    src.config = cfg.u.d;
    CleanseSpec *s = cleanse_compile(&a, &src, &e);
    if (!s) {
        fprintf(stderr, "%s\n", e.message);
        return 1;
    }
    long rejects = 0;
    int fd = open("/dev/null", O_WRONLY);
    Sb out = SB_INIT;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    Cleanser *c = cleanser_new(s, sink, &rejects);
    CleanseReader *r = cleanse_reader_new(c, &out, 256 * 1024, emit, &fd);
    if (cleanse_read_file(r, argv[3], argv[3], &e) != 0 || cleanser_finish(c, &out, 256 * 1024, emit, &fd) != 0 ||
        emit(&fd, &out) != 0) {
        fprintf(stderr, "%s\n", e.message ? e.message : "failed");
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    const CleanseStats *st = cleanser_stats(c);
    FILE *f = fopen(argv[3], "rb");
    fseek(f, 0, SEEK_END);
    double mb = (double)ftell(f) / 1e6;
    fclose(f);
    printf("transform: %lld rows in, %lld out, %lld rejected, %lld duplicates; %.2f s, %.0f MB/s, %.2f M rows/s\n",
           (long long)st->in, (long long)st->out, (long long)st->rejected, (long long)st->dups, secs, mb / secs,
           (double)st->in / secs / 1e6);
    cleanse_reader_free(r);
    cleanser_free(c);
    cleanse_spec_free(s);
    sb_free(&out);
    close(fd);
    free(text);
    arena_free(&a);
    return 0;
}
