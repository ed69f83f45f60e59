/* exec_stub.c - placeholder so the library has a member until the executor lands. */
int cdbt_exec_placeholder(void);
int cdbt_exec_placeholder(void) { return 0; }
