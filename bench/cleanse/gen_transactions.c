/* gen_transactions.c - deterministic generator of the dirty transactions
 * file for the cleanse benchmark: N rows (default 2,000,000) of
 *   txn_id,customer,email,amount,currency,created_at,channel,is_refund
 * with padding, null tokens (N/A, null, empty), mixed case, thousands
 * separators, two timestamp formats, ~1 % duplicate ids and ~2 % rows the
 * rules reject (bad amounts, negative amounts, impossible dates, bad ids).
 * Usage: gen_transactions [rows] > transactions.csv */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t st = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
    st ^= st << 13;
    st ^= st >> 7;
    st ^= st << 17;
    return (uint32_t)(st >> 16);
}
static uint32_t pick(uint32_t n) { return rnd() % n; }

static const char *first[] = {"alice", "bob", "carol", "dave", "eve", "frank", "grace", "heidi", "ivan", "judy",
                              "mallory", "oscar", "peggy", "trent", "victor", "walter"};
static const char *last[] = {"smith", "jones", "miller", "davis", "garcia", "wilson", "moore", "taylor",
                             "anderson", "thomas", "jackson", "white"};
static const char *cur[] = {"EUR", "eur", " usd", "USD ", "gbp", "Eur"};
static const char *chan[] = {"web", "WEB", " store", "App", "app ", "N/A", "", "null"};
static const char *refund[] = {"n", "N", "no", "false", "0", "y", "yes", "true", "1", "f"};

static void mixcase(char *s)
{
    for (; *s; s++)
        if (pick(5) == 0 && *s >= 'a' && *s <= 'z')
            *s = (char)(*s - 32);
}

int main(int argc, char **argv)
{
    long rows = argc > 1 ? atol(argv[1]) : 2000000;
    static char buf[1 << 16];
    setvbuf(stdout, buf, _IOFBF, sizeof buf);
    printf("txn_id,customer,email,amount,currency,created_at,channel,is_refund\n");
    long next_id = 1;
    for (long i = 0; i < rows; i++) {
        long id = next_id++;
        if (i > 100 && pick(100) == 0)                       /* ~1 % duplicate ids */
            id = next_id - 1 - (long)pick(100) - 1;
        uint32_t bad = pick(1000);                           /* < 20: reject (~2 %) */
        char name[64], email[96];
        const char *f = first[pick(16)], *l = last[pick(12)];
        snprintf(name, sizeof name, "%s%s %s%s", pick(4) == 0 ? "  " : "", f, l, pick(4) == 0 ? " " : "");
        mixcase(name);
        uint32_t e = pick(100);
        if (e < 2)
            snprintf(email, sizeof email, "N/A");
        else if (e < 3)
            email[0] = 0;
        else if (e < 4)
            snprintf(email, sizeof email, "null");
        else
            snprintf(email, sizeof email, "%s%s.%s%u@Example.COM%s", pick(8) == 0 ? " " : "", f, l, pick(1000),
                     pick(8) == 0 ? " " : "");
        char amount[48];
        long cents = (long)pick(500000);
        if (bad < 8)
            snprintf(amount, sizeof amount, "%s", pick(2) ? "12.3.4" : "abc");
        else if (bad < 12)
            snprintf(amount, sizeof amount, "-%ld.%02ld", cents / 100, cents % 100);
        else if (cents >= 100000 && pick(3) == 0)
            snprintf(amount, sizeof amount, "\"%ld,%03ld.%02ld\"", cents / 100000, (cents / 100) % 1000, cents % 100);
        else
            snprintf(amount, sizeof amount, "%s%ld.%02ld", pick(6) == 0 ? " " : "", cents / 100, cents % 100);
        char ts[48];
        int y = 2023 + (int)pick(2), mo = 1 + (int)pick(12), d = 1 + (int)pick(28), h = (int)pick(24),
            mi = (int)pick(60), s = (int)pick(60);
        if (bad >= 12 && bad < 17)
            mo = 2, d = 30;                                   /* impossible date */
        if (pick(2))
            snprintf(ts, sizeof ts, "%04d-%02d-%02d %02d:%02d:%02d", y, mo, d, h, mi, s);
        else
            snprintf(ts, sizeof ts, "%02d/%02d/%04d %02d:%02d", d, mo, y, h, mi);
        char idtxt[32];
        if (bad >= 17 && bad < 20)
            snprintf(idtxt, sizeof idtxt, "x%ld", id);
        else
            snprintf(idtxt, sizeof idtxt, "%s%ld", pick(10) == 0 ? " " : "", id);
        printf("%s,%s,%s,%s,%s,%s,%s,%s\n", idtxt, name, email, amount, cur[pick(6)], ts, chan[pick(8)],
               refund[pick(10)]);
    }
    return 0;
}
