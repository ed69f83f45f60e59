/* runner.c - Check runner shared by every unit suite executable.
 * Each executable is built from this file plus one tests/unit/test_*.c that
 * defines CDBT_SUITE_FN(); exit status is non-zero when any test fails. */
#include <check.h>
#include <stdlib.h>

Suite *CDBT_SUITE_FN(void);

int main(void)
{
    SRunner *sr = srunner_create(CDBT_SUITE_FN());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
