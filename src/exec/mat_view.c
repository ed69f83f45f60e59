/* mat_view.c - the view executor (placeholder until the statements land). */
#include "exec.h"

int mat_view(NodeJob *job)
{
    job->status = NS_ERROR;
    diag_set(&job->err, job->node ? job->node->original_file_path : NULL, 0, 0, NULL,
             "view executor not implemented yet");
    return -1;
}
