/* mat_test.c - the test executor (placeholder until the statements land). */
#include "exec.h"

int mat_test(NodeJob *job)
{
    job->status = NS_ERROR;
    diag_set(&job->err, job->node ? job->node->original_file_path : NULL, 0, 0, NULL,
             "test executor not implemented yet");
    return -1;
}
