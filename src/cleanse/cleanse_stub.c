/* cleanse_stub.c - placeholder so the library has a member until the cleanse engine lands. */
int cdbt_cleanse_placeholder(void);
int cdbt_cleanse_placeholder(void) { return 0; }
